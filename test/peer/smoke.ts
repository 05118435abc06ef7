/**
 * Smoke check of the packed xswarm with the project's own xstate (xstate is a peer
 * dependency): compiled with tsc and run in a temporary project by
 * test/process/xstate-peer.test.ts, once with the lowest and once with the newest supported
 * xstate 5.x. A user protocol built with the project's `setup()` type-checks against
 * `defineProtocol`, two swarms connect over WebSockets, the user protocol round-trips, and
 * pubsub delivers a message. Prints `smoke ok xstate <version>` and exits 0.
 */
import { createRequire } from 'node:module'
import { emit, setup } from 'xstate'
import { createSwarm, defineProtocol, toPeer, type FromSwarm, type ProtocolInput, type Swarm } from 'xswarm'

const ID = '/smoke/echo/1'
type Msg = { text: string }
const echo = setup({
  types: { events: {} as FromSwarm<Msg, { type: 'echo.say'; peer: string; text: string }>, input: {} as ProtocolInput },
}).createMachine({
  on: {
    'echo.say': { actions: emit(({ event }) => toPeer(ID, (event as { peer: string }).peer, { text: (event as { text: string }).text })) },
    message: { actions: emit(({ event }) => ({ type: 'echo.heard', text: ((event as { body: Msg }).body).text })) },
  },
})
const protocol = defineProtocol<Msg>({ id: ID, machine: echo, parse: (b) => (typeof (b as Msg)?.text === 'string' ? (b as Msg) : undefined) })

const deadline = Date.now() + 20_000
async function until(swarms: Swarm[], done: () => boolean, what: string): Promise<void> {
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`smoke: timed out waiting for ${what}`)
    for (const s of swarms) for (let e = s.take(); e !== undefined; e = s.take()) seen.push(e)
    await new Promise((r) => setTimeout(r, 5))
  }
}
const seen: Array<{ type: string; text?: unknown }> = []

const a = await createSwarm({ listen: ['ws://127.0.0.1:0'], protocols: [protocol] })
const b = await createSwarm({ listen: [], protocols: [protocol] })
await until([a, b], () => a.addresses.length > 0, 'swarm.listening')
b.dial(a.addresses[0])
await until([a, b], () => a.isConnected(b.peerId) && b.isConnected(a.peerId), 'peer.connected')
b.command(ID, { type: 'echo.say', peer: a.peerId, text: 'hi' })
await until([a, b], () => seen.some((e) => e.type === 'echo.heard' && e.text === 'hi'), 'echo.heard')
a.subscribe('t')
b.subscribe('t')
await until([a, b], () => seen.filter((e) => e.type === 'pubsub.peer.subscribed').length >= 2, 'pubsub.peer.subscribed')
b.publish('t', new TextEncoder().encode('pubsub'))
await until([a, b], () => seen.some((e) => e.type === 'pubsub.message'), 'pubsub.message')
await Promise.all([a.close(), b.close()])
const version = (createRequire(import.meta.url)('xstate/package.json') as { version: string }).version
console.log(`smoke ok xstate ${version}`)
