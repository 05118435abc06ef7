/**
 * Actors across the network: a counter hosted on node A, used from node B.
 *
 * B sends to it with `ref.send`, asks it (`ask` puts a one-shot `replyTo` in the event), and a
 * machine on B talks to it with plain `sendTo` and gets the answer back with XState's reply
 * pattern (`replyTo: self`). B also finds the counter by name (`lookup`, through discovery's
 * DHT). Then one ask's path through both nodes is printed: every envelope
 * carries a trace id, and the inspection events of both nodes that carry it are joined.
 *
 * Run: npx tsx examples/actors-counter.ts
 * In your own project, import from 'xswarm' instead of '../src/index.js'.
 */
import { assign, createActor, sendTo, setup, type AnyActorRef, type InspectionEvent } from 'xstate'
import { createSwarm, type Swarm } from '../src/index.js'

/** The counter: `inc` adds one, `get {replyTo}` answers `{ type: 'count', n }`. */
const counter = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'inc' } | { type: 'get'; replyTo: AnyActorRef } },
  actions: { reply: sendTo(({ event }) => (event as { replyTo: AnyActorRef }).replyTo, ({ context }) => ({ type: 'count', n: context.n })) },
}).createMachine({
  context: { n: 0 },
  on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) }, get: { actions: 'reply' } },
})

/** A client machine on B: increments the remote counter twice, then asks it with `replyTo: self`. */
const client = setup({
  types: { context: {} as { counter: AnyActorRef; seen: number | null }, input: {} as { counter: AnyActorRef } },
}).createMachine({
  context: ({ input }) => ({ counter: input.counter, seen: null }),
  entry: [
    sendTo(({ context }) => context.counter, { type: 'inc' }),
    sendTo(({ context }) => context.counter, { type: 'inc' }),
    sendTo(({ context }) => context.counter, ({ self }) => ({ type: 'get', replyTo: self })),
  ],
  on: { count: { actions: assign({ seen: ({ event }) => (event as unknown as { n: number }).n }) } },
})

// Inspection of both nodes: keep what the actors protocol saw or did that carries a trace id.
const traced: { line: string; trace: string }[] = []
const inspector = (node: string) => (e: InspectionEvent) => {
  if ((e.actorRef as { id?: string }).id !== 'protocol:/xswarm/actors/1') return
  if (e.type === '@xstate.event') {
    const ev = e.event as { type: string; trace?: string; commands?: { type: string; trace?: string }[]; body?: { k: string; trace?: string; to?: string }[] }
    // Commands of the shell arrive one by one or batched (`actors.batch`).
    for (const c of ev.commands ?? [ev]) if (c.trace) traced.push({ line: `${node} actors protocol ← ${c.type}`, trace: c.trace })
    // A frame may carry several envelopes (those of one settle): one line per trace in it.
    if (ev.type === 'message') {
      for (const trace of new Set(ev.body!.map((m) => m.trace).filter(Boolean))) {
        traced.push({ line: `${node} actors protocol ← frame in: ${ev.body!.filter((m) => m.trace === trace).map((m) => `${m.k} to ${m.to}`).join(', ')}`, trace: trace! })
      }
    }
  } else if (e.type === '@xstate.action' && e.action.type === 'xstate.emit') {
    const out = (e.action.params as { event?: { type: string; args?: { items?: { trace: string; name: string }[] }; trace?: string; body?: unknown[][] } }).event
    if (out?.type === 'effect.call') for (const item of out.args?.items ?? []) traced.push({ line: `${node} actors protocol → deliver to ${item.name}`, trace: item.trace })
    else if (out?.type === 'effect.send') for (const trace of new Set(out.body?.map((m) => m[5]))) traced.push({ line: `${node} actors protocol → frame out`, trace: String(trace) })
    else if (out?.trace) traced.push({ line: `${node} actors protocol → ${out.type}`, trace: out.trace })
  }
}

const a = await createSwarm({ listen: ['ws://127.0.0.1:0'], inspect: inspector('A') })
const b = await createSwarm({ listen: ['ws://127.0.0.1:0'], inspect: inspector('B') })

// Swarms move only while their events are taken: drive both in the background.
const drive = (name: string, s: Swarm) => (async () => {
  for await (const e of s) if (e.type.startsWith('actor.')) console.log(`${name}: ${JSON.stringify(e)}`)
})()
const loops = [drive('A', a), drive('B', b)]
const timeout = setTimeout(() => { console.error('timed out'); process.exit(1) }, 15_000)

const hosted = a.actors.spawn(counter, { name: 'counter', accept: 'any' })
console.log(`counter lives at ${hosted.address}`)

const ref = b.actors.ref(hosted.address)
ref.send({ type: 'inc' })
const reply = await b.actors.ask(ref, { type: 'get' }, { timeout: 5000 })
console.log(`B asked: ${JSON.stringify(reply)}`)

const machine = createActor(client, { input: { counter: ref } }).start()
await new Promise<void>((resolve) => machine.subscribe((s) => { if (s.context.seen !== null) resolve() }))
console.log(`B's machine got count ${machine.getSnapshot().context.seen} through sendTo and replyTo: self`)

// Found by name: the counter accepts anyone, so A announced it in discovery's DHT.
const [byName] = await b.actors.lookup('counter', { timeout: 5000 })
console.log(`B looked up 'counter': ${byName.address} answers ${JSON.stringify(await b.actors.ask(byName, { type: 'get' }))}`)

try {
  await b.actors.ask(`${a.addresses[0]}/actor/nobody`, { type: 'get' })
} catch (error) {
  console.log(`asking an actor that does not exist: ${(error as { code: string }).code}`)
}

// One ask, followed through both nodes by its trace id.
const askTrace = traced.find((t) => t.line === 'B actors protocol ← actors.ask')?.trace
console.log(`the path of ask ${askTrace} through both nodes:`)
for (const t of traced) if (t.trace === askTrace) console.log(`  ${t.line}`)

clearTimeout(timeout)
await a.close()
await b.close()
await Promise.all(loops)
console.log('actors-counter: done')
