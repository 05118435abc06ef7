/**
 * The actor layer's bounds and timings, with their documented defaults.
 *
 * Everything a peer controls is bounded here (README "Actors" tables them): how much one
 * actor may have waiting, how big an event may be, how many refs it may carry, how many asks
 * and watches may be open. `createSwarm({ actors: { limits, timeouts } })` overrides them.
 * @module
 */
import { resolveBounds } from '../lib/limits.js'

export interface ActorLimits {
  /**
   * Events for one actor handed over in one settle (a peer's frame, or a batch of local
   * sends): its mailbox. Beyond: `overloaded`. Events are handed over as their input is
   * settled, so what waits beyond this waits in the swarm's bounded input queue (sockets are
   * paused when that is full). Default 1024.
   */
  maxMailbox: number
  /** Largest event (estimated encoded bytes) sent to or from an actor. Default 64 KiB. */
  maxEventBytes: number
  /** Actor refs in one event. Default 16. */
  maxRefsPerEvent: number
  /** Asks of this node waiting for a reply. Default 4096. */
  maxPendingAsks: number
  /** Watches one peer may hold on this node's actors. Default 256. */
  maxWatchesPerPeer: number
  /** At-least-once events per (sender, receiver) pair not yet acknowledged. Default 1024. */
  maxUnacked: number
  /** Events waiting for a connection to one peer (while it is dialed). Default 1024. */
  maxQueuedPerPeer: number
  /** (sender, receiver) pairs whose last sequence number is remembered for duplicate detection. Default 4096. */
  maxDedupPairs: number
  /** Actors hosted on this node, including exposed reply refs. Default 10,000. */
  maxActors: number
  /**
   * (sender, receiver) pairs this node keeps at-least-once state for. An idle pair makes room
   * for a new one; when every pair waits for acknowledgements, a send to a new pair fails
   * `overloaded`. Default 4096.
   */
  maxPairs: number
}

export interface ActorTimeouts {
  /** An ask's default timeout, in ms. Default 10 s. */
  ask: number
  /**
   * The longest this node holds a peer's ask to one of its actors open for the reply (ms). An
   * ask carries its asker's timeout, clamped to this; an ask that does not say (an older peer)
   * is held this long. While held, the asking peer's connection counts as needed (protection.ts)
   * and the actor stopping answers `actor-stopped`; after it the reply slot is dropped (a reply
   * sent later still goes, and the asker, whose ask has timed out, ignores it). Default 5 min.
   */
  askHold: number
  /** How long an unreachable watched actor's node may stay away before `actor.down`. Default 3 s. */
  watchGrace: number
  /** First redial delay for a peer with unacknowledged at-least-once events (doubles up to `redialMax`). Default 500 ms. */
  redialMin: number
  /** Longest redial delay. Default 30 s. */
  redialMax: number
  /** An at-least-once pair with nothing unacknowledged is forgotten 1-2 times this after its last use. Default 30 s. */
  pairIdle: number
  /** A lookup's default timeout, in ms (at most 600 s). Default 10 s. */
  lookup: number
  /**
   * A connected peer with actor traffic is protected from discovery's connection manager (tag
   * `actors`) until no actor frame has gone to it or come from it for this long (ms) and nothing
   * still needs its connection (protection.ts): it is unprotected 1-1.5 times this after its
   * last frame. An integer in 100 ms..1 day. Default 60 s.
   */
  protectIdle: number
}

export const DEFAULT_ACTOR_LIMITS: Readonly<ActorLimits> = Object.freeze({
  maxMailbox: 1024,
  maxEventBytes: 64 * 1024,
  maxRefsPerEvent: 16,
  maxPendingAsks: 4096,
  maxWatchesPerPeer: 256,
  maxUnacked: 1024,
  maxQueuedPerPeer: 1024,
  maxDedupPairs: 4096,
  maxActors: 10_000,
  maxPairs: 4096,
})

export const DEFAULT_ACTOR_TIMEOUTS: Readonly<ActorTimeouts> = Object.freeze({
  ask: 10_000,
  askHold: 300_000,
  watchGrace: 3_000,
  redialMin: 500,
  redialMax: 30_000,
  pairIdle: 30_000,
  lookup: 10_000,
  protectIdle: 60_000,
})

/** Bounds of `timeouts.protectIdle` (ms): a sweep every 50 ms at the least, once a day at the most. */
const MIN_PROTECT_IDLE = 100
const MAX_PROTECT_IDLE = 86_400_000

export interface ActorSettings { limits: ActorLimits; timeouts: ActorTimeouts }

/** Merge overrides into the defaults (RangeError/TypeError name the bad field). */
export function resolveActorSettings(options: { limits?: Partial<ActorLimits>; timeouts?: Partial<ActorTimeouts> } = {}): ActorSettings {
  const timeouts = resolveBounds(DEFAULT_ACTOR_TIMEOUTS, options.timeouts, 'actors.timeouts')
  const { protectIdle } = timeouts
  // Its sweep runs every half of it (protection.ts): a whole number of ms, and a timer Node can arm.
  if (!Number.isInteger(protectIdle) || protectIdle < MIN_PROTECT_IDLE || protectIdle > MAX_PROTECT_IDLE) {
    throw new RangeError(`"actors.timeouts.protectIdle" expected an integer number of ms in ${MIN_PROTECT_IDLE}..${MAX_PROTECT_IDLE}, got ${String(protectIdle)}`)
  }
  return { limits: resolveBounds(DEFAULT_ACTOR_LIMITS, options.limits, 'actors.limits'), timeouts }
}
