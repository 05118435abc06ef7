/**
 * The live page's hub shows the per-peer chart entries of the root (swarmPeer: connected) and of
 * a protocol (ping's ready/awaitingPong) as cards below their actor, drawn with that chart, and a
 * card stops when its peer disconnects. (The page itself is tested in Chromium: live-page.test.ts.)
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createElk } from '../../src/charts/elk.js'
import { createSimulation } from '../../src/testing/simulation.js'
import { UiHub, type UiMessage } from '../../src/ui/hub.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

type Actor = Extract<UiMessage, { t: 'actor' }>

describe('live page hub: per-peer charts', () => {
  it('each connected peer of the ping protocol is a card with the pingPeer chart and its state; pubsub mesh members too', async () => {
    const hub = new UiHub(createElk())
    const sent: UiMessage[] = []
    hub.subscribe((m) => sent.push(m))
    const sim = createSimulation()
    const nodeA = hub.node('a')
    const a = await createSimTestSwarm(sim, { seed: 1, ping: { interval: 1000 }, inspect: nodeA.inspect })
    const b = await createSimTestSwarm(sim, { seed: 2, ping: { interval: 1000 } })
    await connectSim(sim, a, b)
    await sim.run({ forMs: 3_000 })
    const cards = sent.filter((m): m is Actor => m.t === 'actor' && m.id === 'pingPeer')
    expect(cards.length).toBeGreaterThanOrEqual(2)
    const ping = sent.find((m): m is Actor => m.t === 'actor' && m.systemId === 'protocol:/xswarm/ping/1')!
    for (const card of cards) {
      expect(card.parent).toBe(ping.session)
      expect(['ready', 'awaitingPong']).toContain(card.value)
      expect((card.context as { peer: string }).peer).toBe(b.peerId)
      expect(card.chart).toMatch(/^pingPeer#/)
    }
    expect(new Set(cards.map((c) => c.value))).toEqual(new Set(['ready', 'awaitingPong']))
    // The chart it is drawn with is laid out for the page.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(sent.some((m) => m.t === 'chart' && m.key === cards[0].chart)).toBe(true)

    // Pubsub's mesh membership: a and b share a topic, so each has the other in its mesh.
    a.subscribe('cards')
    b.subscribe('cards')
    await sim.run({ until: () => sent.some((m) => m.t === 'actor' && m.id === 'pubsubMembership' && m.value === 'grafted'), forMs: 5_000 })
    const member = sent.find((m): m is Actor => m.t === 'actor' && m.id === 'pubsubMembership')!
    expect((member.context as { peer: string }).peer).toBe(b.peerId)
    expect(member.parent).toBe(sent.find((m): m is Actor => m.t === 'actor' && m.systemId === 'protocol:/xswarm/pubsub/1')!.session)

    void b.close()
    await sim.run({ until: () => eventsOf(a).some((e) => e.type === 'peer.disconnected'), forMs: 10_000 })
    const last = sent.filter((m): m is Actor => m.t === 'actor' && m.id === 'pingPeer').at(-1)!
    expect(last.status).toBe('stopped')
  })

  it("the root's peer chart: one card per connected peer below the root, stopped when the peer disconnects", async () => {
    const hub = new UiHub(createElk())
    const sent: UiMessage[] = []
    hub.subscribe((m) => sent.push(m))
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 3, inspect: hub.node('a').inspect })
    const b = await createSimTestSwarm(sim, { seed: 4 })
    const c = await createSimTestSwarm(sim, { seed: 5 })
    await connectSim(sim, a, b)
    await connectSim(sim, a, c)
    await sim.run({ forMs: 1_000 })
    const root = sent.find((m): m is Actor => m.t === 'actor' && m.systemId === 'swarm')!
    const peerCards = () => sent.filter((m): m is Actor => m.t === 'actor' && m.id === 'swarmPeer')
    const latest = (peer: string) => peerCards().filter((m) => (m.context as { peer: string }).peer === peer).at(-1)
    for (const peer of [b.peerId, c.peerId]) {
      const card = latest(peer)!
      expect(card.parent).toBe(root.session)
      expect(card.value).toBe('connected')
      expect(card.status).toBe('active')
      expect(card.chart).toMatch(/^swarmPeer#/)
      expect(card.context).toMatchObject({ peer, direction: 'outbound' })
    }
    // A card is sent when its entry changes, not on every snapshot of the root.
    const before = peerCards().length
    await sim.run({ forMs: 2_000 })
    expect(peerCards().length).toBe(before)

    void b.close()
    await sim.run({ until: () => eventsOf(a).some((e) => e.type === 'peer.disconnected'), forMs: 10_000 })
    expect(latest(b.peerId)!.status).toBe('stopped')
    expect(latest(c.peerId)!.status).toBe('active')
  })
})
