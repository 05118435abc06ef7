/**
 * Record and replay over real WebSockets in one process: two nodes connect, exchange a pubsub
 * message and an actor ask, close; each node's recording replays to the event stream it
 * handed out, line for line, with no key. And the keep-alive, which reads the time of the
 * last frame received (stamped by the root): a recording replays every wait, re-arm and ping
 * (a replayed timer that differs from the recorded one is a divergence).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { assign, sendTo, setup, type AnyActorRef } from 'xstate'
import { eventToJson } from '../../src/cli/log.js'
import { replay } from '../../src/record/replay.js'
import type { Swarm } from '../../src/swarm.js'
import { connect, createTestSwarm, drive, eventsOf, NUMBERS_ID, numbersProtocol, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()
const dir = mkdtempSync(join(tmpdir(), 'xswarm-record-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Answers `say {text}` after 30 ms (a hosted actor's own timer, which a recording leaves out). */
const echo = setup({
  types: { context: {} as { replyTo: AnyActorRef | null; text: string }, events: {} as { type: 'say'; text: string; replyTo: AnyActorRef } },
  actions: {
    keep: assign(({ event }) => ({ replyTo: event.replyTo, text: event.text })),
    answer: sendTo(({ context }) => context.replyTo!, ({ context }) => ({ type: 'echo', text: context.text })),
  },
}).createMachine({
  context: { replyTo: null, text: '' },
  initial: 'idle',
  states: {
    idle: { on: { say: { target: 'thinking', actions: 'keep' } } },
    thinking: { after: { 30: { target: 'idle', actions: 'answer' } } },
  },
})

const lines = (events: readonly { type: string }[]): string[] => events.map((e) => eventToJson(e as never))

/** Close a swarm and take every event it still has. */
async function closeAndTake(swarm: Swarm): Promise<void> {
  await swarm.close()
  for (let e = swarm.take(); e !== undefined; e = swarm.take()) eventsOf(swarm).push(e)
}

describe('record and replay (real WebSockets, one process)', () => {
  it('each node replays to the events it handed out: connections, a pubsub message, an actor ask', async () => {
    const fileA = join(dir, 'a.rec'), fileB = join(dir, 'b.rec')
    const a = await createTestSwarm({ record: fileA, swarmKey: new Uint8Array(32).fill(7) })
    const b = await createTestSwarm({ record: { path: fileB }, swarmKey: new Uint8Array(32).fill(7) })
    a.subscribe('news')
    b.subscribe('news')
    await connect(b, a)
    const spawned = a.actors.spawn(echo, { name: 'echo', accept: 'any' })
    let reply: unknown
    void b.actors.ask(b.actors.ref(spawned.address), { type: 'say', text: 'hi' }).then((r) => { reply = r })
    await drive([a, b], () => reply !== undefined, { what: 'the ask', timeoutMs: 15_000 })
    expect(reply).toEqual({ type: 'echo', text: 'hi' })
    await drive([a, b], () => eventsOf(a).some((e) => e.type === 'pubsub.peer.subscribed' || e.type === 'pubsub.subscribed'), { what: 'subscriptions', timeoutMs: 15_000 })
    b.publish('news', new TextEncoder().encode('hello'))
    await drive([a, b], () => eventsOf(a).some((e) => e.type === 'pubsub.message'), { what: 'the message', timeoutMs: 15_000 })
    await closeAndTake(b)
    await closeAndTake(a)

    for (const [swarm, file] of [[a, fileA], [b, fileB]] as const) {
      const live = lines(eventsOf(swarm))
      expect(live).toContain(lines([{ type: 'swarm.closed' }])[0])
      const replayed = await replay(file)
      expect(replayed.endReason).toBe('closed')
      expect(lines(replayed.events)).toEqual(live)
    }
  })

  it('a recorded keep-alive replays exactly: traffic postpones the pings, a peer that falls silent ends in ping-timeout', async () => {
    const file = join(dir, 'keepalive.rec')
    const opts = { ping: false as const, timeouts: { keepAlive: 100, pingTimeout: 200 }, protocols: [numbersProtocol({ echo: true })] }
    const a = await createTestSwarm({ record: file, ...opts })
    const b = await createTestSwarm(opts)
    await connect(a, b)
    const echoed = (): number => eventsOf(a).filter((e) => e.type === 'numbers.echoed').length
    // A number each way every ≥ 30 ms for ≈ 0.5 s: keep-alive waits end with a frame heard, and re-arm.
    for (let i = 1; i <= 15; i++) {
      const next = Date.now() + 30
      a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 1, from: i })
      await drive([a, b], () => echoed() >= i && Date.now() >= next, { what: `echo ${i}` })
    }
    // B hangs (no longer driven): A's wait ends with nothing heard, it pings, and no pong comes.
    await drive([a], () => !a.isConnected(b.peerId), { what: 'ping-timeout on A', timeoutMs: 5000 })
    expect(eventsOf(a).at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'ping-timeout' })
    await closeAndTake(a)
    const replayed = await replay(file, { protocols: [numbersProtocol({ echo: true })] })
    expect(replayed.endReason).toBe('closed')
    expect(lines(replayed.events)).toEqual(lines(eventsOf(a)))
  })
})
