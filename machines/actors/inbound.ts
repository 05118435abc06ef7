/**
 * The receiving side: an event for a local actor is checked (its reply slot, duplicates, the
 * actor's existence, who may reach it, its mailbox) and then handed to the shell to deliver
 * (`effect.call` 'deliver'); the shell's answer (`call.done`) acknowledges it or refuses it.
 *
 * Data, not chart (see context.ts). Duplicates: at-least-once events carry the sender's epoch
 * and a sequence number per (sender, receiver) pair; the last delivered number is remembered
 * for the newest `maxDedupPairs` pairs (an older pair is forgotten, and then its next event is
 * taken as new). An event ahead of the next expected number is dropped unacknowledged: the
 * sender sends it again, in order, when it reconnects.
 * @module
 */
import type { ActorsContext, Delivery, Hosted, Out } from './context.js'
import { answer, failSent, frame } from './outbound.js'
import { askSlotExpiry } from './protection.js'
import { ActorCodes, askWaitOf, type ActorMessage } from './wire.js'

type Msg = Extract<ActorMessage, { k: 'msg' }>

/** An event for a local actor (or a reply for one of this node's asks) from `peer` (this node's own id for local sends). */
export function receiveMsg(ctx: ActorsContext, peer: string, msg: Msg, out: Out[]): void {
  if (msg.to.startsWith('~a')) return receiveReply(ctx, peer, msg, out)
  if (msg.seq > 0 && !fresh(ctx, peer, msg, out)) return
  const h = ctx.hosted.get(msg.to)
  if (!h) return refuse(ctx, peer, msg, ActorCodes.noSuchActor, out)
  if (msg.invalid !== undefined || !mayReach(ctx, h, peer)) return refuse(ctx, peer, msg, ActorCodes.rejected, out)
  if (h.restarting) return refuse(ctx, peer, msg, ActorCodes.actorStopped, out)
  if (h.mailbox >= ctx.limits.maxMailbox) return refuse(ctx, peer, msg, ActorCodes.overloaded, out)
  h.mailbox++
  if (msg.from.startsWith('~a')) {
    if (h.asked.size >= ctx.limits.maxMailbox) h.asked.delete(h.asked.keys().next().value!)
    h.asked.set(`${peer}\0${msg.from}`, askSlotExpiry(ctx, askWaitOf(msg)))
  }
  const check = h.accept === 'custom' && peer !== ctx.peerId && !h.granted.has(peer)
  out.push({
    kind: 'deliver',
    item: { name: msg.to, peer, from: msg.from, seq: msg.seq, epoch: msg.epoch, trace: msg.trace, event: msg.event, refs: msg.refs, check },
  })
}

/** Whether `peer` may send to (or watch) a hosted actor without asking the user's `accept`. */
export function mayReach(ctx: ActorsContext, h: Hosted, peer: string): boolean {
  return peer === ctx.peerId || h.accept !== 'local' || h.granted.has(peer)
}

function receiveReply(ctx: ActorsContext, peer: string, msg: Msg, out: Out[]): void {
  const askId = Number(msg.to.slice(2))
  const ask = ctx.asks.get(askId)
  if (!ask || ask.peer !== peer) return // late (timed out) or not from the node asked: dropped
  if (msg.invalid !== undefined) return answer(ctx, askId, out, { code: ActorCodes.rejected })
  // The reply's answer built at once (the common case of `answer`, with no result object to copy).
  ctx.asks.delete(askId)
  out.push({ kind: 'emit', event: { type: 'actors.answer', askId, event: msg.event, refs: msg.refs, peer, trace: msg.trace } })
}

/** Duplicate detection for at-least-once events; acknowledges duplicates again. */
function fresh(ctx: ActorsContext, peer: string, msg: Msg, out: Out[]): boolean {
  const key = `${peer}\0${msg.epoch}\0${msg.from}\0${msg.to}`
  const last = ctx.dedup.get(key)
  if (last !== undefined && msg.seq <= last) {
    frame(ctx, peer, { k: 'ack', to: msg.to, from: msg.from, epoch: msg.epoch, seq: last }, out)
    return false
  }
  if (last !== undefined && msg.seq !== last + 1) return false
  ctx.dedup.delete(key)
  ctx.dedup.set(key, msg.seq)
  if (ctx.dedup.size > ctx.limits.maxDedupPairs) ctx.dedup.delete(ctx.dedup.keys().next().value!)
  return true
}

/** The event is not handed over: tell the sender why (a nack, or locally at once). */
export function refuse(ctx: ActorsContext, peer: string, msg: Msg, code: string, out: Out[]): void {
  if (peer === ctx.peerId) return failSent(ctx, peer, msg, code, out)
  frame(ctx, peer, { k: 'nack', to: msg.to, from: msg.from, code, seq: msg.seq, trace: msg.trace }, out)
}

/** The shell delivered (`ok`) or refused an event: acknowledge it, or refuse it to its sender. */
export function onDelivered(ctx: ActorsContext, call: Delivery, result: string, out: Out[]): void {
  if (result !== 'ok') {
    ctx.hosted.get(call.name)?.asked.delete(`${call.peer}\0${call.from}`)
    const msg: Msg = { k: 'msg', to: call.name, from: call.from, event: { type: '' }, refs: [], trace: call.trace, seq: call.seq, epoch: call.epoch }
    return refuse(ctx, call.peer, msg, result, out)
  }
  if (call.seq > 0) frame(ctx, call.peer, { k: 'ack', to: call.name, from: call.from, epoch: call.epoch, seq: call.seq }, out)
}

/** A hosted actor is gone: asks it was handling end `actor-stopped`. */
export function failAsked(ctx: ActorsContext, h: Hosted, name: string, out: Out[]): void {
  for (const key of h.asked.keys()) {
    const [peer, from] = key.split('\0')
    refuse(ctx, peer, { k: 'msg', to: name, from, event: { type: '' }, refs: [], trace: '', seq: 0, epoch: 0 }, ActorCodes.actorStopped, out)
  }
  h.asked.clear()
}
