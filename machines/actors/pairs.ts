/**
 * The sender's at-least-once state per (sender actor, receiver actor) pair: its data (sequence
 * numbers, unacknowledged envelopes) and the stepping of its chart (pair.machine.ts: idle,
 * unacked in flight or waiting for the peer, forgotten). A pair is made on the first
 * at-least-once send and forgotten when its chart reaches `forgotten`: nothing of it waits for
 * an acknowledgement and either its receiver is gone (the receiving node answered
 * `no-such-actor` or `actor-stopped`) or it stayed idle through two sweeps (one sweep every
 * `timeouts.pairIdle` while any pair exists: an idle pair is forgotten between one and two
 * periods after its last ack). At most `maxPairs` pairs: a new one takes an idle pair's place,
 * and when every pair has unacknowledged events the send fails `overloaded`.
 *
 * A pair made again starts a new sequence under a new pair epoch (the per-start epoch plus a
 * counter), so the receiver, which keys its duplicate detection by epoch, takes it as a new
 * pair instead of as duplicates of the forgotten one's numbers.
 *
 * Chart and data: no actor per pair. `stepPair` runs XState's pure step (lib/pure-step.ts) on
 * the pair's snapshot (kept in the pair) and performs what it returns: the chart's named actions, and its
 * `after` delays as delayed `actors.pairDue` events of the actors protocol, one timer id per pair.
 * @module
 */
import { pureInitial, pureStep } from '../lib/pure-step.js'
import type { ActorsContext, OutPair, Out } from './context.js'
import { frame } from './outbound.js'
import { pairMachine, type PairEvent } from './pair.machine.js'

/** The input of the inert actor behind the pure steps (its context is never read). */
const SCOPE_INPUT = { resendMs: 0 }

export const pairKey = (from: string, peer: string, to: string) => `${from}\0${peer}\0${to}`

/** The pair's state, made if needed; `undefined` when `maxPairs` pairs all wait for acknowledgements. */
export function openPair(ctx: ActorsContext, from: string, peer: string, node: string, to: string, out: Out[]): OutPair | undefined {
  const key = pairKey(from, peer, to)
  let pair = ctx.pairs.get(key)
  if (!pair) {
    if (ctx.pairs.size >= ctx.limits.maxPairs && !evictOneIdle(ctx, out)) return undefined
    const epoch = ((ctx.epoch + ctx.pairsMade++) >>> 0) || 1
    const [state] = pureInitial(pairMachine, { resendMs: ctx.timeouts.redialMin })
    ctx.pairs.set(key, (pair = { peer, node, to, from, seq: 0, epoch, unacked: new Map(), sentAtLastLook: 0, state }))
    armSweep(ctx, out)
  }
  return pair
}

/**
 * Tell a pair's chart a fact and perform what its step asks for; a pair whose chart ends
 * (`forgotten`) is forgotten.
 */
export function stepPair(ctx: ActorsContext, key: string, pair: OutPair, event: PairEvent | { type: string }, out: Out[]): void {
  const [next, actions] = pureStep(pairMachine, pair.state, event, SCOPE_INPUT)
  pair.state = next as OutPair['state']
  for (const action of actions) {
    switch (action.type) {
      case 'xstate.raise': {
        const { event: raised, delay } = action.params as { event: { type: string }; delay?: number }
        if (delay !== undefined) out.push({ kind: 'later', event: { type: 'actors.pairDue', key, epoch: pair.epoch, event: raised.type }, delay, id: timerId(pair) })
        break
      }
      case 'xstate.cancel': out.push({ kind: 'cancel', id: timerId(pair) }); break
      case 'resendOverdue':
        for (const msg of pair.unacked.values()) if (msg.k === 'msg' && msg.seq <= pair.sentAtLastLook) frame(ctx, pair.peer, msg, out)
        pair.sentAtLastLook = pair.seq
        break
      case 'resendAll':
        for (const msg of pair.unacked.values()) frame(ctx, pair.peer, msg, out)
        pair.sentAtLastLook = pair.seq
        break
    }
  }
  if (pair.state.status === 'done' && ctx.pairs.get(key) === pair) ctx.pairs.delete(key)
}

/** A pair's timer (its chart's `after`) is due; a timer of a pair forgotten since is ignored. */
export function onPairDue(ctx: ActorsContext, key: string, epoch: number, event: string, out: Out[]): void {
  const pair = ctx.pairs.get(key)
  if (pair?.epoch === epoch) stepPair(ctx, key, pair, { type: event }, out)
}

/** The sweep: each pair with nothing unacknowledged hears it (a second one in a row forgets it). */
export function onSweep(ctx: ActorsContext, out: Out[]): void {
  ctx.sweeping = false
  for (const [key, pair] of ctx.pairs) if (pair.unacked.size === 0) stepPair(ctx, key, pair, { type: 'pair.swept' }, out)
  armSweep(ctx, out)
}

function armSweep(ctx: ActorsContext, out: Out[]): void {
  if (ctx.sweeping || ctx.closing || ctx.pairs.size === 0) return
  ctx.sweeping = true
  out.push({ kind: 'later', event: { type: 'actors.sweep' }, delay: ctx.timeouts.pairIdle, id: 'sweep' })
}

/** Make room: the oldest pair that waits for nothing is evicted. */
function evictOneIdle(ctx: ActorsContext, out: Out[]): boolean {
  for (const [key, pair] of ctx.pairs) {
    if (pair.unacked.size === 0) {
      stepPair(ctx, key, pair, { type: 'pair.evicted' }, out)
      return !ctx.pairs.has(key)
    }
  }
  return false
}

const timerId = (pair: OutPair) => `pair:${pair.epoch}`
