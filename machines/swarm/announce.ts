/**
 * How the root tells the user and the protocols what happened to peers and dials: the same
 * fact emitted as a swarm event and queued for every protocol actor, in order with the other
 * emits of the same action (both go through XState's deferred path).
 * @module
 */
import { Reasons } from '../vocab.js'
import { CRASHED, type SwarmContext } from './registry.js'

/** The `enqueue` of an `enqueueActions` callback, as far as these helpers use it. */
export type Enqueue = { sendTo: (ref: never, event: never) => void; emit: (event: never) => void }

/** Queue `event` for every protocol actor, in order with the emits of the same action. */
export function broadcast(context: SwarmContext, enqueue: Enqueue, event: { type: string } & Record<string, unknown>): void {
  for (const ref of context.protocolRefs.values()) {
    if (ref.getSnapshot().status === 'active') enqueue.sendTo(ref as never, event as never)
  }
}

/** Emit a `dial.failed` to the user and to every protocol. */
export function dialFailed(context: SwarmContext, enqueue: Enqueue, address: string, reason: string, peer?: string): void {
  const failure = { type: 'dial.failed', address, reason, ...(peer ? { peer } : {}) }
  enqueue.emit(failure as never)
  broadcast(context, enqueue, failure)
}

/**
 * Reasons an inbound connection ends without being a refusal: a duplicate resolved, a swarm
 * closing, its own actor failing (already reported as `swarm.error` `connection-failed`).
 */
const NOT_REFUSALS: ReadonlySet<string> = new Set([Reasons.duplicate, Reasons.swarmClosed, CRASHED])

/** Whether an inbound connection that ended for `reason` before it authenticated counts as refused. */
export function isRefusal(reason: string): boolean {
  return !NOT_REFUSALS.has(reason)
}

/** An inbound connection was refused: the refusals actor reports it to the user, rate-limited. */
export function reportRefused(context: SwarmContext, enqueue: Enqueue, address: string, reason: string): void {
  if (context.refusals && isRefusal(reason)) enqueue.sendTo(context.refusals as never, { type: 'refused', address, reason } as never)
}

/** The peer is gone: unbind it and tell the user and every protocol. */
export function disconnect(context: SwarmContext, enqueue: Enqueue, peer: string, reason: string): void {
  context.peers.delete(peer)
  enqueue.emit({ type: 'effect.bind', peer, connId: undefined } as never)
  enqueue.emit({ type: 'peer.disconnected', peer, reason } as never)
  broadcast(context, enqueue, { type: 'peer.disconnected', peer, reason })
}
