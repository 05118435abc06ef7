/**
 * The actor layer's state and vocabulary: what its protocol actor holds, hears and says.
 *
 * Chart and data: the protocol actor's chart (actors.machine.ts) shows its life (active →
 * closed) and its one protection sweep, and names every handler; the per-item state below is
 * data in Maps (one entry per hosted actor, pending ask, watch, peer, protected peer and
 * sender/receiver pair), because an actor per item would cost more than the items
 * themselves. Each handler (outbound.ts, inbound.ts, watch.ts, supervision.ts, protection.ts)
 * updates this context and returns `Out` items, which the machine performs as `emit`,
 * `sendTo(swarm)` or delayed self-events (its timers, through the swarm's clock).
 * @module
 */
import type { ProtocolInput } from '../lib/protocol.js'
import { createDrbg, drbgBytes } from '../lib/rng.js'
import type { ActorAddress } from './address.js'
import type { ActorMessage, RefPath } from './wire.js'
import type { ActorSettings } from './options.js'
import type { PeerChartEntry } from '../lib/peer-chart.js'

export const ACTORS_ID = '/xswarm/actors/1'

/**
 * Who may send to a hosted actor besides its own node and the peers it was granted to: nobody
 * else, anyone, or whoever the user's function accepts (run by the shell).
 */
export type AcceptPolicy = 'local' | 'any' | 'custom'

/** Restart policy of a hosted actor (normalized by the shell). */
export interface Supervise { restart: 'on-error' | 'never'; maxRestarts: number; withinMs: number; backoffMs: number }

export interface Hosted {
  accept: AcceptPolicy
  /**
   * Peers that may reach it whatever `accept` says: those a ref to it was sent to (a reply
   * ref is a capability), the peers the user listed, and the peer that spawned it. Bounded.
   */
  granted: Set<string>
  /** Events handed over in the settle being run (the mailbox bound counts these; see options.ts). */
  mailbox: number
  supervise?: Supervise
  /** Input times of the restarts within the window. */
  restartTimes: number[]
  restarts: number
  /** Waiting for its restart (events to it are refused with `actor-stopped`). */
  restarting: boolean
  /**
   * Ask slots (`peer\0~a<n>`) it was asked through and has not answered, each with the
   * protection sweep from which it is dropped (the asker stopped waiting; protection.ts).
   */
  asked: Map<string, number>
}

/**
 * One event handed to the shell to deliver (the `deliver` call's argument), kept until the
 * call's answer says what became of it. `check`: the shell runs the actor's accept function first.
 */
export interface Delivery { name: string; peer: string; from: string; seq: number; epoch: number; trace: string; event: { type: string }; refs: RefPath[]; check: boolean }

/** What the shell is running for the machine, until its `call.done`. */
export type PendingCall =
  | { kind: 'deliver'; items: Delivery[] }
  | { kind: 'restart'; name: string }
  | { kind: 'spawn'; name: string; peer: string; reqId: number }

export interface PendingAsk { peer: string; name: string; address: string; /** Input time after which it ends `timeout`. */ deadline: number }

/** What this node sends one (sender actor, receiver actor) pair at least once (its life: pair.machine.ts, pairs.ts). */
/** A pair's at-least-once state: the entry of its delivery chart (pair.machine.ts, `state`), and its data. */
export interface OutPair extends PeerChartEntry {
  peer: string
  node: string
  to: string
  from: string
  seq: number
  /** This pair's epoch: receivers key duplicate detection by it (a pair made again starts afresh). */
  epoch: number
  unacked: Map<number, ActorMessage>
  /** The highest sequence number sent when the resend timer last looked (its `resendPeriod` in pair.machine.ts). */
  sentAtLastLook: number
}

/** A remote peer as the sender sees it. */
export interface PeerLink {
  /** Messages waiting for a connection (in order). */
  waiting: ActorMessage[]
  /** An address to dial it by. */
  node: string
  dialing: boolean
  /** Next redial delay (at-least-once backoff). */
  redialDelay: number
  /** In the watch grace period after a disconnect. */
  inGrace: boolean
}

/**
 * A watch this node holds: for the user (its end is an event on the swarm's stream), or for a
 * local actor `by` (its end is delivered to that actor as an event, with the watch's trace).
 */
export interface Watching { address: string; peer: string; name: string; by?: string; trace?: string }

export interface ActorsContext extends ActorSettings {
  peerId: string
  /** This node's address (actor addresses are `<node>/actor/<name>`). */
  node: string
  /** This incarnation: receivers key duplicate detection by it, so a restarted sender starts afresh. */
  epoch: number
  closing: boolean
  connected: Set<string>
  /**
   * Connected peers with actor traffic, protected from discovery's connection manager (tag
   * `actors`; a connection discovery opened for a lookup is otherwise closed once the lookup is
   * done, under the asks and sends that came to use it), each with the number of protection
   * sweeps done when a frame last went to it or came from it (protection.ts).
   */
  protectedPeers: Map<string, number>
  /** Protection sweeps done so far (the clock of `protectedPeers`; the chart's `protectionSweep`). */
  protectionSweeps: number
  hosted: Map<string, Hosted>
  calls: Map<number, PendingCall>
  callSeq: number
  asks: Map<number, PendingAsk>
  /** When the one ask timer is due (`undefined`: not armed); see `onAsksDue` in outbound.ts. */
  askTimerAt: number | undefined
  /** Per peer, while something needs it (`releaseLink` in outbound.ts forgets it): bounded by the peers connected, dialed, in a watch grace period or owed acknowledgements. */
  links: Map<string, PeerLink>
  pairs: Map<string, OutPair>
  /** Pairs made so far (each gets a pair epoch of its own). */
  pairsMade: number
  /** The pair sweep is scheduled. */
  sweeping: boolean
  /** `peer\0epoch\0from\0to` → last sequence number delivered (bounded, oldest forgotten first). */
  dedup: Map<string, number>
  watching: Map<number, Watching>
  /** `by\0address` → watchId: an actor watches an address once (watching again is a no-op). */
  actorWatches: Map<string, number>
  /** name → `peer\0watchId` → watcher. */
  watchers: Map<string, Map<string, { peer: string; watchId: number }>>
  watchCount: Map<string, number>
  /** `peer\0watchId` → the watched name (to find a watcher by its id). */
  watcherNames: Map<string, string>
  /** spawnOn requests of this node: reqId → the target. */
  spawns: Map<number, { peer: string; name: string; node: string }>
  /** Addresses this node sent to, parsed (bounded; see `targetOf` in outbound.ts). */
  targets: Map<string, ActorAddress>
  /** Logic names this node offers to peers (spawnOn), and who may use them (`undefined`: any peer that can connect). */
  offered: string[]
  spawnPeers?: string[]
}

/** What a handler asks the machine to do. */
export type Out =
  | { kind: 'emit'; event: { type: string } & Record<string, unknown> }
  /** One message for a connected peer (its wire tuple): all of one settle to one peer leave together. */
  | { kind: 'wire'; peer: string; message: unknown[]; /** Its estimated size, when known (else estimated when framed). */ bytes?: number }
  /** An event for a local actor: all of one settle go to the shell in one `deliver` call. */
  | { kind: 'deliver'; item: Delivery }
  | { kind: 'swarm'; event: { type: string } & Record<string, unknown> }
  /** A command for the discovery protocol (provider records of announced actors; dropped when discovery is off). */
  | { kind: 'discovery'; event: { type: 'discovery.provide' | 'discovery.unprovide'; key: Uint8Array } | { type: 'discovery.protect' | 'discovery.unprotect'; peer: string; tag: 'actors' } }
  | { kind: 'later'; event: ActorsTimerEvent; delay: number; id: string }
  | { kind: 'cancel'; id: string }

/** The layer's own timers (delayed events to itself). */
export type ActorsTimerEvent =
  /** The one ask timer: asks past their deadline end (outbound.ts). */
  | { type: 'actors.askTimeout'; at: number }
  | { type: 'actors.graceOver'; peer: string }
  | { type: 'actors.redial'; peer: string }
  /** A pair's chart timer (its `after`, pair.machine.ts) is due: `event` is the chart's own. */
  | { type: 'actors.pairDue'; key: string; epoch: number; event: string }
  | { type: 'actors.restart'; name: string }
  | { type: 'actors.sweep' }

/** A send with its refs already turned into addresses by the shell. */
export interface SendCommand {
  type: 'actors.send'
  to: string
  from: string
  event: { type: string }
  refs: RefPath[]
  trace: string
  delivery: 'at-most-once' | 'at-least-once'
  /** Local actors whose refs are in the event: the receiving peer may reach them from now on. */
  expose: string[]
}

/** Commands from the shell (`swarm.command(ACTORS_ID, …)`), one by one or batched (`actors.batch`). */
export type ActorsCommand =
  | { type: 'actors.batch'; commands: ActorsCommand[] }
  | SendCommand
  | { type: 'actors.ask'; askId: number; to: string; event: { type: string }; refs: RefPath[]; trace: string; timeout: number; expose: string[] }
  | { type: 'actors.host'; name: string; accept: AcceptPolicy; granted: string[]; supervise?: Supervise }
  | { type: 'actors.exited'; name: string; reason: 'stopped' | 'done' | 'error' }
  | { type: 'actors.failed'; name: string }
  /** A watch for the user, or (`by`: a local actor's name) for that actor, which gets its end as an event. */
  | { type: 'actors.watch'; watchId: number; address: string; by?: string; trace?: string }
  | { type: 'actors.unwatch'; watchId: number }
  /** Local actor `by` stops watching `address`. */
  | { type: 'actors.unwatchBy'; by: string; address: string }
  | { type: 'actors.spawnOn'; reqId: number; node: string; peer: string; logic: string; name: string; input: unknown }
  /** Discovery restarted with empty state: announce the announced actors again, protect the protected peers again. */
  | { type: 'actors.reprovide' }
  /** This protocol actor was restarted with empty state: take over the protections discovery may hold for the one before (protection.ts). */
  | { type: 'actors.adoptProtections' }

/** User-visible events (and `actors.answer`, which the shell keeps to settle asks and spawnOn). */
export type ActorsUserEvent =
  | { type: 'actor.down'; address: string; reason: string }
  | { type: 'actor.restarted'; address: string; restarts: number }
  | { type: 'actor.undelivered'; address: string; from: string; reason: string }
  | { type: 'actors.answer'; askId: number; event?: { type: string }; refs?: RefPath[]; peer?: string; trace?: string; code?: string }
  | { type: 'actors.spawned'; reqId: number; address?: string; code?: string }
  /** A hosted actor is gone for good: the shell forgets it (its name is free again). */
  | { type: 'actors.released'; name: string }

/**
 * The shell's answer to a `deliver` call: each event's outcome (`ok` or a code), and the
 * commands the actors queued while handling them (at most one batch), so that an actor's
 * reply leaves with the answer instead of waiting for an input of its own.
 */
export interface DeliverAnswer { results: string[]; commands: ActorsCommand[] }

export function isDeliverAnswer(value: unknown): value is DeliverAnswer {
  return typeof value === 'object' && value !== null && Array.isArray((value as DeliverAnswer).results) && Array.isArray((value as DeliverAnswer).commands)
}

/** Settings and offered logic, passed to the machine as protocol options. */
export interface ActorsProtocolOptions extends ActorSettings { offered: string[]; spawnPeers?: string[] }

export function createContext(input: ProtocolInput<ActorsProtocolOptions>): ActorsContext {
  const bytes = drbgBytes(createDrbg(input.seed), 4)
  const epoch = (((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0) || 1
  return {
    limits: input.options.limits,
    timeouts: input.options.timeouts,
    offered: input.options.offered,
    spawnPeers: input.options.spawnPeers,
    peerId: input.peerId,
    node: input.addresses[0] ?? `/p2p/${input.peerId}`,
    epoch,
    closing: false,
    connected: new Set(),
    protectedPeers: new Map(),
    protectionSweeps: 0,
    hosted: new Map(),
    calls: new Map(),
    callSeq: 0,
    asks: new Map(),
    askTimerAt: undefined,
    links: new Map(),
    pairs: new Map(),
    pairsMade: 0,
    sweeping: false,
    dedup: new Map(),
    watching: new Map(),
    actorWatches: new Map(),
    watchers: new Map(),
    watchCount: new Map(),
    watcherNames: new Map(),
    spawns: new Map(),
    targets: new Map(),
  }
}

/** The link state of a peer, created on first use. */
export function linkOf(ctx: ActorsContext, peer: string, node?: string): PeerLink {
  let link = ctx.links.get(peer)
  if (!link) {
    link = { waiting: [], node: node ?? `/p2p/${peer}`, dialing: false, redialDelay: ctx.timeouts.redialMin, inGrace: false }
    ctx.links.set(peer, link)
  } else if (node !== undefined && node.includes('://')) {
    link.node = node
  }
  return link
}
