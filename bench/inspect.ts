/**
 * Size of the inspection stream for a fixed scenario, as the Stately inspector receives it.
 *
 *   npx tsx bench/inspect.ts [--label NAME]      (default label: current)
 *
 * Scenario: two swarms over real WebSockets on 127.0.0.1 (default options: ping, pubsub,
 * discovery), both subscribe to one topic, B dials A, A publishes one message once B's
 * subscription is known, B receives it, both close. Both swarms are inspected by
 * `@statelyai/inspect`'s `createWebSocketInspector`, which sends to a local `ws` server here; the
 * figure is the bytes that server receives (JSON text, as on the wire), per inspection event
 * type, and the largest single messages. The result is merged into bench/results/inspect.json
 * under the label, so a run before a change and one after sit side by side. Nothing is asserted.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createWebSocketInspector } from '@statelyai/inspect'
import { WebSocketServer } from 'ws'
import { createSwarm } from '../src/create-swarm.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../src/swarm.js'
import { bounded, machineInfo, sleep } from './core/util.js'

const args = process.argv.slice(2)
const labelAt = args.indexOf('--label')
const label = labelAt >= 0 ? args[labelAt + 1] : 'current'
if (!label) {
  console.error('usage: npx tsx bench/inspect.ts [--label NAME]')
  process.exit(2)
}

interface Received {
  bytes: number; messages: number; byType: Record<string, { messages: number; bytes: number }>; largest: { type: string; name: string; bytes: number }[]
  /** Bytes per actor (its name; both swarms' actors of one name together), all event types. */
  byActor: Record<string, number>
}

/** A local WebSocket server standing in for the inspector: it counts what arrives. */
async function startReceiver(): Promise<{ url: string; received: Received; close: () => Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const received: Received = { bytes: 0, messages: 0, byType: {}, largest: [], byActor: {} }
  const names = new Map<string, string>()
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const text = String(data)
      const bytes = Buffer.byteLength(text)
      const event = JSON.parse(text) as { type: string; name?: string; sessionId?: string }
      received.bytes += bytes
      received.messages++
      const slot = (received.byType[event.type] ??= { messages: 0, bytes: 0 })
      slot.messages++
      slot.bytes += bytes
      if (event.type === '@xstate.actor' && event.name && event.sessionId) names.set(event.sessionId, event.name.replace(/^[cd]\d+$/, 'connection'))
      const actor = names.get(event.sessionId ?? '') ?? event.name ?? '?'
      received.byActor[actor] = (received.byActor[actor] ?? 0) + bytes
      received.largest.push({ type: event.type, name: event.name ?? event.sessionId ?? '', bytes })
      received.largest.sort((a, b) => b.bytes - a.bytes).splice(5)
    })
  })
  const { port } = server.address() as { port: number }
  return { url: `ws://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** Drive `swarm` to its end in the background; `when(match)` resolves at the first matching event from now on. */
function driven(swarm: Swarm): { when: (match: (e: SwarmEvent) => boolean) => Promise<void>; done: Promise<void> } {
  const waiting: { match: (e: SwarmEvent) => boolean; resolve: () => void }[] = []
  const done = (async () => {
    for await (const event of swarm) {
      for (const w of [...waiting]) if (w.match(event)) { waiting.splice(waiting.indexOf(w), 1); w.resolve() }
    }
  })()
  return { when: (match) => new Promise((resolve) => waiting.push({ match, resolve })), done }
}

async function scenario(url: string): Promise<void> {
  const inspectors = [createWebSocketInspector({ url }), createWebSocketInspector({ url })]
  // The inspector buffers only 200 events until its socket is open: wait for both to open.
  for (let i = 0; i < 500 && inspectors.some((x) => (x.adapter as unknown as { status: string }).status !== 'open'); i++) await sleep(10)
  const a = await createSwarm({ listen: ['ws://127.0.0.1:0'], inspect: inspectors[0].inspect, seed: 1 })
  const b = await createSwarm({ listen: ['ws://127.0.0.1:0'], inspect: inspectors[1].inspect, seed: 2 })
  const [da, db] = [driven(a), driven(b)]
  const topic = 'bench'
  const listening = da.when((e) => e.type === 'swarm.listening')
  const subscribed = da.when((e) => e.type === 'pubsub.peer.subscribed')
  const received = db.when((e) => e.type === 'pubsub.message')
  a.subscribe(topic)
  b.subscribe(topic)
  if (a.addresses.length === 0) await listening
  b.dial(a.addresses[0])
  await subscribed
  a.publish(topic, new TextEncoder().encode('hello'))
  await received
  await Promise.all([a.close(), b.close()])
  await Promise.all([da.done, db.done])
  // The inspector converts on idle callbacks: let them run, then close its sockets.
  await sleep(200)
  for (const inspector of inspectors) inspector.stop()
}

const receiver = await startReceiver()
await bounded('inspect scenario', 20_000, scenario(receiver.url))
// Wait until nothing more arrives (bounded).
for (let last = -1, i = 0; i < 50 && last !== receiver.received.messages; i++) {
  last = receiver.received.messages
  await sleep(100)
}
await receiver.close()

const { received } = receiver
const result = {
  bytes: received.bytes,
  kib: Math.round((received.bytes / 1024) * 10) / 10,
  messages: received.messages,
  byType: received.byType,
  largest: received.largest,
  byActor: received.byActor,
  machine: machineInfo(),
}
console.log(`${label}: ${result.kib} KiB in ${result.messages} inspection messages`)
for (const [type, slot] of Object.entries(received.byType)) console.log(`  ${type.padEnd(16)} ${String(slot.messages).padStart(5)} msgs ${(slot.bytes / 1024).toFixed(1).padStart(9)} KiB`)
for (const [actor, bytes] of Object.entries(received.byActor).sort((x, y) => y[1] - x[1])) console.log(`  ${actor.padEnd(34)} ${(bytes / 1024).toFixed(1).padStart(9)} KiB`)

const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'inspect.json')
mkdirSync(dirname(file), { recursive: true })
let all: Record<string, unknown> = {}
try { all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> } catch { /* first run */ }
all.scenario = 'two swarms over ws on 127.0.0.1, one topic, one message; bytes the Stately WebSocket inspector sends (both swarms)'
all.command = 'npx tsx bench/inspect.ts --label <label>'
all[label] = result
writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`)
