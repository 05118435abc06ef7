/**
 * The router's side of the membership chart (membership.machine.ts): the implementations of
 * its named actions, and the steps that keep each topic's `members` entries and its `mesh`
 * index in agreement. A (peer, topic) pair with no entry is `outside` with nothing pending; an
 * entry back there is forgotten, so `members` holds only mesh members and backoffs.
 * @module
 */
import { isAtRest, peerChart, tickPeerChart, type PeerChartEntry } from '../lib/peer-chart.js'
import { membershipMachine, type MembershipEvent } from './membership.machine.js'
import { scoreBehaviour, scoreGraft, scorePrune } from './score.js'
import { queue, type RouterState, type TopicState } from './state.js'

/** What the membership chart's actions act on. */
interface Pair { s: RouterState; topic: string; peer: string; now: number }

/** A PRUNE to the pair's peer, advertising the event's backoff in whole seconds. */
function prune({ s, topic, peer }: Pair, _params: unknown, event: { type: string }): void {
  const ms = (event as { backoff?: number }).backoff ?? s.params.pruneBackoff
  queue(s, peer, 'prune', { t: topic, b: Math.ceil(ms / 1000) })
}

export const membership = peerChart(membershipMachine, {
  recordGraft: ({ s, topic, peer, now }: Pair) => {
    const ps = s.peers.get(peer)
    if (ps) scoreGraft(ps.stats, topic, now)
  },
  recordPrune: ({ s, topic, peer, now }: Pair) => {
    const ps = s.peers.get(peer)
    if (ps) scorePrune(ps.stats, topic, s.params.score, now)
  },
  sendGraft: ({ s, topic, peer }: Pair) => queue(s, peer, 'graft', topic),
  sendPrune: prune,
  refuseGraft: prune,
  penalize: ({ s, peer }: Pair) => {
    const ps = s.peers.get(peer)
    if (ps) scoreBehaviour(ps.stats)
  },
})

/** The pair's backoff left at `now` in ms (0 when none). */
export function backoffLeft(t: TopicState, peer: string, now: number): number {
  const entry = t.members.get(peer)
  if (entry?.state !== 'backoff' || !entry.timers) return 0
  return Math.max(0, entry.timers[0].at - now)
}

/** Whether the pair is in backoff at `now` (a backoff due but not yet delivered counts as over). */
export function inBackoff(t: TopicState, peer: string, now: number): boolean {
  return backoffLeft(t, peer, now) > 0
}

function store(t: TopicState, peer: string, entry: PeerChartEntry): void {
  if (entry.state === 'grafted') t.mesh.add(peer)
  else t.mesh.delete(peer)
  if (isAtRest(membership, entry)) t.members.delete(peer)
  else t.members.set(peer, entry)
}

/** Step the (peer, topic) pair's chart with `event` (due backoffs delivered first). */
export function stepMember(s: RouterState, topic: string, t: TopicState, peer: string, event: MembershipEvent, now: number): void {
  const pair: Pair = { s, topic, peer, now }
  const entry = t.members.get(peer) ?? membership.start(now, pair)
  tickPeerChart(membership, entry, now, pair)
  membership.send(entry, event, now, pair)
  store(t, peer, entry)
}

/** Heartbeat: deliver the backoffs of `topic` that are due (their pairs go back `outside`). */
export function tickMembers(s: RouterState, topic: string, t: TopicState, now: number): void {
  for (const [peer, entry] of t.members) {
    if (entry.timers && entry.timers[0].at <= now && tickPeerChart(membership, entry, now, { s, topic, peer, now })) store(t, peer, entry)
  }
}
