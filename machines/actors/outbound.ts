/**
 * The sending side: routing an event to an actor address, the link to each peer (queue while
 * dialing, flush on connect), at-least-once pairs (sequence numbers, acks, redelivery with
 * backoff across reconnects), asks (one-shot reply slot `~a<n>`, one timer for all of them due at the earliest deadline, every failure typed).
 *
 * Data, not chart (see context.ts): per peer a `PeerLink`, per (sender, receiver) pair an
 * `OutPair` (whose delivery states are a chart of their own, pair.machine.ts: this module tells
 * it the facts, `pairs.ts` steps it), per ask a `PendingAsk`. Order: everything to one peer goes through one connection
 * in the order it was sent; while the peer is dialed, at-most-once events wait in the link and
 * at-least-once ones in their pair, and on connect the link is flushed first, then every
 * unacknowledged pair in sequence order.
 * @module
 */
import { dialRequest, splitAddress } from '../lib/protocol.js'
import { actorAddress, parseActorAddress, type ActorAddress } from './address.js'
import { linkOf, type ActorsCommand, type ActorsContext, type Out, type SendCommand } from './context.js'
import { receiveMsg } from './inbound.js'
import { openPair, pairKey, stepPair } from './pairs.js'
import { failSpawns } from './spawn.js'
import { endWatch } from './watch.js'
import { askWaitOnWire, encodeEnvelope, encodeMessage, estimateSize, ActorCodes, type ActorMessage } from './wire.js'

/** Put one message on the wire to a connected peer (dropped if it is not: acks and nacks are idempotent). */
export function frame(ctx: ActorsContext, peer: string, msg: ActorMessage, out: Out[]): void {
  if (!ctx.connected.has(peer)) return
  out.push({ kind: 'wire', peer, message: encodeMessage(msg) })
}


/** An envelope's estimated bytes besides its event (names, trace, refs, numbers; see `framesOf` in actors.machine.ts). */
const ENVELOPE_BYTES = 256

/** Parsed addresses kept (a stream of sends to one actor parses its address once). */
const MAX_TARGETS = 1024

/** `address` parsed, from the cache when it was sent to before; a reply slot (`~a<n>`, used once) is not kept. */
function targetOf(ctx: ActorsContext, address: string): ActorAddress | undefined {
  const known = ctx.targets.get(address)
  if (known !== undefined) return known
  const target = parseActorAddress(address)
  if (target === undefined || target.name.startsWith('~a')) return target
  if (ctx.targets.size >= MAX_TARGETS) ctx.targets.clear()
  ctx.targets.set(address, target)
  return target
}

/** A user's (or an actor's) send; from an ask, `askWait` is its timeout as the wire carries it (wire.ts). */
export function onSend(ctx: ActorsContext, cmd: SendCommand, out: Out[], askWait = 0): void {
  const target = targetOf(ctx, cmd.to)
  if (!target) return undelivered(out, cmd.to, cmd.from, 'invalid-address')
  grant(ctx, cmd.expose, target.peer)
  // An actor answering an ask (a send to its reply slot) no longer owes that answer.
  if (target.name.startsWith('~a')) ctx.hosted.get(cmd.from)?.asked.delete(`${target.peer}\0${target.name}`)
  const remote = target.peer !== ctx.peerId
  // The receiving node would refuse an event over `maxEventBytes` (and a frame over the codec's
  // limit would be lost whole): refused here instead, as it would be there.
  const bytes = remote ? estimateSize(cmd.event, ctx.limits.maxEventBytes) : 0
  if (cmd.delivery === 'at-most-once' && ctx.connected.has(target.peer) && bytes <= ctx.limits.maxEventBytes) {
    // The common case, straight to its wire tuple (what `transmit` would do, with no message object).
    out.push({ kind: 'wire', peer: target.peer, message: encodeEnvelope(target.name, cmd.from, cmd.event, cmd.refs, cmd.trace, 0, askWait), bytes: bytes + ENVELOPE_BYTES })
    return
  }
  const msg: ActorMessage = { k: 'msg', to: target.name, from: cmd.from, event: cmd.event, refs: cmd.refs, trace: cmd.trace, seq: 0, epoch: askWait }
  if (!remote) return receiveMsg(ctx, ctx.peerId, msg, out)
  if (bytes > ctx.limits.maxEventBytes) return failSent(ctx, target.peer, msg, ActorCodes.rejected, out)
  if (cmd.delivery === 'at-least-once') return sendReliably(ctx, target.peer, target.node, msg, out)
  transmit(ctx, target.peer, target.node, msg, out)
}

/**
 * An ask: the event goes out from the one-shot slot `~a<askId>`, with its timeout (the host
 * holds the slot that long at most); a reply to it, a failure or the timer settles it.
 */
export function onAsk(ctx: ActorsContext, cmd: Extract<ActorsCommand, { type: 'actors.ask' }>, now: number, out: Out[]): void {
  const target = targetOf(ctx, cmd.to)
  if (!target) return answer(ctx, cmd.askId, out, { code: ActorCodes.unreachable })
  if (ctx.asks.size >= ctx.limits.maxPendingAsks) return answer(ctx, cmd.askId, out, { code: ActorCodes.overloaded })
  const deadline = now + cmd.timeout
  ctx.asks.set(cmd.askId, { peer: target.peer, name: target.name, address: cmd.to, deadline })
  armAskTimer(ctx, deadline, now, out)
  const { askId, to, event, refs, trace, expose } = cmd
  onSend(ctx, { type: 'actors.send', to, from: `~a${askId}`, event, refs, trace, delivery: 'at-most-once', expose }, out, askWaitOnWire(cmd.timeout))
}

/** Settle an ask (once): the reply, or the code of what went wrong. */
export function answer(ctx: ActorsContext, askId: number, out: Out[], result: { code?: string; event?: { type: string }; refs?: unknown[]; peer?: string; trace?: string }): void {
  ctx.asks.delete(askId)
  out.push({ kind: 'emit', event: { type: 'actors.answer', askId, ...result } })
}

/**
 * One timer for all pending asks, due at the earliest deadline: an ask answered in time costs
 * no timer of its own (a delayed event and its cancel per ask were a tenth of an ask's CPU).
 * It is moved only when an ask with a sooner deadline comes.
 */
function armAskTimer(ctx: ActorsContext, deadline: number, now: number, out: Out[]): void {
  if (ctx.askTimerAt !== undefined && ctx.askTimerAt <= deadline) return
  if (ctx.askTimerAt !== undefined) out.push({ kind: 'cancel', id: ASK_TIMER })
  ctx.askTimerAt = deadline
  out.push({ kind: 'later', event: { type: 'actors.askTimeout', at: deadline }, delay: Math.max(1, deadline - now), id: ASK_TIMER })
}

const ASK_TIMER = 'asks'

/**
 * The ask timer armed for `at` is due: asks past their deadline end `timeout`; it is armed again
 * for the next deadline. Its own time counts as at least `at` (a platform timer may fire a
 * little early by the input clock, and machine tests may run without one).
 */
export function onAsksDue(ctx: ActorsContext, at: number, now: number, out: Out[]): void {
  now = Math.max(now, at)
  ctx.askTimerAt = undefined
  let next: number | undefined
  for (const [askId, ask] of ctx.asks) {
    if (ask.deadline <= now) {
      ctx.asks.delete(askId)
      out.push({ kind: 'emit', event: { type: 'actors.answer', askId, code: ActorCodes.timeout } })
    } else if (next === undefined || ask.deadline < next) next = ask.deadline
  }
  if (next !== undefined) armAskTimer(ctx, next, now, out)
}

/** The peers a sent ref was granted to may reach that local actor from now on. */
function grant(ctx: ActorsContext, names: readonly string[], peer: string): void {
  for (const name of names) {
    const h = ctx.hosted.get(name)
    if (!h || h.granted.has(peer)) continue
    if (h.granted.size >= ctx.limits.maxWatchesPerPeer) h.granted.delete(h.granted.values().next().value!)
    h.granted.add(peer)
  }
}

/** Send now if connected; else wait in the link (bounded) while the peer is dialed. */
export function transmit(ctx: ActorsContext, peer: string, node: string, msg: ActorMessage, out: Out[]): void {
  if (ctx.connected.has(peer)) return frame(ctx, peer, msg, out)
  const link = linkOf(ctx, peer, node)
  if (!dialable(link.node)) {
    failSent(ctx, peer, msg, ActorCodes.unreachable, out)
    return releaseLink(ctx, peer)
  }
  if (link.waiting.length >= ctx.limits.maxQueuedPerPeer) return failSent(ctx, peer, msg, ActorCodes.overloaded, out)
  link.waiting.push(msg)
  ensureDial(ctx, peer, out)
}

function dialable(node: string): boolean {
  return splitAddress(node) !== undefined
}

export function ensureDial(ctx: ActorsContext, peer: string, out: Out[]): void {
  const link = linkOf(ctx, peer)
  if (link.dialing || ctx.closing || !dialable(link.node)) return
  link.dialing = true
  out.push({ kind: 'swarm', event: dialRequest(link.node) as never })
}

function sendReliably(ctx: ActorsContext, peer: string, node: string, msg: ActorMessage, out: Out[]): void {
  if (msg.k !== 'msg') return
  const link = linkOf(ctx, peer, node)
  if (!ctx.connected.has(peer) && !dialable(link.node)) {
    releaseLink(ctx, peer)
    return undelivered(out, actorAddress(node, msg.to), msg.from, ActorCodes.unreachable)
  }
  const pair = openPair(ctx, msg.from, peer, node, msg.to, out)
  if (!pair || pair.unacked.size >= ctx.limits.maxUnacked) return undelivered(out, actorAddress(node, msg.to), msg.from, ActorCodes.overloaded)
  const reliable: ActorMessage = { ...msg, seq: ++pair.seq, epoch: pair.epoch }
  pair.unacked.set(reliable.seq, reliable)
  const connected = ctx.connected.has(peer)
  if (connected) frame(ctx, peer, reliable, out)
  else ensureDial(ctx, peer, out)
  if (pair.unacked.size === 1) stepPair(ctx, pairKey(msg.from, peer, msg.to), pair, { type: 'pair.pending', connected }, out)
}

/** Whether some at-least-once event to `peer` waits for an acknowledgement. */
function owesAcks(ctx: ActorsContext, peer: string): boolean {
  for (const pair of ctx.pairs.values()) if (pair.peer === peer && pair.unacked.size > 0) return true
  return false
}

/** A peer connected: what waited goes out, then every unacknowledged event again, in order. */
export function flushLink(ctx: ActorsContext, peer: string, out: Out[]): void {
  const link = ctx.links.get(peer)
  if (link) {
    link.dialing = false
    link.redialDelay = ctx.timeouts.redialMin
    out.push({ kind: 'cancel', id: `redial:${peer}` })
    const waiting = link.waiting.splice(0)
    for (const msg of waiting) frame(ctx, peer, msg, out)
  }
  for (const [key, pair] of ctx.pairs) if (pair.peer === peer && pair.unacked.size > 0) stepPair(ctx, key, pair, { type: 'peer.connected' }, out)
}

/** `to` handled everything from `from` through `seq`. */
export function onAck(ctx: ActorsContext, peer: string, m: Extract<ActorMessage, { k: 'ack' }>, out: Out[]): void {
  const key = pairKey(m.from, peer, m.to)
  const pair = ctx.pairs.get(key)
  if (!pair || m.epoch !== pair.epoch || pair.unacked.size === 0) return
  for (const seq of pair.unacked.keys()) {
    if (seq > m.seq) break
    pair.unacked.delete(seq)
  }
  if (pair.unacked.size === 0) stepPair(ctx, key, pair, { type: 'pair.settled' }, out)
}

/** The peer refused an event this node sent. */
export function onNack(ctx: ActorsContext, peer: string, m: Extract<ActorMessage, { k: 'nack' }>, out: Out[]): void {
  if (m.seq > 0) {
    const key = pairKey(m.from, peer, m.to)
    const pair = ctx.pairs.get(key)
    pair?.unacked.delete(m.seq)
    // A refusal that leaves nothing unacknowledged: its chart decides whether the pair is over.
    if (pair && pair.unacked.size === 0) stepPair(ctx, key, pair, { type: 'pair.refused', code: m.code }, out)
  }
  failSent(ctx, peer, { k: 'msg', to: m.to, from: m.from, event: { type: '' }, refs: [], trace: m.trace, seq: m.seq, epoch: 0 }, m.code, out)
}

/** A message this node sent (or meant to) to `peer` failed with `code`: say so to whoever sent it. */
export function failSent(ctx: ActorsContext, peer: string, msg: ActorMessage, code: string, out: Out[]): void {
  if (msg.k === 'watch') return endWatch(ctx, msg.watchId, code, out)
  if (msg.k === 'spawn') return failSpawns(ctx, peer, code, out, msg.reqId)
  if (msg.k !== 'msg') return
  if (msg.from.startsWith('~a')) {
    const askId = Number(msg.from.slice(2))
    if (ctx.asks.get(askId)?.peer === peer) answer(ctx, askId, out, { code })
    return
  }
  const node = peer === ctx.peerId ? ctx.node : ctx.links.get(peer)?.node ?? `/p2p/${peer}`
  undelivered(out, actorAddress(node, msg.to), msg.from, code)
}

function undelivered(out: Out[], address: string, from: string, reason: string): void {
  out.push({ kind: 'emit', event: { type: 'actor.undelivered', address, from, reason } })
}

/** A dial to `peer` failed: what waited for it is unreachable; unacknowledged events are retried later. */
export function onDialFailed(ctx: ActorsContext, peer: string, reason: string, out: Out[]): void {
  const link = ctx.links.get(peer)
  if (!link || ctx.connected.has(peer)) return
  link.dialing = false
  if (reason === 'already-connected') return
  for (const msg of link.waiting.splice(0)) failSent(ctx, peer, msg, ActorCodes.unreachable, out)
  scheduleRedial(ctx, peer, out)
  releaseLink(ctx, peer)
}

/** The connection to `peer` is gone: asks sent there end `peer-disconnected`; unacknowledged events wait for a redial. */
export function onLinkLost(ctx: ActorsContext, peer: string, out: Out[]): void {
  for (const [askId, ask] of ctx.asks) if (ask.peer === peer) answer(ctx, askId, out, { code: ActorCodes.peerDisconnected })
  for (const [key, pair] of ctx.pairs) if (pair.peer === peer && pair.unacked.size > 0) stepPair(ctx, key, pair, { type: 'peer.lost' }, out)
  failSpawns(ctx, peer, ActorCodes.peerDisconnected, out)
  if (!ctx.closing) scheduleRedial(ctx, peer, out)
}

function scheduleRedial(ctx: ActorsContext, peer: string, out: Out[]): void {
  const link = ctx.links.get(peer)
  if (!link || !owesAcks(ctx, peer)) return
  out.push({ kind: 'cancel', id: `redial:${peer}` })
  out.push({ kind: 'later', event: { type: 'actors.redial', peer }, delay: link.redialDelay, id: `redial:${peer}` })
  link.redialDelay = Math.min(link.redialDelay * 2, ctx.timeouts.redialMax)
}

export function onRedial(ctx: ActorsContext, peer: string, out: Out[]): void {
  if (ctx.connected.has(peer) || ctx.closing || !owesAcks(ctx, peer)) return releaseLink(ctx, peer)
  ensureDial(ctx, peer, out)
}

/**
 * Forget a peer's link once nothing needs it: the peer is not connected (a connected peer's
 * link keeps the address it was dialed by, for reports), nothing waits in it, no dial runs,
 * no watch on it is in its grace period and no at-least-once event to it waits for an
 * acknowledgement (the redial backoff). So the links are bounded by the connected peers, the
 * peers being dialed, those in a watch grace period and those with unacknowledged pairs
 * (`maxPairs`), however many peers came and went.
 */
export function releaseLink(ctx: ActorsContext, peer: string): void {
  const link = ctx.links.get(peer)
  if (!link || ctx.connected.has(peer) || link.dialing || link.inGrace || link.waiting.length > 0) return
  if (!ctx.closing && owesAcks(ctx, peer)) return
  ctx.links.delete(peer)
}
