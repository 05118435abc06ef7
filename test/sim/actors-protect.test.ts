/**
 * The actor layer and discovery together: a connected peer this node sends actor frames to is
 * protected from discovery's connection manager (tag `actors`), so a connection discovery opened
 * for a lookup is not closed under the asks that came to use it; the protection ends when the
 * peer disconnects, or once it has been idle for `protectIdle` with nothing needing its
 * connection (a watch does), and then discovery trims it. A peer that only sends one-way events
 * to us is not protected by that (it protects us).
 */
import { describe, expect, it } from 'vitest'
import { assign, sendTo, setup, type AnyActorRef } from 'xstate'
import { DEFAULT_ACTOR_TIMEOUTS } from '../../machines/actors/options.js'
import { createSimulation } from '../../src/testing/simulation.js'
import { startProtectingSwarms } from '../helpers/discovery-tags.js'
import { simOutcome } from '../helpers/swarm-test.js'

const counter = setup({ types: { context: {} as { n: number } } }).createMachine({
  context: { n: 0 },
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: sendTo(({ event }) => (event as unknown as { replyTo: AnyActorRef }).replyTo, ({ context }) => ({ type: 'count', n: context.n })) },
  },
})

const IDLE = DEFAULT_ACTOR_TIMEOUTS.protectIdle

/**
 * 0: the hub everyone bootstraps from; 1: the client, allowed 2 connections (trimmed to 1);
 * 2 and 3: hosts of an actor each. The client finds both actors by name, asks the one and
 * watches the other, over the connections its lookups opened.
 */
async function findAskAndWatch() {
  const sim = createSimulation({ seed: 3 })
  const started = await startProtectingSwarms(sim, 4, 740, (i, before) =>
    i === 0 ? {} : { bootstrap: [before[0].addresses[0]], discovery: i === 1 ? { lowWatermark: 1, highWatermark: 2 } : { lowWatermark: 1 } })
  const [, client, idleHost, watchedHost] = started.swarms
  idleHost.actors.spawn(counter, { name: 'asked', accept: 'any' })
  watchedHost.actors.spawn(counter, { name: 'watched', accept: 'any' })
  await sim.run({ forMs: 20_000 }) // bootstrap walks and announcements done, their lookup connections closed

  const [asked] = (await simOutcome(sim, client.actors.lookup('asked'))).value!
  const [watched] = (await simOutcome(sim, client.actors.lookup('watched'))).value!
  const viaLookup = [idleHost, watchedHost].map((h) => started.isLookupConnection(1, h.peerId))
  const reply = await simOutcome(sim, client.actors.ask(asked, { type: 'get' }))
  const lastTraffic = sim.now()
  const seen = started.events[1].length
  client.actors.watch(watched)
  await sim.run({ forMs: 100 })
  return { ...started, sim, client, idleHost, watchedHost, asked, viaLookup, reply, lastTraffic, seen }
}

describe('peers with actor traffic are protected in discovery', () => {
  it('protects the peer we send to with the actors tag, and withdraws it when it disconnects', async () => {
    const sim = createSimulation()
    const { swarms: [a, b], tags } = await startProtectingSwarms(sim, 2, 700)
    const hosted = a.actors.spawn(counter, { name: 'counter', accept: 'any' })
    b.dial(a.addresses[0])
    await sim.run({ until: () => b.isConnected(a.peerId), forMs: 5_000 })
    expect(tags(1, a.peerId)).not.toContain('actors')

    b.actors.ref(hosted.address).send({ type: 'inc' })
    await sim.run({ until: () => hosted.ref.getSnapshot().context.n === 1, forMs: 5_000 })
    expect(hosted.ref.getSnapshot().context.n).toBe(1)
    expect(tags(1, a.peerId)).toContain('actors')
    expect(tags(0, b.peerId)).not.toContain('actors')

    b.hangUp(a.peerId)
    await sim.run({ until: () => !b.isConnected(a.peerId), forMs: 5_000 })
    await sim.run({ forMs: 100 })
    expect(tags(1, a.peerId)).not.toContain('actors')
  })

  it('a restarted actors protocol takes over the protections of the one before, and ends them once idle', async () => {
    const sim = createSimulation()
    const { swarms: [a, b], events, tags } = await startProtectingSwarms(sim, 2, 720)
    const hosted = a.actors.spawn(counter, { name: 'counter', accept: 'any' })
    b.dial(a.addresses[0])
    await sim.run({ until: () => b.isConnected(a.peerId), forMs: 5_000 })
    b.actors.ref(hosted.address).send({ type: 'inc' })
    await sim.run({ until: () => hosted.ref.getSnapshot().context.n === 1, forMs: 5_000 })
    expect(tags(1, a.peerId)).toContain('actors')

    b.command('/xswarm/actors/1', { type: 'actors.batch', commands: null } as never) // makes it throw
    await sim.run({ until: () => events[1].some((e) => e.type === 'protocol.restarted'), forMs: 1_000 })
    expect(events[1].filter((e) => e.type === 'protocol.restarted')).toMatchObject([{ protocol: '/xswarm/actors/1' }])
    expect(tags(1, a.peerId)).toContain('actors')
    await sim.run({ forMs: 1.5 * IDLE + 1_000 })
    expect(b.isConnected(a.peerId)).toBe(true)
    expect(tags(1, a.peerId), 'not protected for good by the actor before the restart').not.toContain('actors')
  })

  it('an ask the actor never answers: the asker times out, and the host stops protecting the asker once idle', async () => {
    const sim = createSimulation()
    const { swarms: [a, b], tags } = await startProtectingSwarms(sim, 2, 730)
    const silent = a.actors.spawn(counter, { name: 'silent', accept: 'any' }) // ignores 'ping'
    b.dial(a.addresses[0])
    await sim.run({ until: () => b.isConnected(a.peerId), forMs: 5_000 })

    const asked = await simOutcome(sim, b.actors.ask(b.actors.ref(silent.address), { type: 'ping' }, { timeout: 2_000 }))
    expect(asked.error?.code).toBe('timeout')
    expect(tags(0, b.peerId), 'the ask protects the asker on the host').toContain('actors')

    await sim.run({ forMs: 1.5 * IDLE + 1_000 })
    expect(a.isConnected(b.peerId)).toBe(true)
    expect(tags(0, b.peerId), 'the reply slot expired with the asker\'s timeout').not.toContain('actors')
    expect(tags(1, a.peerId)).not.toContain('actors')
  })

  it('an idle peer found by a lookup is trimmed after protectIdle; a watched one keeps its connection', async () => {
    const { sim, client, idleHost, watchedHost, asked, events, tags, viaLookup, reply, lastTraffic, seen } = await findAskAndWatch()
    expect(reply.value).toMatchObject({ type: 'count', n: 0 })
    expect(viaLookup, 'the client reached both hosts over connections its lookups opened').toEqual([true, true])
    expect(tags(1, idleHost.peerId)).toContain('actors')
    expect(tags(1, watchedHost.peerId)).toContain('actors')

    // Above its high watermark (hub, two hosts), the client trims every tick; both hosts stay while protected.
    await sim.run({ forMs: IDLE - 5_000 })
    expect([client.isConnected(idleHost.peerId), client.isConnected(watchedHost.peerId)]).toEqual([true, true])

    const gone = await sim.run({ until: () => !client.isConnected(idleHost.peerId), forMs: IDLE })
    expect(gone.satisfied, 'the idle host is trimmed once its protection ends').toBe(true)
    expect(sim.now() - lastTraffic).toBeGreaterThanOrEqual(IDLE)
    expect(events[1].slice(seen).filter((e) => e.type === 'peer.disconnected')).toEqual([{ type: 'peer.disconnected', peer: idleHost.peerId, reason: 'trimmed' }])
    expect(tags(1, idleHost.peerId)).not.toContain('actors')

    // The watched host keeps its connection (no spurious actor.down), protected on both sides.
    await sim.run({ forMs: 2 * IDLE })
    expect(client.isConnected(watchedHost.peerId)).toBe(true)
    expect(tags(1, watchedHost.peerId)).toContain('actors')
    expect(tags(3, client.peerId)).toContain('actors')
    const aboutWatched = events[1].slice(seen).filter((e) => e.type === 'actor.down' || (e.type === 'peer.disconnected' && e.peer === watchedHost.peerId))
    expect(aboutWatched).toEqual([])

    // Traffic after that protects the idle host again.
    expect((await simOutcome(sim, client.actors.ask(asked, { type: 'get' }))).value).toMatchObject({ type: 'count', n: 0 })
    expect(tags(1, idleHost.peerId)).toContain('actors')
  }, 60_000)

  it('the same seed trims the idle host at the same virtual time, after the same events', async () => {
    const runs = []
    for (let i = 0; i < 2; i++) {
      const { sim, client, idleHost, events } = await findAskAndWatch()
      await sim.run({ until: () => !client.isConnected(idleHost.peerId), forMs: 2 * IDLE })
      runs.push({ at: sim.now(), events: JSON.stringify(events[1]) })
    }
    expect(runs[1]).toEqual(runs[0])
  }, 60_000)
})
