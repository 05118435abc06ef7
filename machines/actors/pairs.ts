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
 * Chart and data: no actor per pair. The pair is the entry of its peer chart (lib/peer-chart.ts,
 * `state`), stepped purely by `stepPair`: the chart's named actions run here, and its `after`
 * delays are delayed `actors.pairDue` events of the actors protocol, one timer id per pair.
 * @module
 */
import { peerChart } from '../lib/peer-chart.js'
import type { ActorsContext, OutPair, Out } from './context.js'
import { frame } from './outbound.js'
import { pairMachine, type PairEvent } from './pair.machine.js'

/** What the pair chart's actions and timers act on. */
interface PairStep { ctx: ActorsContext; key: string; pair: OutPair; out: Out[] }

const timerId = (pair: OutPair) => `pair:${pair.epoch}`

/** The pair chart (pair.machine.ts) with its actions, and its timer as the protocol's delayed event. */
const pairChart = peerChart(pairMachine, {
  resendOverdue: ({ ctx, pair, out }: PairStep) => {
    for (const msg of pair.unacked.values()) if (msg.k === 'msg' && msg.seq <= pair.sentAtLastLook) frame(ctx, pair.peer, msg, out)
    pair.sentAtLastLook = pair.seq
  },
  resendAll: ({ ctx, pair, out }: PairStep) => {
    for (const msg of pair.unacked.values()) frame(ctx, pair.peer, msg, out)
    pair.sentAtLastLook = pair.seq
  },
}, {
  schedule: ({ key, pair, out }: PairStep, id, delay) => {
    out.push({ kind: 'later', event: { type: 'actors.pairDue', key, epoch: pair.epoch, event: id }, delay, id: timerId(pair) })
  },
  cancel: ({ pair, out }: PairStep) => { out.push({ kind: 'cancel', id: timerId(pair) }) },
})

/** A fact about a pair's data (pair.machine.ts `PairEvent`, without the resend period), or its due timer. */
export type PairFact = { type: PairEvent['type'] | string; connected?: boolean; code?: string }

export const pairKey = (from: string, peer: string, to: string) => `${from}\0${peer}\0${to}`

/** The pair's state, made if needed; `undefined` when `maxPairs` pairs all wait for acknowledgements. */
export function openPair(ctx: ActorsContext, from: string, peer: string, node: string, to: string, out: Out[]): OutPair | undefined {
  const key = pairKey(from, peer, to)
  let pair = ctx.pairs.get(key)
  if (!pair) {
    if (ctx.pairs.size >= ctx.limits.maxPairs && !evictOneIdle(ctx, out)) return undefined
    const epoch = ((ctx.epoch + ctx.pairsMade++) >>> 0) || 1
    const { state } = pairChart.start(0, undefined as never)
    ctx.pairs.set(key, (pair = { peer, node, to, from, seq: 0, epoch, unacked: new Map(), sentAtLastLook: 0, state }))
    armSweep(ctx, out)
  }
  return pair
}

/**
 * Tell a pair's chart a fact and perform what its step asks for; a pair whose chart ends
 * (`forgotten`) is forgotten.
 */
export function stepPair(ctx: ActorsContext, key: string, pair: OutPair, event: PairFact, out: Out[]): void {
  // The chart keeps no context: the resend period travels on the events that start it.
  pairChart.send(pair, { ...event, resendMs: ctx.timeouts.redialMin } as PairEvent, 0, { ctx, key, pair, out })
  if (pair.state === 'forgotten' && ctx.pairs.get(key) === pair) ctx.pairs.delete(key)
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

