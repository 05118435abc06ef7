/**
 * Hosting bookkeeping and supervision of local actors.
 *
 * `supervise: { restart: 'on-error', maxRestarts, withinMs, backoffMs }`: an actor that fails
 * is restarted after `backoffMs` (the shell recreates it, from its initial state or the user's
 * `restore` snapshot), unless it already restarted `maxRestarts` times within `withinMs`; then
 * it stops for good with `actor.down` reason `error`. While it waits, events to it are refused
 * with `actor-stopped`, and asks it was handling end `actor-stopped` at once. Watchers hear
 * `actor.restarted {restarts}` after each restart.
 *
 * Data, not chart (see context.ts): per hosted actor its restart times, count and `restarting`
 * flag; the backoff is a named delayed self-event (`restart:<name>`) through the swarm's clock.
 * @module
 */
import { callRequest } from '../lib/protocol.js'
import { ACTORS_ID, type ActorsCommand, type ActorsContext, type Out } from './context.js'
import { failAsked } from './inbound.js'
import { actorNameKey, isAnnounced } from './names.js'
import { dropWatchesBy, notifyDown, notifyRestarted } from './watch.js'

/** A local actor to host (again, after the protocol restarted); announced in the DHT when others may reach it (names.ts). */
export function onHost(ctx: ActorsContext, cmd: Extract<ActorsCommand, { type: 'actors.host' }>, out: Out[]): void {
  if (isAnnounced(cmd.name, cmd.accept)) out.push({ kind: 'discovery', event: { type: 'discovery.provide', key: actorNameKey(cmd.name) } })
  ctx.hosted.set(cmd.name, {
    accept: cmd.accept,
    granted: new Set(cmd.granted),
    mailbox: 0,
    supervise: cmd.supervise,
    restartTimes: [],
    restarts: 0,
    restarting: false,
    asked: new Map(),
  })
}

/** Discovery lost its state (it restarted): provide every announced actor's name again. */
export function onReprovide(ctx: ActorsContext, out: Out[]): void {
  for (const [name, h] of ctx.hosted) {
    if (isAnnounced(name, h.accept)) out.push({ kind: 'discovery', event: { type: 'discovery.provide', key: actorNameKey(name) } })
  }
}

/** A hosted actor ended (stopped by the user, reached its final state, or failed past its budget). */
export function onExited(ctx: ActorsContext, name: string, reason: string, out: Out[]): void {
  const h = ctx.hosted.get(name)
  if (!h) return
  failAsked(ctx, h, name, out)
  ctx.hosted.delete(name)
  // No longer republished: the records others hold expire after their TTL.
  if (isAnnounced(name, h.accept)) out.push({ kind: 'discovery', event: { type: 'discovery.unprovide', key: actorNameKey(name) } })
  out.push({ kind: 'emit', event: { type: 'actors.released', name } })
  if (h.restarting) out.push({ kind: 'cancel', id: `restart:${name}` })
  notifyDown(ctx, name, reason, out)
  dropWatchesBy(ctx, name, out)
}

/** A hosted actor threw: restart it after the backoff, or give up past its budget. */
export function onFailed(ctx: ActorsContext, name: string, now: number, out: Out[]): void {
  const h = ctx.hosted.get(name)
  if (!h) return
  const policy = h.supervise
  if (!policy || policy.restart === 'never') return onExited(ctx, name, 'error', out)
  h.restartTimes = h.restartTimes.filter((t) => t > now - policy.withinMs)
  if (h.restartTimes.length >= policy.maxRestarts) return onExited(ctx, name, 'error', out)
  h.restartTimes.push(now)
  h.restarting = true
  failAsked(ctx, h, name, out)
  out.push({ kind: 'later', event: { type: 'actors.restart', name }, delay: policy.backoffMs, id: `restart:${name}` })
}

/** The backoff is over: ask the shell to recreate the actor. */
export function onRestartDue(ctx: ActorsContext, name: string, out: Out[]): void {
  const h = ctx.hosted.get(name)
  if (!h?.restarting) return
  const callId = ++ctx.callSeq
  ctx.calls.set(callId, { kind: 'restart', name })
  out.push({ kind: 'emit', event: callRequest(ACTORS_ID, callId, 'restart', { name }) as never })
}

/** The shell recreated it (`ok`), or could not. */
export function onRestarted(ctx: ActorsContext, name: string, ok: boolean, out: Out[]): void {
  const h = ctx.hosted.get(name)
  if (!h) return
  h.restarting = false
  if (!ok) return onExited(ctx, name, 'error', out)
  h.restarts++
  notifyRestarted(ctx, name, h.restarts, out)
}
