/**
 * The wire format of `/xswarm/actors/1`, and the check of everything a peer sends.
 *
 * A frame body is an array of 1-256 messages (so envelopes can be batched); each message is a
 * short array whose first element is its kind. `parseActorFrame` turns a body into typed
 * messages or returns `undefined` (the connection then closes with `invalid-message`): shapes,
 * names, ids and counts are checked here, before any machine sees them. An event that is
 * well framed but breaks a limit (too big, too many refs, a ref path that does not point at an
 * address) is kept as a message with `invalid` set, so the receiver answers `rejected` instead
 * of dropping the connection: the sender's ask learns why.
 *
 * An ask is an event from a one-shot reply slot (`from` `~a<n>`, at most once: `seq` 0). Its
 * `epoch` element, which only at-least-once events use, carries the asker's timeout instead
 * (whole ms, 0: not said), so that the host can drop the reply slot when the asker stops
 * waiting (`askHold` in options.ts, protection.ts). The slot was chosen over a ninth element so
 * that both directions between this version and an older one keep working: an older host takes
 * exactly eight elements and ignores `epoch` at `seq` 0, and an older asker sends 0 there (the
 * host then holds the slot its own limit). A timeout that is not a whole number of ms is
 * refused (`rejected`), as an event that breaks a limit is.
 * @module
 */
import { parseActorAddress, WIRE_NAME } from './address.js'
import type { ActorLimits } from './options.js'

/** Failure codes an actor message can end with (README "Actors", XswarmError codes). */
export const ActorCodes = {
  /** Never sent: the node could not be reached. */
  unreachable: 'unreachable',
  /** The node has no actor of that name. */
  noSuchActor: 'no-such-actor',
  /** The target refused it (its `accept`, or a check of the event). */
  rejected: 'rejected',
  /** The target's mailbox is full. */
  overloaded: 'overloaded',
  /** The target stopped before it handled it, or before it answered. */
  actorStopped: 'actor-stopped',
  /** Sent, then the connection was lost: the outcome is unknown. */
  peerDisconnected: 'peer-disconnected',
  /** Sent, no answer in time: the outcome is unknown. */
  timeout: 'timeout',
} as const
export type ActorCode = (typeof ActorCodes)[keyof typeof ActorCodes]
const NACK_CODES = new Set<string>(['no-such-actor', 'rejected', 'overloaded', 'actor-stopped'])

/** Where a ref sits in an event: a path of keys and indexes; the value there is an actor address. */
export type RefPath = (string | number)[]

export type ActorMessage =
  /**
   * An event for actor `to` from actor `from` (`''`: the node itself). `seq` 0: at most once.
   * `epoch`: the sender pair's epoch (at least once); in an ask, the asker's timeout in ms (0: not said; `askWaitOf`).
   */
  | { k: 'msg'; to: string; from: string; event: { type: string }; refs: RefPath[]; trace: string; seq: number; epoch: number; invalid?: string }
  /** `to` handled everything `from` (of sender incarnation `epoch`) sent it up to `seq`. */
  | { k: 'ack'; to: string; from: string; epoch: number; seq: number }
  /** The event from `from` to `to` (its `seq`, 0 if at most once) was not handed over: `code`. */
  | { k: 'nack'; to: string; from: string; code: string; seq: number; trace: string }
  /** Tell me (with this id) when actor `name` stops. */
  | { k: 'watch'; watchId: number; name: string }
  | { k: 'unwatch'; watchId: number }
  /** The watched actor is down. */
  | { k: 'down'; watchId: number; reason: string }
  /** The watched actor restarted (supervision). */
  | { k: 'restarted'; watchId: number; restarts: number }
  /** Start logic `logic` as actor `name` with `input`. */
  | { k: 'spawn'; reqId: number; logic: string; name: string; input: unknown }
  /** The answer to `spawn`: `''` started, else a code. */
  | { k: 'spawned'; reqId: number; code: string }

const KINDS = ['msg', 'ack', 'nack', 'watch', 'unwatch', 'down', 'restarted', 'spawn', 'spawned'] as const
const MAX_BATCH = 256
const MAX_TRACE = 64
const MAX_REASON = 64
const MAX_PATH = 8
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** The wire tuple of an event envelope (`msg`). */
export function encodeEnvelope(to: string, from: string, event: { type: string }, refs: RefPath[], trace: string, seq: number, epoch: number): unknown[] {
  return [0, to, from, event, refs, trace, seq, epoch]
}

/** The wire tuple of a message. */
export function encodeMessage(m: ActorMessage): unknown[] {
  switch (m.k) {
    case 'msg': return encodeEnvelope(m.to, m.from, m.event, m.refs, m.trace, m.seq, m.epoch)
    case 'ack': return [1, m.to, m.from, m.epoch, m.seq]
    case 'nack': return [2, m.to, m.from, m.code, m.seq, m.trace]
    case 'watch': return [3, m.watchId, m.name]
    case 'unwatch': return [4, m.watchId]
    case 'down': return [5, m.watchId, m.reason]
    case 'restarted': return [6, m.watchId, m.restarts]
    case 'spawn': return [7, m.reqId, m.logic, m.name, m.input]
    case 'spawned': return [8, m.reqId, m.code]
  }
}

const isName = (v: unknown): v is string => typeof v === 'string' && WIRE_NAME.test(v)
const isFrom = (v: unknown): v is string => v === '' || isName(v)
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max

/** Check a peer's frame body; `undefined` closes the connection (`invalid-message`). */
export function parseActorFrame(body: unknown, limits: ActorLimits): ActorMessage[] | undefined {
  if (!Array.isArray(body) || body.length === 0 || body.length > MAX_BATCH) return undefined
  const out: ActorMessage[] = []
  for (const raw of body) {
    const m = parseMessage(raw, limits)
    if (m === undefined) return undefined
    out.push(m)
  }
  return out
}

function parseMessage(raw: unknown, limits: ActorLimits): ActorMessage | undefined {
  if (!Array.isArray(raw) || !Number.isInteger(raw[0])) return undefined
  const kind = KINDS[raw[0] as number]
  // Indexed, not destructured: this runs for every envelope.
  const a: unknown = raw[1], b: unknown = raw[2], c: unknown = raw[3], d: unknown = raw[4], e: unknown = raw[5], f: unknown = raw[6], g: unknown = raw[7]
  switch (kind) {
    case 'msg': {
      if (raw.length !== 8 || !isName(a) || !isFrom(b) || !isText(e, MAX_TRACE) || !isId(f)) return undefined
      if (!Array.isArray(d)) return undefined
      if (!isId(g) && !isAsk(b, f)) return undefined
      // An ask whose timeout is not a whole number of ms is refused like a bad event: its asker learns why.
      const invalid = isId(g) ? checkEvent(c, d, limits) : 'ask-timeout'
      if (invalid) return { k: 'msg', to: a, from: b, event: { type: 'xswarm.invalid' }, refs: [], trace: e, seq: f, epoch: 0, invalid }
      return { k: 'msg', to: a, from: b, event: c as { type: string }, refs: d as RefPath[], trace: e, seq: f, epoch: g as number }
    }
    case 'ack':
      return raw.length === 5 && isName(a) && isFrom(b) && isId(c) && isId(d) ? { k: 'ack', to: a, from: b, epoch: c, seq: d } : undefined
    case 'nack':
      return raw.length === 6 && isName(a) && isFrom(b) && typeof c === 'string' && NACK_CODES.has(c) && isId(d) && isText(e, MAX_TRACE)
        ? { k: 'nack', to: a, from: b, code: c, seq: d, trace: e }
        : undefined
    case 'watch': return raw.length === 3 && isId(a) && isName(b) ? { k: 'watch', watchId: a, name: b } : undefined
    case 'unwatch': return raw.length === 2 && isId(a) ? { k: 'unwatch', watchId: a } : undefined
    case 'down': return raw.length === 3 && isId(a) && isText(b, MAX_REASON) && /^[a-z-]+$/.test(b) ? { k: 'down', watchId: a, reason: b } : undefined
    case 'restarted': return raw.length === 3 && isId(a) && isId(b) ? { k: 'restarted', watchId: a, restarts: b } : undefined
    case 'spawn': {
      if (raw.length !== 5 || !isId(a) || !isText(b, 64) || !isName(c) || (c as string).startsWith('~')) return undefined
      if (estimateSize(d, limits.maxEventBytes) > limits.maxEventBytes) return undefined
      return { k: 'spawn', reqId: a, logic: b, name: c, input: d }
    }
    case 'spawned': return raw.length === 3 && isId(a) && isText(b, MAX_REASON) ? { k: 'spawned', reqId: a, code: b } : undefined
    default: return undefined
  }
}

/** An envelope from a one-shot reply slot, at most once: an ask (its `epoch` element is the asker's timeout). */
export function isAsk(from: string, seq: number): boolean {
  return seq === 0 && from.startsWith('~a')
}

/** The timeout an ask envelope carries (ms; 0: not said), or 0 for any other event. */
export function askWaitOf(m: Extract<ActorMessage, { k: 'msg' }>): number {
  return isAsk(m.from, m.seq) ? m.epoch : 0
}

/** What an asker puts in its ask's `epoch` element: its timeout in whole ms (at least 1), at most `MAX_WIRE_WAIT`. */
export function askWaitOnWire(timeout: number): number {
  return Number.isFinite(timeout) && timeout > 0 ? Math.min(Math.ceil(timeout), MAX_WIRE_WAIT) : 0
}

/** The largest timeout an asker puts on the wire (about 24.8 days; hosts clamp it to their `askHold` anyway). */
const MAX_WIRE_WAIT = 2 ** 31 - 1

/** Why an event (with its ref paths) breaks the rules, or `undefined` if it is fine. */
export function checkEvent(event: unknown, refs: unknown[], limits: ActorLimits): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return 'event-not-object'
  const type = (event as { type?: unknown }).type
  if (typeof type !== 'string' || type.length === 0 || type.length > 128) return 'event-type'
  if (estimateSize(event, limits.maxEventBytes) > limits.maxEventBytes) return 'event-too-large'
  if (refs.length > limits.maxRefsPerEvent) return 'too-many-refs'
  for (const path of refs) if (parseActorAddress(refAt(event, path)) === undefined) return 'bad-ref-path'
  return undefined
}

/** The value at a ref path (checked: own keys only, no prototype keys, bounded depth). */
export function refAt(event: unknown, path: unknown): unknown {
  if (!Array.isArray(path) || path.length === 0 || path.length > MAX_PATH) return undefined
  let at: unknown = event
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined
    if (typeof key === 'string') {
      if (FORBIDDEN_KEYS.has(key) || !Object.hasOwn(at, key)) return undefined
      at = (at as Record<string, unknown>)[key]
    } else if (Number.isSafeInteger(key) && Array.isArray(at) && key >= 0 && key < at.length) {
      at = at[key]
    } else {
      return undefined
    }
  }
  return at
}

/**
 * An estimate of a value's msgpack size (strings by UTF-16 length: the frame limit bounds the rest) that stops as soon as it passes `budget` (then it
 * returns a number above it). Depth beyond 32 counts as too big.
 */
export function estimateSize(value: unknown, budget: number): number {
  return sizeOf(value, 0, 0, budget)
}

/** `total` plus the size of `v` (recursive: the depth is bounded by 32; nothing is allocated per value). */
function sizeOf(v: unknown, depth: number, total: number, budget: number): number {
  if (depth > 32) return budget + 1
  if (typeof v === 'string') total += v.length + 5
  else if (typeof v !== 'object' || v === null) total += 9
  else if (v instanceof Uint8Array) total += v.length + 5
  else if (Array.isArray(v)) {
    total += 5
    for (let i = 0; i < v.length && total <= budget; i++) total = sizeOf(v[i], depth + 1, total, budget)
  } else {
    total += 5
    for (const key in v) {
      if (total > budget) break
      if (!Object.hasOwn(v, key)) continue
      total = sizeOf((v as Record<string, unknown>)[key], depth + 1, total + key.length * 3 + 5, budget)
    }
  }
  return total
}
