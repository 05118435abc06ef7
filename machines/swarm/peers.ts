/**
 * The root's side of the per-peer chart (swarm/peer.machine.ts): the facts its guards judge,
 * read from the registries (swarm/registry.ts), the implementations of its named actions, and
 * the step that keeps each peer's entry in the root's `peers` Map (absent = `disconnected`).
 * @module
 */
import { isAtRest, peerChart } from '../lib/peer-chart.js'
import { Reasons } from '../vocab.js'
import { broadcast, disconnect, type Enqueue } from './announce.js'
import { swarmPeerMachine, type SwarmPeerEvent } from './peer.machine.js'
import {
  awaitingProbeFor, closingOverLimit, connectionsOf, connOf, duplicateWinner, forget, isBound, isProbeable, replacementFor,
  type ConnRecord, type PeerRecord, type SwarmContext,
} from './registry.js'

/** A connection actor's `conn.authenticated` (the root's event the chart's actions read). */
export interface AuthenticatedEvent { type: 'conn.authenticated'; key: string; peer: string; handshakeHash: Uint8Array }
/** A connection actor's `conn.ended`. */
export interface EndedEvent { type: 'conn.ended'; key: string; reason: string }

/** What the chart's actions act on: the root's context and enqueue, the peer, its entry, the root's event. */
interface Step { context: SwarmContext; enqueue: Enqueue; peer: string; entry: PeerRecord; cause: { type: string; key: string } }

/** Tell a connection to close, with a reason (it is then never a replacement). */
export function closeConn(rec: ConnRecord, reason: string, enqueue: Enqueue): void {
  rec.closing = reason
  enqueue.sendTo(rec.ref as never, { type: 'conn.close', reason } as never)
}

const conn = ({ context, cause }: Step): ConnRecord => connOf(context, cause)!

export const swarmPeer = peerChart(swarmPeerMachine, {
  recordAuthentication: (step: Step) => {
    const e = step.cause as AuthenticatedEvent
    const rec = conn(step)
    rec.peer = e.peer
    rec.handshakeHash = e.handshakeHash
  },
  connectPeer: (step: Step) => {
    const { context, enqueue, peer, entry } = step
    const rec = conn(step)
    const { address, direction } = rec
    entry.key = rec.key
    entry.direction = direction
    entry.address = address
    enqueue.emit({ type: 'effect.bind', peer, connId: rec.connId } as never)
    enqueue.sendTo(rec.ref as never, { type: 'conn.accepted' } as never)
    enqueue.emit({ type: 'peer.connected', peer, address, direction } as never)
    broadcast(context, enqueue, { type: 'peer.connected', peer, address, direction })
  },
  acceptConnection: (step: Step) => step.enqueue.sendTo(conn(step).ref as never, { type: 'conn.accepted' } as never),
  moveToNewConnection: (step: Step) => {
    const { context, enqueue, peer, entry } = step
    const rec = conn(step)
    const old = context.conns.get(entry.key)!
    old.closing = Reasons.duplicate
    entry.key = rec.key
    enqueue.emit({ type: 'effect.bind', peer, connId: rec.connId } as never)
    enqueue.sendTo(rec.ref as never, { type: 'conn.accepted' } as never)
    enqueue.sendTo(old.ref as never, { type: 'conn.close', reason: Reasons.duplicate } as never)
  },
  /**
   * The survivor at the per-peer limit takes the place of the peer's oldest connections
   * already closing: they leave the registry now and the shell finishes their close (sent
   * again with their reason, in case their actor had not sent it yet).
   */
  dropClosingOverLimit: ({ context, enqueue, peer }: Step) => {
    for (const rec of closingOverLimit(context, peer)) {
      enqueue.emit({ type: 'effect.close', connId: rec.connId!, reason: rec.closing! } as never)
      forget(context, rec)
      // Stopped after what was queued for it in this macrostep (its `conn.close`).
      enqueue.sendTo(rec.ref as never, { type: 'xstate.stop' } as never)
    }
  },
  closeConnection: (step: Step, params: { reason: string }) => closeConn(conn(step), params.reason, step.enqueue),
  holdForProbe: (step: Step) => {
    const { context, enqueue, entry } = step
    conn(step).awaitingProbe = true
    enqueue.sendTo(context.conns.get(entry.key)!.ref as never, { type: 'conn.probe' } as never)
  },
  refuseHeld: ({ context, enqueue, peer }: Step) => {
    const held = awaitingProbeFor(context, peer)
    if (!held) return
    held.awaitingProbe = false
    closeConn(held, Reasons.duplicate, enqueue)
  },
  moveToHeld: ({ context, enqueue, peer, entry }: Step) => {
    const held = awaitingProbeFor(context, peer)!
    held.awaitingProbe = false
    entry.key = held.key
    enqueue.emit({ type: 'effect.bind', peer, connId: held.connId } as never)
    enqueue.sendTo(held.ref as never, { type: 'conn.accepted' } as never)
  },
  moveToReplacement: ({ context, enqueue, peer, entry }: Step) => {
    const replacement = replacementFor(context, peer)!
    entry.key = replacement.key
    enqueue.emit({ type: 'effect.bind', peer, connId: replacement.connId } as never)
  },
  disconnectPeer: ({ context, enqueue, peer, cause }: Step) => disconnect(context, enqueue, peer, (cause as EndedEvent).reason),
})

/** The facts of a `conn.authenticated` for its peer's chart. */
export function authenticatedFacts(context: SwarmContext, e: AuthenticatedEvent): SwarmPeerEvent {
  const current = context.peers.get(e.peer)
  const bound = current?.key === e.key
  const winner = current === undefined ? 'none' : bound ? 'current' : duplicateWinner(context, e)!
  return {
    type: 'peer.authenticated',
    bound,
    atLimit: connectionsOf(context, e.peer) >= context.limits.maxConnectionsPerPeer,
    winner,
    probeable: winner === 'current' && !bound && isProbeable(context, e.peer),
  }
}

/** The facts of a `conn.ended` for its peer's chart. */
export function endedFacts(context: SwarmContext, rec: ConnRecord, reason: string, closing: boolean): SwarmPeerEvent {
  const bound = isBound(context, rec)
  const keptAnother = reason === Reasons.duplicate || reason === Reasons.tooManyPerPeer
  return {
    type: 'peer.connectionEnded',
    bound,
    held: rec.awaitingProbe === true,
    reason,
    replacement: bound && keptAnother && !closing && replacementFor(context, rec.peer ?? rec.securedPeer!) !== undefined,
    closing,
  }
}

/** Step `peer`'s chart with `event` (caused by the root's `cause`); its entry is kept while it is not at rest. */
export function stepPeer(context: SwarmContext, enqueue: Enqueue, peer: string, event: SwarmPeerEvent, cause: { type: string; key: string }, now: number): void {
  let entry = context.peers.get(peer)
  if (entry === undefined) entry = { ...swarmPeer.start(now, undefined as never), key: '', direction: 'inbound', address: '' }
  swarmPeer.send(entry, event, now, { context, enqueue, peer, entry, cause })
  if (isAtRest(swarmPeer, entry)) context.peers.delete(peer)
  else context.peers.set(peer, entry)
}
