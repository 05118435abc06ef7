/**
 * Pubsub as the README promises it, through the public API on a simulated network (virtual
 * time, deterministic): every command is answered (`pubsub.subscribe.failed`,
 * `pubsub.publish.failed` with `invalid-topic` / `invalid-data`), `maxTopicsPerPeer` bounds our
 * own subscriptions and what we keep of a peer's, and the validator's `ignore` drops quietly
 * (no penalty, unlike `reject`) while an answer later than `validationTimeout` counts as ignore.
 */
import { describe, expect, it } from 'vitest'
import { PUBSUB_ID } from '../../machines/pubsub/wire.js'
import { createSimulation, type Simulation } from '../../src/testing/simulation.js'
import type { Swarm, SwarmEvent } from '../../src/swarm.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup, type SimSwarmOptions } from '../helpers/swarm-test.js'

useSwarmCleanup()

type Ev = SwarmEvent & Record<string, any>
const of = (s: Swarm, type: string): Ev[] => (eventsOf(s) as Ev[]).filter((e) => e.type === type)

async function until(sim: Simulation, what: string, condition: () => boolean, forMs = 10_000): Promise<void> {
  const r = await sim.run({ until: condition, forMs })
  if (!r.satisfied) throw new Error(`not within ${forMs} ms of virtual time: ${what}`)
}

/** Two connected swarms, both subscribed to `t`, each seeing the other's subscription. */
async function pair(optionsB: Partial<SimSwarmOptions> = {}): Promise<{ sim: Simulation; a: Swarm; b: Swarm }> {
  const sim = createSimulation()
  const a = await createSimTestSwarm(sim, { seed: 1 })
  const b = await createSimTestSwarm(sim, { seed: 2, ...optionsB })
  await connectSim(sim, a, b)
  a.subscribe('t')
  b.subscribe('t')
  await until(sim, 'subscriptions seen', () => of(a, 'pubsub.peer.subscribed').length > 0 && of(b, 'pubsub.peer.subscribed').length > 0)
  return { sim, a, b }
}

describe('pubsub through the public API', () => {
  it('answers every command: invalid topic or data and too many topics fail with a reason; bad arguments throw', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, pubsub: { maxTopicsPerPeer: 2 } })
    // The facade checks its arguments at once.
    expect(() => a.subscribe('')).toThrow(RangeError)
    expect(() => a.publish('t', 'text' as never)).toThrow(TypeError)
    // The statechart answers commands that reach it with a reason (e.g. from another protocol or a script).
    a.command(PUBSUB_ID, { type: 'pubsub.subscribe', topic: '' })
    a.command(PUBSUB_ID, { type: 'pubsub.publish', topic: '', data: new Uint8Array(1) })
    a.command(PUBSUB_ID, { type: 'pubsub.publish', topic: 't', data: 'text' })
    for (const topic of ['one', 'two', 'three']) a.subscribe(topic)
    await until(sim, 'all answered', () => of(a, 'pubsub.subscribed').length + of(a, 'pubsub.subscribe.failed').length === 4)
    expect(of(a, 'pubsub.subscribe.failed').map((e) => [e.topic, e.reason])).toEqual([['', 'invalid-topic'], ['three', 'too-many-topics']])
    expect(of(a, 'pubsub.subscribed').map((e) => e.topic)).toEqual(['one', 'two'])
    expect(of(a, 'pubsub.publish.failed').map((e) => [e.topic, e.reason])).toEqual([['', 'invalid-topic'], ['t', 'invalid-data']])
  })

  it('keeps at most maxTopicsPerPeer of a peer\'s subscriptions', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2, pubsub: { maxTopicsPerPeer: 2 } })
    await connectSim(sim, a, b)
    for (const topic of ['one', 'two', 'three', 'four']) a.subscribe(topic)
    b.subscribe('marker')
    // a's subscriptions reach b before a learns of b's (one frame each way); wait for both and a while more.
    await until(sim, 'a sees b subscribed', () => of(a, 'pubsub.peer.subscribed').length === 1)
    await sim.run({ forMs: 3000 })
    expect(of(b, 'pubsub.peer.subscribed').map((e) => e.topic)).toEqual(['one', 'two'])
  })

  it('a validator\'s ignore drops quietly (the sender stays), reject penalizes it until it is hung up on', async () => {
    const verdicts: Record<number, 'accept' | 'reject' | 'ignore'> = { 0: 'ignore', 1: 'accept', 2: 'reject' }
    const { sim, a, b } = await pair({ pubsub: { validate: ({ data }: { data: Uint8Array }) => verdicts[data[0]] } })
    for (let i = 0; i < 20; i++) a.publish('t', Uint8Array.of(0, i))
    a.publish('t', Uint8Array.of(1))
    await until(sim, 'the accepted message', () => of(b, 'pubsub.message').length > 0)
    expect(of(b, 'pubsub.message').map((e) => e.data[0])).toEqual([1])
    await sim.run({ forMs: 5000 }) // heartbeats: a peer with a low score would be hung up on by now
    expect(b.isConnected(a.peerId)).toBe(true)
    // The same number of rejected messages costs the sender its connection (score below −100).
    for (let i = 0; i < 20; i++) a.publish('t', Uint8Array.of(2, i))
    await until(sim, 'a hung up on', () => of(b, 'peer.disconnected').length > 0)
    expect(of(b, 'peer.disconnected')[0]).toMatchObject({ peer: a.peerId, reason: 'pubsub-low-score' })
    expect(of(b, 'pubsub.message')).toHaveLength(1)
  })

  it('a validation unanswered for validationTimeout counts as ignore: a later accept delivers nothing', async () => {
    const late: Array<(verdict: 'accept') => void> = []
    const { sim, a, b } = await pair({
      pubsub: {
        validationTimeout: 2000,
        validate: ({ data }: { data: Uint8Array }) => (data[0] === 0 ? new Promise<'accept'>((resolve) => late.push(resolve)) : 'accept'),
      },
    })
    a.publish('t', Uint8Array.of(0))
    await until(sim, 'the validator asked', () => late.length === 1)
    await sim.run({ forMs: 4000 }) // past validationTimeout and the heartbeat that expires it
    late[0]('accept')
    a.publish('t', Uint8Array.of(1)) // a marker: once it is delivered, the late answer has been handled
    await until(sim, 'the marker', () => of(b, 'pubsub.message').length > 0)
    await sim.run({ forMs: 1000 })
    expect(of(b, 'pubsub.message').map((e) => e.data[0])).toEqual([1])
  })
})
