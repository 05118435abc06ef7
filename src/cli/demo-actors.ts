/**
 * `xswarm demo --actors`: the actor layer at work, on three nodes in this process over real
 * WebSockets. node0 hosts a counter and a coordinator; node1 and node2 each host a worker.
 * node1 and node2 ask the counter; the coordinator watches both workers (`watchActor`) and
 * hands them jobs at least once; then node2 closes, the coordinator gets `actor.down`
 * (`node-closed`) and the next jobs all go to node1. Every event handed to an actor, every ask
 * and every reply is printed with its trace id (read from each node's inspection stream), so
 * one causal chain can be followed across nodes. Exits 0 by itself when all of it happened.
 * @module
 */
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { parseActorAddress } from '../../machines/actors/address.js'
import { ACTORS_ID } from '../../machines/actors/context.js'
import { CliError, EXIT_FAILURE, EXIT_OK, sleep, type Io } from './args.js'
import { startSwarm } from './common.js'
import { demoCoordinator, demoCounter, demoWorker, type CoordinatorContext } from './demo-actors-machines.js'
import { shortId, Stopwatch } from './log.js'

const PROTOCOL_ACTOR = `protocol:${ACTORS_ID}`
/** Longest wait for one step (asks answered, jobs done, a worker seen down). */
const STEP_MS = 15_000

type Described = { type: string; [key: string]: unknown }

/** Prints what the actors protocol of each node hands to actors, asks and answers, with trace ids. */
class Tracer {
  readonly #io: Io
  readonly #clock: Stopwatch
  /** peer id → node label */
  readonly labels = new Map<string, string>()
  lines = 0

  constructor(io: Io, clock: Stopwatch) {
    this.#io = io
    this.#clock = clock
  }

  /** The inspection observer of node `node`. */
  observer(node: string): (e: InspectionEvent) => void {
    return (e) => {
      if ((e.actorRef as { id?: string }).id !== PROTOCOL_ACTOR) return
      if (e.type === '@xstate.event') {
        const ev = e.event as Described & { commands?: Described[] }
        for (const c of ev.commands ?? [ev]) {
          if (c.type === 'actors.ask') this.#line(node, `asks ${this.actor(String(c.to))}: ${this.event(c.event as Described)}`, c.trace)
        }
      } else if (e.type === '@xstate.action' && e.action.type === 'xstate.emit') {
        const out = (e.action.params as { event?: Described } | undefined)?.event
        if (out?.type === 'effect.call' && out.fn === 'deliver') {
          for (const item of (out.args as { items: Described[] }).items) this.#line(node, `${item.name} ← ${this.event(item.event as Described)}`, item.trace)
        } else if (out?.type === 'actors.answer') {
          this.#line(node, out.code === undefined ? `reply: ${this.event(out.event as Described)}` : `ask failed: ${String(out.code)}`, out.trace)
        }
      }
    }
  }

  #line(node: string, text: string, trace: unknown): void {
    this.lines++
    this.#io.out(`${this.#clock.stamp()}  ${node}  ${text.padEnd(58)} trace ${String(trace ?? '-')}`)
  }

  /** `counter@node0`, `ask#3@node1` for an actor address. */
  actor(address: string): string {
    const a = parseActorAddress(address)
    if (!a) return address
    const name = a.name.startsWith('~a') ? `ask#${a.name.slice(2)}` : a.name
    return `${name}@${this.labels.get(a.peer) ?? shortId(a.peer)}`
  }

  /** `get replyTo=ask#1@node1`, `count n=2`. */
  event(e: Described | undefined): string {
    if (!e) return '?'
    const { type, ...rest } = e
    const parts = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' && v.includes('/actor/') ? this.actor(v) : JSON.stringify(v)}`)
    return [type, ...parts].join(' ')
  }
}

/** Wait (bounded) until `done()`; false if it did not happen in time or the demo was stopped. */
async function until(done: () => boolean, signal: AbortSignal | undefined): Promise<boolean> {
  for (let waited = 0; !done() && waited < STEP_MS && !signal?.aborted; waited += 10) await sleep(10, signal)
  return done()
}

export async function demoActors(io: Io): Promise<number> {
  const clock = new Stopwatch()
  const tracer = new Tracer(io, clock)
  const names = ['node0', 'node1', 'node2']
  io.out('xswarm demo --actors: 3 nodes on 127.0.0.1; node0 hosts a counter and a coordinator, node1 and node2 a worker each')
  io.out('')
  const started = await Promise.allSettled(names.map((n) => startSwarm({ listen: ['ws://127.0.0.1:0'], discovery: false, inspect: tracer.observer(n) })))
  const failed = started.find((r) => r.status === 'rejected')
  const swarms = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  if (failed) {
    await Promise.all(swarms.map((s) => s.close()))
    throw new CliError(`a demo node could not start: ${(failed.reason as Error).message}`)
  }
  const [node0, node1, node2] = swarms
  swarms.forEach((s, i) => tracer.labels.set(s.peerId, names[i]))
  const problems: string[] = []
  // Swarms move only while their events are taken: drive each one, printing what goes wrong.
  const loops = swarms.map((swarm, i) => (async () => {
    for await (const e of swarm) {
      if (e.type === 'actor.undelivered' || e.type === 'swarm.error' || e.type === 'dial.failed') {
        io.out(`${clock.stamp()}  ${names[i]}  ${e.type} ${JSON.stringify(e)}`)
        if (e.type === 'swarm.error') problems.push(`${names[i]}: ${e.type} ${String(e.message)}`)
      }
    }
  })())
  const say = (text: string): void => io.out(`${clock.stamp()}  ${text}`)
  try {
    await run()
  } finally {
    say('closing every node')
    for (const s of swarms) await s.close()
    await Promise.all(loops)
  }
  io.out('')
  if (problems.length > 0) {
    for (const p of problems) io.err(`error: ${p}`)
    io.out(`FAILED: ${problems.length} problem(s); every node was closed`)
    return EXIT_FAILURE
  }
  io.out(`ok: ${tracer.lines} traced steps; asks answered, 9 jobs done exactly once, node2's worker seen down (node-closed)`)
  io.out('Next: README "Actors"; examples/actors-counter.ts and examples/work-queue.ts')
  return EXIT_OK

  async function run(): Promise<void> {
    const counter = node0.actors.spawn(demoCounter, { name: 'counter', accept: 'any' })
    say(`node0 hosts counter at ${counter.address}`)
    for (const node of [node1, node2]) node.actors.ref(counter.address).send({ type: 'inc' })
    const replies = await Promise.allSettled([node1, node2].map((node) => node.actors.ask(counter.address, { type: 'get' }, { timeout: STEP_MS })))
    for (const r of replies) if (r.status === 'rejected') problems.push(`ask failed: ${(r.reason as Error).message}`)
    if (problems.length > 0) return

    const workers = [node1, node2].map((node, i) => node.actors.spawn(demoWorker, { name: 'worker', accept: 'any', input: { by: names[i + 1] } }))
    const coordinator = node0.actors.spawn(demoCoordinator, {
      name: 'coordinator',
      accept: 'any',
      input: { workers: workers.map((w): AnyActorRef => node0.actors.ref(w.address)) },
    })
    const context = (): CoordinatorContext => coordinator.ref.getSnapshot().context
    const doneCount = (): number => Object.keys(context().done).length
    say('node0 coordinator watches both workers and hands out jobs 1-6 (at least once)')
    coordinator.ref.send({ type: 'jobs', ids: [1, 2, 3, 4, 5, 6] })
    if (!(await until(() => doneCount() === 6, io.signal))) return void problems.push(`jobs 1-6: ${doneCount()} done`)

    say('node2 closes')
    await node2.close()
    if (!(await until(() => context().down.includes(workers[1].address), io.signal))) return void problems.push('the coordinator never saw node2\'s worker down')
    say('node0 coordinator hands out jobs 7-9: only node1\'s worker is left')
    coordinator.ref.send({ type: 'jobs', ids: [7, 8, 9] })
    if (!(await until(() => doneCount() === 9, io.signal))) return void problems.push(`jobs 7-9: ${doneCount() - 6} done`)
    const late = [7, 8, 9].filter((id) => context().done[id] !== 'node1')
    if (late.length > 0) problems.push(`jobs ${late.join(', ')} not done by node1`)
    const byNode = Object.values(context().done).reduce<Record<string, number>>((m, by) => ({ ...m, [by]: (m[by] ?? 0) + 1 }), {})
    say(`jobs done: ${Object.entries(byNode).map(([n, c]) => `${n} ${c}`).join(', ')}`)
  }
}
