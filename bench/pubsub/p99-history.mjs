#!/usr/bin/env node
// # The light-load p99 target across full runs (reads results, runs nothing)
//
//   node bench/pubsub/p99-history.mjs [--last 8] [FILE.json ...]
//
// Issue 13 item 4 asks for xswarm's light-load p99 at most half of js-libp2p's in every cell. One
// run's p99 rests on ~14 slow deliveries (n = 10), so one run cannot tell a cell that sits near
// the line from one that is far from it. This reads every committed version of
// bench/results/pubsub.json (git history, newest first; --last N of them) and any result files
// given, and prints per cell the ratio xswarm / js-libp2p of the two systems' p99 (each the median
// of the run's repetitions, as the README table) in every run, and in how many runs it was <= 0.5;
// with the medians over the runs of the same ratio for the p50 and for the tail's excess, p99 - p50.
// Only runs whose light phase had as many samples per cell as the first run's are compared (the
// phase was 5 s long before it became 15 s; older files lack systems or shapes).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { median } from './harness.mjs'

const argv = process.argv.slice(2)
const lastAt = argv.indexOf('--last')
const last = lastAt >= 0 ? Number(argv[lastAt + 1]) : Infinity
const files = argv.filter((a, i) => a.endsWith('.json') && (lastAt < 0 || i !== lastAt + 1))
const path = 'bench/results/pubsub.json'
const root = fileURLToPath(new URL('../..', import.meta.url)) // the history is the repository's, wherever this runs from
const git = (...a) => execFileSync('git', ['-C', root, ...a], { maxBuffer: 1 << 28 }).toString()

const runs = files.map(f => ({ label: f, results: JSON.parse(readFileSync(f, 'utf8')).results }))
const commits = git('log', '--format=%h', '--', path).trim().split('\n').filter(Boolean)
for (const c of commits) runs.push({ label: c, results: JSON.parse(git('show', `${c}:${path}`)).results })
const samplesOf = results => results.find(r => r.system === 'xswarm' && r.n === 10 && r.latency)?.latency.samples
const compared = runs.filter(r => samplesOf(r.results) === samplesOf(runs[0].results)).slice(0, last)

// a cell a run lacks is NaN: never counted as met
const latency = (results, system, n, size, publishers, key) => median(results
  .filter(r => r.system === system && r.n === n && r.size === size && String(r.publishers) === publishers)
  .map(r => r.latency[key])) ?? NaN

console.log(`runs, newest first: ${compared.map(r => r.label).join(' ')} (${runs.length - compared.length} left out)`)
for (const n of [10, 30]) {
  for (const size of [128, 4096, 65536]) {
    for (const publishers of ['1', 'all']) {
      const of = (results, key) => ['xswarm', 'libp2p'].map(sys => latency(results, sys, n, size, publishers, key))
      // per run, xswarm / js-libp2p of the p99, of the p50, and of the tail's excess p99 - p50
      // (p99 = p50 + excess: which of the two keeps the ratio above one half)
      const perRun = compared.map(({ results }) => {
        const [p99x, p99l] = of(results, 'p99ms'), [p50x, p50l] = of(results, 'p50ms')
        return { p99: p99x / p99l, p50: p50x / p50l, excess: (p99x - p50x) / (p99l - p50l) }
      })
      const ratios = perRun.map(r => r.p99), p50s = perRun.map(r => r.p50), excess = perRun.map(r => r.excess)
      const met = ratios.filter(r => r <= 0.5).length
      const cell = `n=${n} ${String(size).padStart(5)} B ${publishers.padEnd(3)}`
      const med = xs => median(xs).toFixed(2)
      console.log(`${cell}  met ${met}/${ratios.length}  median ${med(ratios)} (p50 ${med(p50s)}, p99 - p50 ${med(excess)})  ratios ${ratios.map(r => r.toFixed(2)).join(' ')}`)
    }
  }
}
