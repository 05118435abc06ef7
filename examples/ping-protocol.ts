/**
 * Your own protocol: a tiny "greeting" request/response, written as an XState statechart.
 *
 * A protocol is an id plus a machine. The machine never does IO: it receives facts
 * (`peer.connected`, `message` from a peer, ...) and your commands, and answers with
 * `emit(toPeer(...))` (send a frame) or `emit({ type: 'greet.…' })` (an event for you).
 * The built-in ping protocol is written exactly like this.
 * Run: npx tsx examples/ping-protocol.ts   (in your project: import from 'xswarm')
 */
import { enqueueActions, setup } from 'xstate'
import { createSwarm, defineProtocol, inputTime, toPeer, type FromSwarm, type ProtocolInput, type SendEffect } from '../src/index.js'

const GREET = '/example/greet/1'
// On the wire: ['hello', requestId, name] and its answer ['welcome', requestId, text].
type GreetMessage = ['hello' | 'welcome', number, string]
type GreetCommand = { type: 'greet.send'; peer: string; name: string } // what your code sends
type GreetOutput =
  | { type: 'greet.received'; peer: string; name: string } // someone greeted us
  | { type: 'greet.answered'; peer: string; text: string; rtt: number } // our greeting was answered

// Peers send anything: check a frame before the machine sees it (undefined closes the connection).
const parse = (b: unknown): GreetMessage | undefined =>
  Array.isArray(b) && b.length === 3 && (b[0] === 'hello' || b[0] === 'welcome') &&
  Number.isSafeInteger(b[1]) && typeof b[2] === 'string' && b[2].length <= 100 ? (b as GreetMessage) : undefined

const greetMachine = setup({
  types: {
    context: {} as { visitors: number; nextId: number; sentAt: Record<number, number> },
    events: {} as FromSwarm<GreetMessage, GreetCommand>,
    input: {} as ProtocolInput,
    emitted: {} as SendEffect | GreetOutput,
  },
  actions: {
    // A command from the user: greet a connected peer. Time comes from inputTime, never Date.now.
    hello: enqueueActions(({ context, event, enqueue, self }) => {
      const { peer, name } = event as GreetCommand
      const id = context.nextId
      enqueue.assign({ nextId: id + 1, sentAt: { ...context.sentAt, [id]: inputTime(self) } })
      enqueue.emit(toPeer(GREET, peer, ['hello', id, name]))
    }),
    // A frame from a peer, already parsed.
    receive: enqueueActions(({ context, event, enqueue, self }) => {
      const { peer, body: [kind, id, text] } = event as { peer: string; body: GreetMessage }
      if (kind === 'hello') {
        enqueue.assign({ visitors: context.visitors + 1 })
        enqueue.emit({ type: 'greet.received', peer, name: text })
        enqueue.emit(toPeer(GREET, peer, ['welcome', id, `welcome, ${text}! you are visitor #${context.visitors + 1}`]))
      } else if (context.sentAt[id] !== undefined) {
        enqueue.emit({ type: 'greet.answered', peer, text, rtt: inputTime(self) - context.sentAt[id] })
      }
    }),
  },
}).createMachine({
  context: { visitors: 0, nextId: 1, sentAt: {} },
  initial: 'open',
  states: {
    open: { on: { 'greet.send': { actions: 'hello' }, message: { actions: 'receive' }, 'swarm.closing': 'closed' } },
    closed: { type: 'final' },
  },
})
// No type argument: the id, outputs (`emitted`) and commands (`events`) are inferred, so `e.type ===
// 'greet.answered'` narrows below and `bob.command(GREET, …)` is checked.
const greetProtocol = defineProtocol({ id: GREET, machine: greetMachine, parse })

// Register it on both swarms (next to the built-ins) and let bob greet alice.
const alice = await createSwarm({ listen: ['ws://127.0.0.1:0'], protocols: [greetProtocol] })
const bob = await createSwarm({ protocols: [greetProtocol] }) // dial-only: no listener needed
const timeout = setTimeout(() => { console.error('timed out'); process.exit(1) }, 10_000)

const aliceLoop = (async () => {
  for await (const e of alice) {
    if (e.type === 'swarm.listening') bob.dial(alice.addresses[0])
    if (e.type === 'greet.received') console.log(`alice: greeted by ${e.name} (${String(e.peer).slice(0, 6)}…)`)
  }
})()
for await (const e of bob) {
  if (e.type === 'peer.connected') bob.command(GREET, { type: 'greet.send', peer: e.peer, name: 'bob' })
  if (e.type === 'greet.answered') {
    console.log(`bob: alice says "${e.text}" (${(e.rtt as number).toFixed(2)} ms)`)
    break
  }
}
await bob.close()
await alice.close()
await aliceLoop
clearTimeout(timeout)
console.log('greeting protocol: done')
