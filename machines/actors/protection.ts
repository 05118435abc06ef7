/**
 * Which connected peers the actor layer protects from discovery's connection manager (tag
 * `actors`), and when that ends.
 *
 * A connection discovery opened for a lookup is closed once the lookup is done, and any
 * connection may be trimmed above the watermarks; asks and watches that came to use it would
 * end `peer-disconnected`. So a peer is protected while it has actor traffic with this node:
 * from the first frame this node sends it, or the first frame from it that asks something of
 * this node (an ask, an at-least-once event, a watch, a spawn request; a plain one-way event
 * does not: its sender protects the connection on its side). The protection ends once no actor
 * frame has gone to the peer or come from it for `timeouts.protectIdle` (default 60 s) and
 * nothing still needs the connection (`needsConnection`), or when the peer disconnects. Traffic
 * after that protects it again.
 *
 * The default, 60 s: above the layer's own rhythms (an ask's 10 s timeout, the 30 s of
 * `pairIdle` and `redialMax`) and discovery's 30 s grace period for new connections, so a peer
 * used every few seconds or tens of seconds keeps its connection instead of being dialed and
 * handshaken again each time; short enough that a node that talked to many peers is back to its
 * watermarks a minute or two after the talk ends (without it, it kept them up to
 * `maxConnections`).
 *
 * Chart and data: the chart (the child states of `active` in actors.machine.ts) holds one
 * periodic sweep, running only while some peer is protected: `sweeping` waits `protectionSweep` (half of
 * `protectIdle`), `swept` goes back to `sweeping` while a peer is still protected, else to
 * `unused`. Per peer there is no timer and no state of a chart, only data: the number of
 * sweeps done when its last frame went or came (`protectedPeers`), cheap to keep on the hot path
 * (one Map write per peer per settle). At each sweep, a peer for which `isIdleProtected`
 * holds and `needsConnection` does not is unprotected: between `protectIdle` and 1.5 times it
 * after its last frame. They are plain functions rather than guards of the chart: a guard
 * decides one transition, these decide once per peer within the sweep's one transition.
 *
 * Ask slots: a peer's ask to a hosted actor needs the connection back until the actor answers
 * (`Hosted.asked`), but no longer than the asker waits. The ask carries its timeout (wire.ts),
 * clamped to `askHold`; the slot is dropped at the first sweep after that much time
 * (`askSlotExpiry`, `expireAskSlots`). The sweep is reused rather than a timer per ask: the
 * expiry only matters to the protection, which the sweep decides, so a finer clock would end
 * no protection sooner (an ask within `protectIdle` expires by the sweep that finds its peer
 * idle anyway), and an ask would pay a delayed event and its cancel on the hot path, as asks
 * did before the one ask timer (outbound.ts).
 *
 * A lookup needs nothing from here: discovery never closes or trims a connection one of its
 * lookups is waiting on or using (`isBusy`, `usedBy` in machines/discovery).
 * @module
 */
import type { ActorsContext, Out } from './context.js'
import type { ActorMessage } from './wire.js'

/** Sweeps per `protectIdle`: the sweep period is `protectIdle / SWEEPS_PER_IDLE`. */
const SWEEPS_PER_IDLE = 2

/** The sweep period (the chart's `protectionSweep` delay), in ms. */
export function protectionSweepMs(ctx: ActorsContext): number {
  return Math.ceil(ctx.timeouts.protectIdle / SWEEPS_PER_IDLE)
}

/** The discovery command that protects `peer` (tag `actors`), or withdraws that protection. */
export const protectCommand = (peer: string) => ({ type: 'discovery.protect' as const, peer, tag: 'actors' as const })
const unprotectCommand = (peer: string) => ({ type: 'discovery.unprotect' as const, peer, tag: 'actors' as const })

/**
 * A frame went to `peer`: it is active as of this sweep, and protected from now on if it was
 * not (true: tell discovery). Only a connected peer is protected (frames go only to those).
 */
export function noteSent(ctx: ActorsContext, peer: string): boolean {
  const peers = ctx.protectedPeers
  const known = peers.has(peer)
  if (!known && !ctx.connected.has(peer)) return false
  peers.set(peer, ctx.protectionSweeps)
  return !known
}

/**
 * Frames came from `peer`: a protected peer is active as of this sweep; one not protected is
 * protected if they ask something of this node that needs the connection back.
 */
export function noteReceived(ctx: ActorsContext, peer: string, messages: readonly ActorMessage[], out: Out[]): void {
  const peers = ctx.protectedPeers
  if (peers.has(peer)) return void peers.set(peer, ctx.protectionSweeps)
  if (!ctx.connected.has(peer) || !messages.some(asksForAnswer)) return
  peers.set(peer, ctx.protectionSweeps)
  out.push({ kind: 'discovery', event: protectCommand(peer) })
}

/** A message whose answer (a reply, an ack, a `down`, a `spawned`) must go back over the connection. */
function asksForAnswer(m: ActorMessage): boolean {
  return m.k === 'watch' || m.k === 'spawn' || (m.k === 'msg' && (m.seq > 0 || m.from.startsWith('~a')))
}

/** Discovery restarted and forgot every protection: the peers protected here are protected again. */
export function reprotect(ctx: ActorsContext, out: Out[]): void {
  for (const peer of ctx.protectedPeers.keys()) out.push({ kind: 'discovery', event: protectCommand(peer) })
}

/**
 * This protocol actor was restarted with empty state, while discovery may still protect peers
 * for the one before (whose list is gone): every connected peer is taken as protected and
 * active now, so that the sweep ends the protections of those that stay idle instead of them
 * lasting until their connections close.
 */
export function adoptProtections(ctx: ActorsContext, out: Out[]): void {
  for (const peer of ctx.connected) {
    if (ctx.protectedPeers.has(peer)) continue
    ctx.protectedPeers.set(peer, ctx.protectionSweeps)
    out.push({ kind: 'discovery', event: protectCommand(peer) })
  }
}

/** `peer` disconnected: its protection ends with its connection. */
export function forgetProtection(ctx: ActorsContext, peer: string, out: Out[]): void {
  if (ctx.protectedPeers.delete(peer)) out.push({ kind: 'discovery', event: unprotectCommand(peer) })
}

/**
 * The sweep count from which an ask slot taken now may be dropped: the asker's timeout
 * `wait` (ms; 0: not said) clamped to `askHold`, and one sweep more, so that at least that
 * much time has passed (the sweep in progress may be almost due).
 */
export function askSlotExpiry(ctx: ActorsContext, wait: number): number {
  const hold = wait > 0 ? Math.min(wait, ctx.timeouts.askHold) : ctx.timeouts.askHold
  return ctx.protectionSweeps + Math.ceil(hold / protectionSweepMs(ctx)) + 1
}

/** Drop the ask slots whose askers stopped waiting: the actor answers none of them in time. */
export function expireAskSlots(ctx: ActorsContext): void {
  for (const h of ctx.hosted.values()) {
    if (h.asked.size === 0) continue
    for (const [slot, expiry] of h.asked) if (expiry <= ctx.protectionSweeps) h.asked.delete(slot)
  }
}

/**
 * A sweep: the expired ask slots are dropped, then every protected peer that has been idle for
 * `protectIdle` and whose connection nothing needs is unprotected (discovery may close it from
 * now on).
 */
export function onProtectionSweep(ctx: ActorsContext, out: Out[]): void {
  ctx.protectionSweeps++
  expireAskSlots(ctx)
  let needed: Set<string> | undefined
  for (const [peer, lastActive] of ctx.protectedPeers) {
    if (!isIdleProtected(ctx, lastActive)) continue
    needed ??= peersInUse(ctx)
    if (needsConnection(needed, peer)) continue
    ctx.protectedPeers.delete(peer)
    out.push({ kind: 'discovery', event: unprotectCommand(peer) })
  }
}

/**
 * No frame went or came since before the sweep `SWEEPS_PER_IDLE + 1` sweeps ago: the last one
 * was at least `protectIdle` ago (sweep `lastActive + 1` came after it, at most one period
 * later, and `SWEEPS_PER_IDLE` periods have passed since).
 */
export function isIdleProtected(ctx: ActorsContext, lastActive: number): boolean {
  return ctx.protectionSweeps - lastActive > SWEEPS_PER_IDLE
}

/** Something of this node still waits on the peer's connection (`peersInUse`). */
export function needsConnection(inUse: ReadonlySet<string>, peer: string): boolean {
  return inUse.has(peer)
}

/**
 * The peers something waits on, in either direction, gathered once per sweep (each table read
 * once, instead of each once per idle peer): an ask of ours in flight to it, or one of its to
 * our actors not answered yet; a watch of ours on its actors (a trimmed connection would end in
 * a spurious `peer-disconnected` down), or one of its on ours; an at-least-once event to it not
 * acknowledged yet; a spawnOn of ours it has not answered, or one of its we are running; events
 * from it being handed to our actors (their acks and replies follow).
 */
export function peersInUse(ctx: ActorsContext): Set<string> {
  const peers = new Set<string>()
  for (const ask of ctx.asks.values()) peers.add(ask.peer)
  for (const h of ctx.hosted.values()) for (const key of h.asked.keys()) peers.add(key.slice(0, key.indexOf('\0')))
  for (const w of ctx.watching.values()) peers.add(w.peer)
  for (const peer of ctx.watchCount.keys()) peers.add(peer)
  for (const pair of ctx.pairs.values()) if (pair.unacked.size > 0) peers.add(pair.peer)
  for (const s of ctx.spawns.values()) peers.add(s.peer)
  for (const call of ctx.calls.values()) {
    if (call.kind === 'spawn') peers.add(call.peer)
    else if (call.kind === 'deliver') for (const item of call.items) peers.add(item.peer)
  }
  return peers
}
