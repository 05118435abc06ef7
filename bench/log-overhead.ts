/**
 * What debug logging costs, off and on.
 *
 *   npx tsx bench/log-overhead.ts
 *
 * Scenario: two swarms over real WebSockets on 127.0.0.1 (default options), both subscribed to
 * one topic; A publishes 2,000 messages of 64 bytes, in windows of 32, and the figure is the
 * messages per second B receives. Three modes, each run 3 times in turn, median reported:
 *   off       no DEBUG: `swarmLog` returns undefined, so no hook is installed (the default)
 *   on-null   DEBUG=xswarm:* with log lines formatted and then dropped (a null sink)
 * Off costs nothing per event by construction (the check happens once, in createSwarm); the
 * runs show whether that holds against the noise. Results: bench/results/log-overhead.json.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import createDebug from 'debug'
import { createSwarm } from '../src/create-swarm.js'
import { drive, machineInfo, now, until } from './core/util.js'

const MESSAGES = 2000
const WINDOW = 32

async function run(): Promise<number> {
  const a = await createSwarm({ listen: ['ws://127.0.0.1:0'], discovery: false })
  const b = await createSwarm({ listen: [], discovery: false })
  let received = 0
  let subscribed = false
  const da = drive(a, (e) => { if (e.type === 'pubsub.peer.subscribed') subscribed = true })
  const db = drive(b, (e) => { if (e.type === 'pubsub.message') received++ })
  await until('a listening', () => a.addresses.length > 0, 5000)
  a.subscribe('bench')
  b.subscribe('bench')
  b.dial(a.addresses[0])
  await until('b subscribed, seen by a', () => subscribed, 10_000)
  const data = new Uint8Array(64)
  const start = now()
  for (let sent = 0; sent < MESSAGES;) {
    for (let i = 0; i < WINDOW && sent < MESSAGES; i++, sent++) a.publish('bench', data) // ids differ: each has its own seqno
    await until(`delivery of ${sent}`, () => received >= sent, 30_000)
  }
  const rate = MESSAGES / ((now() - start) / 1000)
  await Promise.all([a.close(), b.close()])
  await Promise.all([da.done, db.done])
  return rate
}

const modes = { off: () => createDebug.disable(), 'on-null': () => { createDebug.log = () => {}; createDebug.enable('xswarm:*') } }
const rates: Record<string, number[]> = { off: [], 'on-null': [] }
for (let round = 0; round < 3; round++) {
  for (const [mode, setUp] of Object.entries(modes)) {
    setUp()
    rates[mode].push(await run())
    console.log(`round ${round + 1} ${mode}: ${rates[mode].at(-1)!.toFixed(0)} msg/s`)
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
const result = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  scenario: `${MESSAGES} pubsub messages of 64 B, A → B over ws, windows of ${WINDOW}; 3 runs per mode, interleaved`,
  messagesPerSecond: Object.fromEntries(Object.entries(rates).map(([m, xs]) => [m, { median: Math.round(median(xs)), runs: xs.map(Math.round) }])),
}
console.log(JSON.stringify(result.messagesPerSecond))
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'log-overhead.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(result, null, 2) + '\n')
