/**
 * The life of the sender's at-least-once state per (sender actor, receiver actor) pair: made on
 * the first at-least-once send, forgotten when nothing of it waits for an acknowledgement and
 * either its receiver is gone (the receiving node answered `no-such-actor` or `actor-stopped`)
 * or it stayed idle through a sweep. At most `maxPairs` pairs: a new one takes an idle pair's
 * place, and when every pair has unacknowledged events the send fails `overloaded`.
 *
 * A pair made again starts a new sequence under a new pair epoch (the per-start epoch plus a
 * counter), so the receiver, which keys its duplicate detection by epoch, takes it as a new
 * pair instead of as duplicates of the forgotten one's numbers.
 *
 * Data, not chart (see context.ts): the sweep is one named delayed self-event (`sweep`, every
 * `timeouts.pairIdle` while any pair exists) and a second-chance mark per pair: a sweep marks
 * every pair with nothing unacknowledged, the next one forgets it unless it was used since.
 * So an idle pair is forgotten between one and two `pairIdle` periods after its last ack.
 * @module
 */
import type { ActorsContext, OutPair, Out } from './context.js'
import { ActorCodes } from './wire.js'

export const pairKey = (from: string, peer: string, to: string) => `${from}\0${peer}\0${to}`

/** The pair's state, made if needed; `undefined` when `maxPairs` pairs all wait for acknowledgements. */
export function openPair(ctx: ActorsContext, from: string, peer: string, node: string, to: string, out: Out[]): OutPair | undefined {
  const key = pairKey(from, peer, to)
  let pair = ctx.pairs.get(key)
  if (!pair) {
    if (ctx.pairs.size >= ctx.limits.maxPairs && !forgetOneIdle(ctx)) return undefined
    const epoch = ((ctx.epoch + ctx.pairsMade++) >>> 0) || 1
    ctx.pairs.set(key, (pair = { peer, node, to, from, seq: 0, epoch, unacked: new Map(), idle: false, sentAtLastLook: 0 }))
    armSweep(ctx, out)
  }
  pair.idle = false
  return pair
}

/** The receiving node refused one of the pair's events: a receiver that is gone ends the pair once nothing waits. */
export function afterNack(ctx: ActorsContext, key: string, code: string): void {
  const pair = ctx.pairs.get(key)
  if (pair && pair.unacked.size === 0 && (code === ActorCodes.noSuchActor || code === ActorCodes.actorStopped)) ctx.pairs.delete(key)
}

/** The sweep: forget pairs idle since the last sweep, mark the others that wait for nothing. */
export function onSweep(ctx: ActorsContext, out: Out[]): void {
  ctx.sweeping = false
  for (const [key, pair] of ctx.pairs) {
    if (pair.unacked.size > 0) pair.idle = false
    else if (pair.idle) ctx.pairs.delete(key)
    else pair.idle = true
  }
  armSweep(ctx, out)
}

function armSweep(ctx: ActorsContext, out: Out[]): void {
  if (ctx.sweeping || ctx.closing || ctx.pairs.size === 0) return
  ctx.sweeping = true
  out.push({ kind: 'later', event: { type: 'actors.sweep' }, delay: ctx.timeouts.pairIdle, id: 'sweep' })
}

/** Make room: forget the oldest pair that waits for nothing. */
function forgetOneIdle(ctx: ActorsContext): boolean {
  for (const [key, pair] of ctx.pairs) {
    if (pair.unacked.size === 0) return ctx.pairs.delete(key)
  }
  return false
}
