/**
 * Model-based test of the mesh membership chart (machines/pubsub/membership.machine.ts), the
 * peer chart the pubsub router steps per (peer, topic). `xstate/graph` walks it: every state is
 * reached and every transition definition taken by a sample event. Then every edge (the
 * shortest path to a state plus one event) is replayed on the real router (a pubsub actor, its
 * functions called with the model's event mapped to what causes it: a GRAFT or PRUNE from the
 * peer, the heartbeat's graft or prune, the peer unsubscribing, time passing), and the pair's
 * entry must be in the model's state, the mesh index must agree, and the frames queued for the
 * peer must be the chart's actions.
 */
import { describe, expect, it } from 'vitest'
import { transition, type AnyMachineSnapshot, type AnyTransitionDefinition } from 'xstate'
import { getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph'
import { handleControl } from '../../machines/pubsub/control.js'
import { tickMembers } from '../../machines/pubsub/members.js'
import { membershipMachine, type MembershipEvent } from '../../machines/pubsub/membership.machine.js'
import { addTopicPeer, graftPeer, prunePeer, removeTopicPeer } from '../../machines/pubsub/mesh.js'
import { scoreBehaviour } from '../../machines/pubsub/score.js'
import type { PubsubContext } from '../../machines/pubsub/state.js'
import { startPubsub, testKey } from '../helpers/pubsub-actor.js'

const T = 'members'
const BACKOFF = 60_000
const AFTER = 'xstate.after.backoff.pubsubMembership.backoff'
const graftReceived = (facts: Partial<Extract<MembershipEvent, { type: 'member.graftReceived' }>> = {}): MembershipEvent =>
  ({ type: 'member.graftReceived', negativeScore: false, subscribed: true, meshFull: false, backoff: BACKOFF, ...facts })
const EVENTS: Array<MembershipEvent | { type: typeof AFTER }> = [
  { type: 'member.graft' },
  graftReceived(),
  graftReceived({ negativeScore: true }),
  graftReceived({ subscribed: false }),
  graftReceived({ meshFull: true }),
  { type: 'member.prune', backoff: BACKOFF },
  { type: 'member.pruneReceived', backoff: BACKOFF },
  { type: 'member.left' },
  { type: AFTER },
]
const options = { events: EVENTS, serializeState: (s: AnyMachineSnapshot) => String(s.value) }

/** A pubsub actor subscribed to T, with one connected peer subscribed to T and outside our mesh. */
function realRouter() {
  const { actor } = startPubsub({ D: 2, Dlo: 2, Dhi: 3, Dout: 1, Dscore: 1 }, testKey('membership-test-0'))
  actor.send({ type: 'pubsub.subscribe', topic: T } as never)
  const peer = testKey('membership-test-1').peerId
  actor.send({ type: 'peer.connected', peer, direction: 'outbound', address: '' } as never)
  actor.send({ type: 'message', peer, body: { sub: [{ t: T, on: true }] } } as never)
  const s = (actor.getSnapshot().context as PubsubContext).s
  const t = s.topics.get(T)!
  const ps = s.peers.get(peer)!
  let now = 0
  // A new subscriber joins a low mesh at once: take it out again (it left and came back).
  removeTopicPeer(s, peer, ps, T, now)
  addTopicPeer(s, peer, ps, T)
  s.out.clear()
  return {
    state: () => t.members.get(peer)?.state ?? 'outside',
    inMesh: () => t.mesh.has(peer),
    /** The control parts queued for the peer by the last event. */
    sent: () => s.out.get(peer) ?? {},
    apply(event: MembershipEvent | { type: typeof AFTER }): void {
      s.out.clear()
      now += 1_000
      switch (event.type) {
        case 'member.graft': return graftPeer(s, T, t, peer, now)
        case 'member.prune': return prunePeer(s, T, t, peer, now, event.backoff)
        case 'member.pruneReceived': return handleControl(s, peer, ps, { prune: [{ t: T, b: event.backoff / 1000 }] }, now)
        case 'member.left':
          removeTopicPeer(s, peer, ps, T, now)
          addTopicPeer(s, peer, ps, T)
          return
        case 'member.graftReceived': {
          // The facts on the model's event, made true of the real peer for this one GRAFT.
          const stats = structuredClone(ps.stats)
          const { Dhi } = s.params
          if (event.negativeScore) scoreBehaviour(ps.stats, 100)
          if (!event.subscribed) ps.topics.delete(T)
          if (event.meshFull) { s.params.Dhi = 0; ps.outbound = false }
          handleControl(s, peer, ps, { graft: [T] }, now)
          ps.stats = stats
          ps.topics.add(T)
          s.params.Dhi = Dhi
          ps.outbound = true
          return
        }
        default:
          now += BACKOFF
          return tickMembers(s, T, t, now)
      }
    },
  }
}

describe('mesh membership chart (per peer and topic)', () => {
  const paths = getShortestPaths(membershipMachine, options as never)
  const adjacency = getAdjacencyMap(membershipMachine, options as never)

  it('reaches every state and takes every transition definition', () => {
    expect(new Set(paths.map((p) => String(p.state.value)))).toEqual(new Set(['outside', 'grafted', 'backoff']))
    const taken = new Set<AnyTransitionDefinition>()
    for (const path of paths) {
      for (const event of EVENTS) {
        for (const def of path.state.machine.getTransitionData(path.state as never, event as never) ?? []) taken.add(def)
      }
    }
    const all = getStateNodes(membershipMachine.root).flatMap((node) => [...node.transitions.values()].flat())
    expect(all.filter((def) => !taken.has(def)).map((def) => `${def.source.id} --${def.eventType}-->`)).toEqual([])
  })

  it('the pubsub router follows the model on every edge, with the frames the actions say', () => {
    let edges = 0
    const head = new Map(paths.map((p) => [String(p.state.value), p.steps.map((s) => s.event).filter((e) => (e.type as string) !== 'xstate.init')]))
    for (const [source, { transitions }] of Object.entries(adjacency)) {
      for (const { event, state: target } of Object.values(transitions) as Array<{ event: MembershipEvent; state: AnyMachineSnapshot }>) {
        const router = realRouter()
        const steps = [...head.get(source)!, event] as MembershipEvent[]
        for (const step of steps) router.apply(step)
        const label = `${source} + ${event.type} ${JSON.stringify(event)}`
        expect(router.state(), label).toBe(String(target.value))
        expect(router.inMesh(), label).toBe(target.value === 'grafted')
        // The last step's actions, and nothing else, reached the wire.
        const [, actions] = transition(membershipMachine, membershipMachine.resolveState({ value: source, context: undefined }), event)
        const names = actions.map((a) => a.type)
        const sent = router.sent()
        expect(sent.graft ?? [], label).toEqual(names.includes('sendGraft') ? [T] : [])
        const prunes = names.includes('sendPrune') || names.includes('refuseGraft') ? [{ t: T, b: BACKOFF / 1000 }] : []
        expect(sent.prune ?? [], label).toEqual(prunes)
        edges++
      }
    }
    expect(edges).toBeGreaterThanOrEqual(20)
  })
})
