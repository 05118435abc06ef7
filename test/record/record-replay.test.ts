/**
 * Record and replay over real WebSockets in one process: two nodes connect, exchange a pubsub
 * message and an actor ask, close; each node's recording replays to the event stream it
 * handed out, line for line, with no key.
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
import { connect, createTestSwarm, drive, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

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
})
