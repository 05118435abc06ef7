#!/usr/bin/env node
// # Connection setups per second, xswarm and js-libp2p side by side (issue 13, item 5)
//
//   npm run build                      # repository root: the xswarm build measured (dist/)
//   cd bench/pubsub && npm install     # once: js-libp2p 2.10 (versions: package.json)
//   npm run setup                      # = node --expose-gc setup.mjs → ../results/setup.json
//   node --expose-gc setup.mjs --quick # a smoke run (≈ 1 min), written to setup.quick.tmp
//        [--systems xswarm,libp2p,xswarm-discovery,libp2p-identify,raw-ws,noise] [--in-flight 1,16,64]
//        [--count 256] [--warm-up 32]
//        [--repeat 3] [--out FILE]
//   XSWARM_DIST=/other/checkout/dist node --expose-gc setup.mjs --systems xswarm-dist,xswarm,libp2p
//                                      # an A/B of two xswarm builds in the same run
//
// A setup is: a fresh dialer node dials one listener node over ws on 127.0.0.1, the secure
// channel is negotiated (xswarm: Noise XX with its identity binding; js-libp2p: multistream-select,
// Noise XX with its identity payload, multistream-select, yamux), and BOTH ends have reported the
// connection (xswarm: `peer.connected` taken from each swarm's event stream; js-libp2p: `dial()`
// resolved on the dialer and `connection:open` on the listener). Both ends live in one process,
// so every figure pays for both ends of every connection.
//
// With what each runtime runs on every connection by default: xswarm-discovery (discovery on,
// default options: its hello exchange with every connection, and, since every dialer here is a
// fresh node, each one's join lookup) against libp2p-identify (+ identify, which js-libp2p runs
// on every connection). A setup still ends when both ends have reported the connection; the
// hello and identify exchanges run in the window alongside the setups that follow.
//
// Floors, measured in the same run with the same code (not systems one could use): raw-ws is
// the `ws` package alone (connect + open at both ends, no handshake), noise is xswarm's Noise XX
// with the identity payloads in memory (both sides, no sockets, no XState). A setup of either
// system costs at least raw-ws + noise of CPU; their sum bounds what any change could reach.
//
// What runs: js-libp2p with ws + noise + yamux and no services (no identify), its connection
// monitor off; xswarm with ping and discovery off (pubsub and the actors protocol are always on;
// with no subscription pubsub sends nothing at connect). So each side pays for the connection
// and what its runtime starts with every connection, and nothing a user chose to add.
//
// Measurement (the same code for every system): `warm-up` + `count` dialer nodes (and the
// listener) are created before the clock starts; `warm-up` setups (default 32, with the same
// in-flight level) run first, untimed, so that the figure is the steady rate and not the JIT
// compiling the setup path (a cold window measured ~10% fewer setups per CPU-second for xswarm);
// then a pool keeps `in-flight` dials outstanding until all `count` are done. setups/s = count / (time from the first dial to the last setup); per CPU-s = count /
// the process's CPU time over the same window (user + system, all threads); p50/p99 = the
// latency of one setup. The listeners' admission limits are raised (xswarm: maxConnections 4096,
// maxPendingConnections 1024; js-libp2p: maxConnections 4096, maxIncomingPendingConnections 1024,
// inboundConnectionThreshold 10,000 per host) so that no setup is refused while earlier
// connections stay open; everything else is default.
//
// Process model: every (system, in-flight, repetition) runs in its OWN child process,
// one after the other, and the systems alternate (their order rotates with each repetition), so
// each cell compares runs made seconds apart under the same load. The table shows medians over
// the repetitions, and the ratios xswarm / js-libp2p and xswarm-discovery / libp2p-identify by
// the clock and per CPU-second.
import { execFileSync, fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './harness.mjs'
import { setupSystems } from './setup-systems.mjs'

const here = dirname(fileURLToPath(import.meta.url))

function parseArgs (argv) {
  const a = { systems: ['xswarm', 'libp2p', 'xswarm-discovery', 'libp2p-identify', 'raw-ws', 'noise'], inFlight: [1, 16, 64], count: 256, warmUp: 32, repeat: 3, quick: false, out: '' }
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i]
    switch (argv[i]) {
      case '--systems': a.systems = next().split(','); break
      case '--in-flight': a.inFlight = next().split(',').map(Number); break
      case '--count': a.count = Number(next()); break
      case '--warm-up': a.warmUp = Number(next()); break
      case '--repeat': a.repeat = Number(next()); break
      case '--quick': a.quick = true; break
      case '--out': a.out = next(); break
      case '--child': a.child = JSON.parse(next()); break
      default: throw new Error(`setup.mjs: unknown argument ${argv[i]}`)
    }
  }
  if (a.quick) { a.count = Math.min(a.count, 64); a.warmUp = Math.min(a.warmUp, 16); a.repeat = 1 }
  return a
}

/** Run `count` jobs with `inFlight` outstanding; the window's wall and CPU time, per-job latencies. */
async function pool (count, inFlight, job) {
  let next = 0
  const latencies = []
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const worker = async () => {
    while (next < count) {
      const i = next++
      const s = performance.now()
      await job(i)
      latencies.push(performance.now() - s)
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker))
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, latencies: latencies.sort((x, y) => x - y) }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]
const round = (x, digits = 1) => Number(x.toFixed(digits))

/** One measurement, in this (child) process. */
async function child ({ system, inFlight, count, warmUp }) {
  const sys = await setupSystems[system]({ count: warmUp + count })
  try {
    await pool(warmUp, inFlight, (i) => sys.setup(i))
    globalThis.gc?.()
    const load1 = os.loadavg()[0]
    const deadline = setTimeout(() => { console.error(`${system}: ${count} setups did not finish within 180 s`); process.exit(1) }, 180_000)
    const r = await pool(count, inFlight, (i) => sys.setup(warmUp + i))
    clearTimeout(deadline)
    return {
      system, inFlight, count, warmUp,
      setupsPerSecond: round((count * 1000) / r.ms),
      perCpuSecond: round((count * 1000) / r.cpuMs),
      cpuMsPerSetup: round(r.cpuMs / count, 2),
      p50Ms: round(pct(r.latencies, 0.5), 2),
      p99Ms: round(pct(r.latencies, 0.99), 2),
      load1: round(load1, 2),
      note: sys.note,
    }
  } finally {
    await sys.stop()
  }
}

function runChild (spec) {
  return new Promise((resolvePromise, reject) => {
    const c = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(spec)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let result
    const kill = setTimeout(() => c.kill('SIGKILL'), 300_000)
    c.on('message', (m) => { result = m })
    c.on('exit', (code) => {
      clearTimeout(kill)
      if (result) resolvePromise(result)
      else reject(new Error(`${spec.system} c${spec.inFlight}: child exited ${code} with no result`))
    })
  })
}

function gitCommit () {
  try { return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return 'unknown' }
}

/** The ratios the table shows: each xswarm variant against the js-libp2p set-up it compares with. */
const PAIRS = { xswarm: 'libp2p', 'xswarm-dist': 'libp2p', 'xswarm-discovery': 'libp2p-identify' }

function summarize (runs, systems, inFlights) {
  return inFlights.map((inFlight) => {
    const row = { inFlight }
    for (const system of systems) {
      const mine = runs.filter((r) => r.system === system && r.inFlight === inFlight)
      if (mine.length === 0) continue
      row[system] = {
        setupsPerSecond: round(median(mine.map((r) => r.setupsPerSecond))),
        perCpuSecond: round(median(mine.map((r) => r.perCpuSecond))),
        p50Ms: round(median(mine.map((r) => r.p50Ms)), 2),
        p99Ms: round(median(mine.map((r) => r.p99Ms)), 2),
        load1: mine.map((r) => r.load1),
      }
    }
    for (const [mine, theirs] of Object.entries(PAIRS)) {
      const [x, y] = [row[mine], row[theirs]]
      if (x && y) (row.ratio ??= {})[`${mine}/${theirs}`] = { bySetupsPerSecond: round(x.setupsPerSecond / y.setupsPerSecond, 2), byPerCpuSecond: round(x.perCpuSecond / y.perCpuSecond, 2) }
    }
    return row
  })
}

function printTable (rows, systems) {
  const pairs = Object.entries(PAIRS).filter(([x, y]) => systems.includes(x) && systems.includes(y)).map(([x, y]) => `${x}/${y}`)
  const head = ['in flight', ...systems.map((s) => `${s} /s (per CPU-s)`), ...pairs.map((p) => `${p} /s (per CPU-s)`)]
  const lines = rows.map((r) => [String(r.inFlight), ...systems.map((s) => r[s] ? `${r[s].setupsPerSecond} (${r[s].perCpuSecond})` : '-'),
    ...pairs.map((p) => r.ratio?.[p] ? `${r.ratio[p].bySetupsPerSecond}x (${r.ratio[p].byPerCpuSecond}x)` : '-')])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  for (const l of [head, ...lines]) console.log(l.map((c, i) => c.padEnd(widths[i])).join('  '))
}

const args = parseArgs(process.argv.slice(2))
if (args.child) {
  const result = await child(args.child)
  process.send(result)
  process.exit(0)
} else {
  const runs = []
  const started = new Date().toISOString()
  for (let rep = 0; rep < args.repeat; rep++) {
    const order = args.systems.map((_, i) => args.systems[(i + rep) % args.systems.length])
    for (const inFlight of args.inFlight) {
      for (const system of order) {
        const r = await runChild({ system, inFlight, count: args.count, warmUp: args.warmUp })
        console.error(`  ${system} c${inFlight} #${rep + 1}: ${r.setupsPerSecond}/s, ${r.perCpuSecond} per CPU-s (load ${r.load1})`)
        runs.push(r)
      }
    }
  }
  const rows = summarize(runs, args.systems, args.inFlight)
  printTable(rows, args.systems)
  const out = args.out || resolve(here, '..', 'results', args.quick ? 'setup.quick.tmp' : 'setup.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify({
    command: `node --expose-gc bench/pubsub/setup.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { commit: gitCommit(), node: process.version, cpu: os.cpus()[0]?.model, cpus: os.cpus().length, started, finished: new Date().toISOString() },
    options: { systems: args.systems, inFlight: args.inFlight, count: args.count, warmUp: args.warmUp, repeat: args.repeat },
    rows, runs,
  }, null, 2) + '\n')
  console.error(`written ${out}`)
}
