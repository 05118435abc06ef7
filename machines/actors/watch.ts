/**
 * Death watch, like Erlang monitors and Akka's DeathWatch: a watch gives exactly one
 * `actor.down {address, reason}` when the actor stops (`stopped`, `done`, `error`), does not
 * exist (`no-such-actor`), refuses the watcher (`rejected`, `overloaded`), or its node is gone:
 * `node-closed` at once when it closed gracefully, `peer-disconnected` when it stayed away for
 * the grace period (a reconnect within it re-registers the watch and is not a death).
 *
 * A watch belongs to the user (its end is an event on the swarm's stream) or to a local actor
 * (`watchActor` in a machine: its end is delivered to that actor like any event, with the
 * watch's trace id). An actor watches an address once; a watcher that ends drops its watches.
 *
 * Data, not chart (see context.ts): the watcher's `watching` map (and `actorWatches` by
 * watcher and address), the watched side's `watchers` per name (bounded per peer), and per
 * peer an `inGrace` flag with its timer.
 * @module
 */
import { parseActorAddress } from './address.js'
import { linkOf, type ActorsCommand, type ActorsContext, type Out, type Watching } from './context.js'
import { mayReach } from './inbound.js'
import { ensureDial, frame, releaseLink, transmit } from './outbound.js'
import type { ActorMessage } from './wire.js'

/** The watch `watchId` ends (once): its watcher hears `actor.down`. */
export function endWatch(ctx: ActorsContext, watchId: number, reason: string, out: Out[]): void {
  const w = ctx.watching.get(watchId)
  if (!w) return
  ctx.watching.delete(watchId)
  if (w.by !== undefined) ctx.actorWatches.delete(`${w.by}\0${w.address}`)
  tell(ctx, w, { type: 'actor.down', address: w.address, reason }, out)
}

/** An event for a watch's watcher: on the stream, or handed to the watching actor. */
function tell(ctx: ActorsContext, w: Watching, event: { type: string; address: string } & Record<string, unknown>, out: Out[]): void {
  if (w.by === undefined) return void out.push({ kind: 'emit', event })
  const trace = w.trace ?? ''
  out.push({ kind: 'deliver', item: { name: w.by, peer: ctx.peerId, from: '', seq: 0, epoch: 0, trace, event, refs: [], check: false } })
}

/** The user, or local actor `by`, watches an actor (anywhere). */
export function onWatch(ctx: ActorsContext, cmd: Extract<ActorsCommand, { type: 'actors.watch' }>, out: Out[]): void {
  const { watchId, address, by } = cmd
  if (by !== undefined) {
    if (ctx.actorWatches.has(`${by}\0${address}`)) return // already watching it: still one actor.down
    ctx.actorWatches.set(`${by}\0${address}`, watchId)
  }
  const target = parseActorAddress(address)
  ctx.watching.set(watchId, { address, peer: target?.peer ?? '', name: target?.name ?? '', ...(by !== undefined ? { by, trace: cmd.trace } : {}) })
  if (!target) return endWatch(ctx, watchId, 'invalid-address', out)
  if (target.peer === ctx.peerId) return addWatcher(ctx, ctx.peerId, watchId, target.name, out)
  transmit(ctx, target.peer, target.node, { k: 'watch', watchId, name: target.name }, out)
}

export function onUnwatch(ctx: ActorsContext, watchId: number, out: Out[]): void {
  const w = ctx.watching.get(watchId)
  if (!w) return
  ctx.watching.delete(watchId)
  if (w.by !== undefined) ctx.actorWatches.delete(`${w.by}\0${w.address}`)
  if (w.peer === ctx.peerId) removeWatcher(ctx, ctx.peerId, watchId)
  else frame(ctx, w.peer, { k: 'unwatch', watchId }, out)
}

/** Local actor `by` stops watching `address` (nothing happens if it was not). */
export function onUnwatchBy(ctx: ActorsContext, by: string, address: string, out: Out[]): void {
  const id = ctx.actorWatches.get(`${by}\0${address}`)
  if (id !== undefined) onUnwatch(ctx, id, out)
}

/** Local actor `name` ended: the watches it held end with it (as Erlang monitors do). */
export function dropWatchesBy(ctx: ActorsContext, name: string, out: Out[]): void {
  for (const [id, w] of [...ctx.watching]) if (w.by === name) onUnwatch(ctx, id, out)
}
/** A watch from `peer` (or this node) on a local actor. */
export function addWatcher(ctx: ActorsContext, peer: string, watchId: number, name: string, out: Out[]): void {
  const answer = (reason: string) => {
    if (peer === ctx.peerId) endWatch(ctx, watchId, reason, out)
    else frame(ctx, peer, { k: 'down', watchId, reason }, out)
  }
  const h = ctx.hosted.get(name)
  if (!h) return answer('no-such-actor')
  if (!mayReach(ctx, h, peer) && h.accept !== 'custom') return answer('rejected')
  const key = `${peer}\0${watchId}`
  if (ctx.watcherNames.has(key)) return
  const count = ctx.watchCount.get(peer) ?? 0
  if (count >= ctx.limits.maxWatchesPerPeer) return answer('overloaded')
  ctx.watchCount.set(peer, count + 1)
  ctx.watcherNames.set(key, name)
  let forName = ctx.watchers.get(name)
  if (!forName) ctx.watchers.set(name, (forName = new Map()))
  forName.set(key, { peer, watchId })
}

export function removeWatcher(ctx: ActorsContext, peer: string, watchId: number): void {
  const key = `${peer}\0${watchId}`
  const name = ctx.watcherNames.get(key)
  if (name === undefined) return
  ctx.watcherNames.delete(key)
  ctx.watchers.get(name)?.delete(key)
  if (ctx.watchers.get(name)?.size === 0) ctx.watchers.delete(name)
  const count = (ctx.watchCount.get(peer) ?? 1) - 1
  if (count <= 0) ctx.watchCount.delete(peer)
  else ctx.watchCount.set(peer, count)
}

/** A local actor stopped for good: every watcher hears it once. */
export function notifyDown(ctx: ActorsContext, name: string, reason: string, out: Out[]): void {
  for (const { peer, watchId } of [...(ctx.watchers.get(name)?.values() ?? [])]) {
    removeWatcher(ctx, peer, watchId)
    if (peer !== ctx.peerId) {
      frame(ctx, peer, { k: 'down', watchId, reason }, out)
      continue
    }
    endWatch(ctx, watchId, reason, out)
  }
}

/** A local actor restarted (supervision): watchers hear it, and keep watching. */
export function notifyRestarted(ctx: ActorsContext, name: string, restarts: number, out: Out[]): void {
  for (const { peer, watchId } of ctx.watchers.get(name)?.values() ?? []) {
    if (peer !== ctx.peerId) frame(ctx, peer, { k: 'restarted', watchId, restarts }, out)
    else restartedTo(ctx, watchId, restarts, out)
  }
}

function restartedTo(ctx: ActorsContext, watchId: number, restarts: number, out: Out[]): void {
  const w = ctx.watching.get(watchId)
  if (w) tell(ctx, w, { type: 'actor.restarted', address: w.address, restarts }, out)
}

/** Watch messages from a peer. */
export function onWatchMessage(ctx: ActorsContext, peer: string, m: ActorMessage, out: Out[]): void {
  switch (m.k) {
    case 'watch': return addWatcher(ctx, peer, m.watchId, m.name, out)
    case 'unwatch': return removeWatcher(ctx, peer, m.watchId)
    case 'down':
      if (ctx.watching.get(m.watchId)?.peer === peer) endWatch(ctx, m.watchId, m.reason, out)
      return
    case 'restarted':
      if (ctx.watching.get(m.watchId)?.peer === peer) restartedTo(ctx, m.watchId, m.restarts, out)
      return
  }
}

function watchesOn(ctx: ActorsContext, peer: string): number[] {
  const ids: number[] = []
  for (const [id, w] of ctx.watching) if (w.peer === peer) ids.push(id)
  return ids
}

/** A peer connected: a watch on it (again after a disconnect) is registered again; idempotent there. */
export function rewatch(ctx: ActorsContext, peer: string, out: Out[]): void {
  const link = ctx.links.get(peer)
  if (link?.inGrace) {
    link.inGrace = false
    out.push({ kind: 'cancel', id: `grace:${peer}` })
    for (const id of watchesOn(ctx, peer)) frame(ctx, peer, { k: 'watch', watchId: id, name: ctx.watching.get(id)!.name }, out)
  }
}

/** A peer disconnected: its watches on us end; ours on it wait out the grace period (or end now if it closed). */
export function onWatchedPeerGone(ctx: ActorsContext, peer: string, reason: string, out: Out[]): void {
  for (const key of [...ctx.watcherNames.keys()]) {
    const [p, id] = key.split('\0')
    if (p === peer) removeWatcher(ctx, peer, Number(id))
  }
  const ids = watchesOn(ctx, peer)
  if (ids.length === 0 || ctx.closing) return
  if (reason === 'swarm-closed') {
    for (const id of ids) endWatch(ctx, id, 'node-closed', out)
    return
  }
  const link = linkOf(ctx, peer)
  link.inGrace = true
  out.push({ kind: 'cancel', id: `grace:${peer}` })
  out.push({ kind: 'later', event: { type: 'actors.graceOver', peer }, delay: ctx.timeouts.watchGrace, id: `grace:${peer}` })
  ensureDial(ctx, peer, out)
}

/** The grace period ended and the peer is still away: its watched actors are down. */
export function onGraceOver(ctx: ActorsContext, peer: string, out: Out[]): void {
  const link = ctx.links.get(peer)
  if (!link?.inGrace || ctx.connected.has(peer)) return
  link.inGrace = false
  for (const id of watchesOn(ctx, peer)) endWatch(ctx, id, 'peer-disconnected', out)
  releaseLink(ctx, peer)
}
