#!/usr/bin/env node
// # Side-by-side pubsub benchmark
//
// Compares pubsub systems in ONE run with the same topology, the same message sizes and the
// same measurement code (bench/pubsub/harness.mjs). Each system is an adapter loaded by name
// from bench/pubsub/adapters/<name>.mjs (interface: top of harness.mjs).
//
//   cd bench/pubsub && npm install             # once: its own node_modules (js-libp2p 2.x, ws, msgpackr),
//                                               # pinned by package-lock.json. (Not `npm ci`: the lock
//                                               # lacks other platforms' optional msgpackr-extract builds,
//                                               # which npm ci rejects here; the root project uses npm install too.)
//   node --expose-gc bench/pubsub/run.mjs --nodes 10,30 --sizes 128,4096,65536 --repeat 2   # the README table
//        [--systems xswarm,libp2p,naive-flood] [--publishers 1,all] [--quick] [--signing on|off]
//        [--window 32] [--seed 24301] [--out FILE]
//   node --expose-gc bench/pubsub/run.mjs --nodes 10 --quick                              # a few minutes
//   node bench/pubsub/run.mjs --table bench/results/pubsub.json                          # re-print
//
// Adapters: libp2p (js-libp2p 2.10 ws+noise+yamux+identify+gossipsub 14, StrictSign,
// connectionMonitor off), naive-flood (raw ws + msgpackr flood, no security: the ceiling),
// naive-flood-nomask (same, all-zero WebSocket mask so `ws` skips masking), secure-flood (the same
// flood with what any signed, encrypted pubsub must do per message: ChaCha20-Poly1305 per frame,
// ed25519 sign and verify-once per node, one batch frame per neighbour per turn: the floor of
// that work on this stack, see its header), xswarm (the build at the
// repository root, `npm run build`), xswarm-dist (another build, XSWARM_DIST=<its dist>, to compare
// two versions back to back in one run: see adapters/xswarm-dist.mjs). Add a system by
// writing adapters/<name>.mjs against the interface at the top of harness.mjs.
//
// Options
//   --systems   comma list of adapter names (default xswarm,libp2p,naive-flood); the FIRST is the
//               reference of the ratio columns (the text table has one per other system, any
//               number of them); naive-flood, when listed, is the ceiling column of the README table
//   --nodes     comma list of n (all n nodes of a system run in one process on 127.0.0.1)
//   --sizes     payload sizes in bytes (default 128,4096,65536)
//   --quick     small counts, 2.5 s phases: n=10 with two systems takes ~30 s (~60 s on a busy machine)
//   --signing   on (default; libp2p StrictSign) | off (libp2p StrictNoSign). naive-flood never signs.
//   --window    max messages published but not yet delivered to every subscriber (default 32)
//   --seed      topology seed (default 24301); same edges for every system
//   --repeat    R runs of every (system, n, size), alternating the system order; the table shows medians
//               (default 1). Use it on a shared/noisy machine.
//   --wait-quiet S   before each child, wait up to S s until /proc/pressure/cpu "some avg10" is
//               below --quiet-below (default 50) %. Every row records the machine's CPU pressure.
//   --publishers  1,all (default) | 1 | all: the publisher shapes, each measured in the same child
//               one after the other: '1' = node 0 publishes every message, 'all' = publishers
//               round-robin over every node
//   --out       JSON output (default bench/results/pubsub.json, overwritten; with --quick the
//               default is bench/results/pubsub.quick.tmp, git-ignored, so a smoke run never
//               clobbers the committed full results)
//   --table F   only re-print the table of an existing results file F (no run)
//
// What is measured (per system, n, size) — see harness.mjs for the exact code
//   - topology: ring + random chords, ~4 connections per node, seeded; node a dials b for edge [a,b].
//   - throughput, in two shapes: 'all' = publishers round-robin over ALL nodes (every node's
//     publish path, signing and first-hop fan-out, is exercised, as in a swarm where anyone
//     publishes) and '1' = node 0 publishes everything (its signing and its links are the
//     bottleneck, as in a feed with one source); every message has exactly n-1 subscribers. A bounded window (--window) of messages not yet
//     delivered to all subscribers; a message older than 5 s (2 s quick) frees its slot. At most
//     M messages or 20 s (2.5 s quick) of publishing, then a 3 s (1 s quick) grace period.
//       msg/s = messages delivered to all n-1 subscribers / (last completion − first publish)
//       deliv/s = unique (message, subscriber) deliveries / same seconds;  MB/s = deliv/s × size / 1e6
//       lost = messages not delivered to every subscriber by the end of the grace period
//       dups = a node delivering the same message twice
//       msg/cpu-s = completed messages per CPU-second of the process (user + system)
//       frames in/delivery, wire B/payload B = socket messages and bytes received by all nodes
//         per unique delivery / per delivered payload byte (adapters with wire(): xswarm, the
//         flood); the excess over 1 B per payload byte is framing, signatures, control and the
//         duplicate copies that still crossed a socket
//   - latency: 10 messages/s (same publisher shape) for 15 s (1 s quick); publish→delivery at
//     every subscriber with performance.now() in the one process; p50/p99 over all samples.
//     (15 s since issue 13 item 4; it was 5 s, whose p99 rested on ~5 slow deliveries at n = 10,
//     so single cells swung by 2x. The same for every system; it makes `npm run full` ≈ 40 min,
//     was ≈ 28: 72 latency phases of 10 s more.)
//   - memory: (RSS after start + warm-up − RSS before start) / n, and heapUsed the same way,
//     with global.gc() before each reading when run with --expose-gc (the child processes always are).
//
// Process model — each (system, n, size) runs in its OWN child process, one after the other,
// the systems back to back for each size (so a table cell compares runs made seconds apart).
//   Why: RSS is per process and freed memory is not reliably returned to the OS, so a system
//   measured after another in the same process would inherit its RSS (and heap fragmentation,
//   JIT state, pending timers). A fresh child per (system, n, size) gives every system the same cold
//   start, makes the memory figure clean, and a crash or hang of one system cannot take the
//   others down (each child is killed after a time limit). Children run sequentially, never in
//   parallel, so they do not compete for the 2 cores. The parent only collects results over IPC,
//   writes the JSON and prints the table. --in-process runs everything in this process instead
//   (debugging only; memory figures are then not comparable).
//
// Caveats (read before quoting a number)
//   - All n nodes share ONE Node process, i.e. one core for JS: throughput is "how much
//     pubsub work fits in one event loop", not network capacity. Every figure is CPU-bound.
//   - The machine (2 vCPUs) may be shared with other work: each row records this process's
//     CPU share during the throughput phase ("cpu cores") and the machine's CPU pressure (PSI);
//     when other load is high, msg/s drops for every system. msg/cpu-s (messages per CPU-second
//     of this process) is the figure that moves least; the ratios of systems measured back to
//     back are the point of the tool. Use --repeat 3 on a busy machine.
//   - latency is measured at a FIXED 10 msg/s: where a system sustains less than that (js-libp2p
//     at 64 KiB), the latency phase is overloaded and p50/p99 measure queueing; the table flags it.
//   - memory per node includes a share of fixed per-process costs (first-instance JIT code,
//     lazily created singletons); the report also prints the marginal MB per ADDED node between
//     the smallest and the largest n, which is the better per-node figure.
//   - WebSocket client frames are masked in JavaScript by `ws` (bufferutil is not installed, as
//     in the root project); at 64 KiB that costs the flood 2.5-3x (compare naive-flood-nomask).
//     js-libp2p's websockets transport uses the same `ws` and pays the same per byte.
//   - js-libp2p: connectionMonitor disabled (its pings drop links under a saturated event
//     loop); everything else default; signatures on (StrictSign) unless --signing off.

import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import os from 'node:os'
import { runSystem, formatTable, formatMarkdown, summarize, marginalMemory } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..')

function parseArgs (argv) {
  const a = {
    systems: ['xswarm', 'libp2p', 'naive-flood'],
    nodes: [10],
    sizes: [128, 4096, 65536],
    quick: false,
    signing: true,
    window: 32,
    seed: 24301,
    publishers: ['1', 'all'],
    repeat: 1,
    waitQuiet: 0,
    quietBelow: 50,
    out: null, // default: bench/results/pubsub.json; with --quick bench/results/pubsub.quick.tmp
    child: false,
    inProcess: false
  }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = () => { const x = argv[++i]; if (x == null) throw new Error(`missing value for ${k}`); return x }
    switch (k) {
      case '--systems': a.systems = v().split(',').map((s) => s.trim()).filter(Boolean); break
      case '--nodes': a.nodes = v().split(',').map(Number); break
      case '--sizes': a.sizes = v().split(',').map(Number); break
      case '--quick': a.quick = true; break
      case '--signing': a.signing = !/^(off|false|0|no)$/i.test(v()); break
      case '--window': a.window = Number(v()); break
      case '--seed': a.seed = Number(v()); break
      case '--publishers': a.publishers = v().split(',').map((s) => s.trim()).filter(Boolean); break
      case '--repeat': a.repeat = Number(v()); break
      case '--wait-quiet': a.waitQuiet = Number(v()); break
      case '--quiet-below': a.quietBelow = Number(v()); break
      case '--out': a.out = resolve(v()); break
      case '--child': a.child = true; break
      case '--in-process': a.inProcess = true; break
      case '--table': a.table = resolve(v()); break
      case '-h': case '--help':
        console.log('usage: node --expose-gc bench/pubsub/run.mjs --systems libp2p,naive-flood --nodes 10,30 --sizes 128,4096,65536 [--quick] [--signing on|off] [--window W] [--seed S] [--out FILE]')
        process.exit(0)
        break
      default: throw new Error(`unknown argument ${k}`)
    }
  }
  if (a.nodes.some((n) => !Number.isInteger(n) || n < 2 || n > 500)) throw new Error('--nodes: integers in 2..500')
  if (a.sizes.some((s) => !Number.isInteger(s) || s < 8 || s > 4 * 1024 * 1024)) throw new Error('--sizes: integers in 8..4194304')
  a.out ??= join(repoRoot, 'bench', 'results', a.quick ? 'pubsub.quick.tmp' : 'pubsub.json')
  if (!(Number.isInteger(a.repeat) && a.repeat >= 1 && a.repeat <= 10)) throw new Error('--repeat: 1..10')
  if (!(a.window >= 1)) throw new Error('--window >= 1')
  if (a.publishers.length === 0 || a.publishers.some((p) => p !== '1' && p !== 'all')) throw new Error('--publishers: 1, all, or 1,all')
  return a
}

async function loadAdapter (name) {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new Error(`bad adapter name ${name}`)
  const mod = await import(pathToFileURL(join(here, 'adapters', `${name}.mjs`)).href)
  const adapter = mod.default ?? mod.adapter
  if (adapter == null || typeof adapter.start !== 'function') throw new Error(`adapters/${name}.mjs exports no adapter`)
  return adapter
}

const log = (line) => console.log(line)

async function runOne (system, n, args) {
  const adapter = await loadAdapter(system)
  // '1': node 0 publishes everything; 'all': publishers round-robin over every node
  const publishers = args.publishers.map((p) => p === '1' ? 0 : 'rr')
  return runSystem(adapter, { n, sizes: args.sizes, seed: args.seed, signing: args.signing, quick: args.quick, window: args.window, publishers, log })
}

// ─── child mode: one (system, n, size), results over IPC ────────────────────
async function childMain (args) {
  const system = args.systems[0]
  const n = args.nodes[0]
  try {
    const rows = await runOne(system, n, args)
    process.send({ ok: true, rows })
  } catch (err) {
    process.send({ ok: false, error: String(err?.stack ?? err) })
  }
  // some libraries leave timers behind; do not wait for them
  setTimeout(() => process.exit(0), 200).unref()
  process.disconnect?.()
}

function cpuPressure () {
  try { return Number(/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))[1]) } catch { return null }
}

/** Wait (at most `maxS` seconds) until the machine's CPU pressure (PSI some avg10) is below `below` %. */
async function waitQuiet (maxS, below) {
  const t0 = Date.now()
  let p = cpuPressure()
  if (p == null || p < below) return
  process.stdout.write(`waiting up to ${maxS} s for CPU pressure < ${below}% (now ${p}%) ... `)
  while (Date.now() - t0 < maxS * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 2000))
    p = cpuPressure()
    if (p < below) break
  }
  console.log(`${p}% after ${Math.round((Date.now() - t0) / 1000)} s`)
}

function childTimeoutMs (args, n) {
  const phases = args.sizes.length * args.publishers.length
  const per = args.quick ? (3 + 1 + 1.5 + 1 + 1) : (20 + 3 + 5 + 3 + 1)
  const start = args.quick ? 20 + 15 : 60 + 30
  return Math.round((start + phases * per + 30 + n * 0.5) * 1000)
}

function runChild (system, n, args) {
  return new Promise((resolve) => {
    const childArgs = ['--child', '--systems', system, '--nodes', String(n), '--sizes', args.sizes.join(','),
      '--signing', args.signing ? 'on' : 'off', '--window', String(args.window), '--seed', String(args.seed), '--publishers', args.publishers.join(',')]
    if (args.quick) childArgs.push('--quick')
    const child = fork(fileURLToPath(import.meta.url), childArgs, {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    let result = null
    const limit = childTimeoutMs(args, n)
    const timer = setTimeout(() => {
      console.error(`[${system}] n=${n}: child exceeded ${limit} ms, killing pid ${child.pid}`)
      child.kill('SIGKILL')
    }, limit)
    child.on('message', (m) => { result = m })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (result == null) result = { ok: false, error: `child exited code=${code} signal=${signal} without a result` }
      resolve(result)
    })
  })
}

function printReport (out) {
  const { meta, results } = out
  console.log('')
  console.log(`${meta.mode} run ${meta.date}, ${meta.node}, ${meta.cpus}; signing=${meta.signing ? 'on' : 'off'}, window=${meta.window}, publishers: ${meta.publishers}, repeat=${meta.repeat ?? 1}`)
  for (const [s, ns] of Object.entries(meta.notes ?? {})) console.log(`${s}: ${ns.join('; ')}`)
  console.log('')
  console.log(formatTable(results, meta.systems))
  console.log('README table (medians; ratios first / second system):\n')
  console.log(formatMarkdown(results, meta.systems))
  console.log('')
  const mm = out.marginalMemory ?? marginalMemory(results, meta.systems)
  for (const [s, m] of Object.entries(mm)) console.log(`memory per ADDED node (n=${m.fromN}→${m.toN}, no fixed per-process cost): ${s} RSS ${m.rssPerAddedNodeMB} MB, heap ${m.heapPerAddedNodeMB} MB`)
  if (meta.failures?.length) console.log(`FAILURES: ${meta.failures.map((f) => `${f.system} n=${f.n} size=${f.size}: ${String(f.error).split('\n')[0]}`).join(' | ')}`)
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  if (args.child) return childMain(args)
  if (args.table) return printReport(JSON.parse(readFileSync(args.table, 'utf8')))

  if (typeof global.gc !== 'function' && args.inProcess) console.log('note: run with node --expose-gc for cleaner memory figures')
  const t0 = Date.now()
  const rows = []
  const failures = []
  console.log(`pubsub bench: systems=${args.systems.join(',')} nodes=${args.nodes.join(',')} sizes=${args.sizes.join(',')} ${args.quick ? 'QUICK' : 'FULL'} signing=${args.signing ? 'on' : 'off'} window=${args.window} seed=${args.seed}`)
  // order: for each n, each repetition, each size: the systems back to back (order alternating
  // per repetition), each in a fresh child — so the systems compared in one table cell ran
  // seconds apart and saw about the same machine load
  for (const n of args.nodes) {
    for (let rep = 0; rep < args.repeat; rep++) {
      const order = rep % 2 === 0 ? args.systems : [...args.systems].reverse()
      for (const size of args.sizes) {
        for (const system of order) {
          if (args.waitQuiet > 0) await waitQuiet(args.waitQuiet, args.quietBelow)
          const one = { ...args, sizes: [size] }
          let r
          if (args.inProcess) {
            try { r = { ok: true, rows: await runOne(system, n, one) } } catch (err) { r = { ok: false, error: String(err?.stack ?? err) } }
          } else {
            r = await runChild(system, n, one)
          }
          if (r.ok) rows.push(...r.rows.map((row) => ({ ...row, rep })))
          else { failures.push({ system, n, size, rep, error: r.error }); console.error(`[${system}] n=${n} size=${size} FAILED: ${r.error}`) }
        }
      }
    }
  }

  const notes = {}
  for (const r of rows) if (r.notes?.length) notes[r.system] = r.notes
  const out = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
      mode: args.quick ? 'quick' : 'full',
      systems: args.systems,
      nodes: args.nodes,
      sizes: args.sizes,
      signing: args.signing,
      window: args.window,
      seed: args.seed,
      repeat: args.repeat,
      waitQuiet: args.waitQuiet ? `up to ${args.waitQuiet} s for CPU pressure < ${args.quietBelow}% before each child` : 'no',
      topology: 'ring + random chords, ~4 connections per node (harness.makeTopology)',
      publishers: args.publishers.map((p) => p === '1' ? '1 (node 0 only)' : 'all (round-robin over every node)').join(', '),
      processModel: "one child process per (system, n, size), sequential, systems back to back per size",
      MB: '1e6 bytes',
      notes,
      failures,
      wallSeconds: Math.round((Date.now() - t0) / 1000)
    },
    marginalMemory: marginalMemory(rows, args.systems),
    // one object per (system, n, size): the median over repetitions of every figure of the table
    summary: summarize(rows, args.systems),
    results: rows
  }
  mkdirSync(dirname(args.out), { recursive: true })
  writeFileSync(args.out, JSON.stringify(out, null, 2) + '\n')
  printReport(out)
  console.log(`wrote ${args.out} (${rows.length} rows, ${failures.length} failures) in ${out.meta.wallSeconds} s`)
  if (failures.length) process.exitCode = 1
}

main().catch((err) => { console.error(err); process.exit(1) })
