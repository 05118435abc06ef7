/**
 * The pubsub wire format: RPC bodies as msgpack-friendly plain objects, and `parseRpc`, the
 * strict shape check the swarm runs on every frame before the machine sees it.
 *
 * One RPC carries subscription changes, messages and control parts (gossipsub's RPC, with
 * short keys). A message carries its author's peer id and ed25519 public key, a sequence
 * number, the topic, the data and a signature over `signedBytes` (a domain tag followed by a
 * length-prefixed canonical encoding of author, seqno, topic and data).
 *
 * Message id = sha256(signedBytes ‖ signature), first 20 bytes. It covers the content *and*
 * the signature: ed25519 signatures are deterministic and verification is strict, so an honest
 * message has exactly one valid id, and a forged copy (same content, bad signature) gets an id
 * of its own — it can neither claim nor poison the honest message's entry in the seen cache.
 *
 * `parseRpc` rejects anything not of this exact shape, with unknown keys, or over any bound
 * of `WireLimits`; the swarm then closes the connection (`invalid-message`).
 * @module
 */
import { protocolSignaturePrefix } from '../lib/signer.js'
import { createSlab, slabPart } from '../lib/slab.js'
import { DEFAULT_PARAMS, type WireLimits } from './params.js'

/** The protocol id. */
export const PUBSUB_ID = '/xswarm/pubsub/1'
/** What pubsub's signer puts before the signed bytes (machines/lib/signer.ts). */
export const PUBSUB_SIGNATURE_PREFIX = protocolSignaturePrefix(PUBSUB_ID)

/** Length of a message id on the wire. */
export const ID_LENGTH = 20
export const PUBLIC_KEY_LENGTH = 32
export const SIGNATURE_LENGTH = 64
/** Longest author peer id text accepted (base58/base32 of a sha256 is 44–52 characters). */
export const MAX_PEER_ID_LENGTH = 128

/** A subscription change: `on` true = subscribe. */
export interface SubOpt { t: string; on: boolean }

/** A signed message. */
export interface WireMessage {
  /** Author peer id (text form of sha256(k)). */
  f: string
  /** Author ed25519 public key. */
  k: Uint8Array
  /** Sequence number (non-negative safe integer; authors use 32-bit values). */
  n: number
  /** Topic. */
  t: string
  /** Data. */
  d: Uint8Array
  /** Signature over `signedBytes`. */
  s: Uint8Array
}

export interface IHave { t: string; ids: Uint8Array[] }
export interface Prune { t: string; /** Backoff in seconds the sender asks for. */ b?: number }

/**
 * Control parts (gossipsub ControlMessage plus v1.2 IDONTWANT, and, for large messages, an
 * announce and a request in the manner of the gossipsub v2.0 proposal's IANNOUNCE / INEED).
 */
export interface Control {
  ihave?: IHave[]
  iwant?: Uint8Array[]
  graft?: string[]
  prune?: Prune[]
  idw?: Uint8Array[]
  /** IANNOUNCE: large messages the sender has (for a mesh peer: instead of pushing them); implies IDONTWANT. */
  iann?: Uint8Array[]
  /** INEED: send me these messages you announced (one announcer asked at a time). */
  ineed?: Uint8Array[]
}

export interface Rpc {
  sub?: SubOpt[]
  msg?: WireMessage[]
  ctl?: Control
}

/** Peer id text: base58/base32/hex/base64url alphabets only (ASCII, so |f| fits the u8 prefix). */
export const PEER_ID_TEXT = /^[A-Za-z0-9_-]+$/
const DOMAIN = new TextEncoder().encode('xswarm/pubsub/1\n')
const utf8 = new TextEncoder()

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const key in obj) if (!allowed.includes(key)) return false
  return true
}

function isTopic(value: unknown, limits: WireLimits): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= limits.maxTopicLength
}

function isId(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === ID_LENGTH
}

function idList(value: unknown, max: number): Uint8Array[] | undefined {
  if (!Array.isArray(value) || value.length > max) return undefined
  for (const id of value) if (!isId(id)) return undefined
  return value as Uint8Array[]
}

// The keys each object may have, made once (not an array literal per object checked).
const RPC_KEYS = ['sub', 'msg', 'ctl']
const SUB_KEYS = ['t', 'on']
const MESSAGE_KEYS = ['f', 'k', 'n', 't', 'd', 's']
const CONTROL_KEYS = ['ihave', 'iwant', 'graft', 'prune', 'idw', 'iann', 'ineed']
const IHAVE_KEYS = ['t', 'ids']
const PRUNE_KEYS = ['t', 'b']
const ID_LIST_KEYS = ['idw', 'iann', 'ineed'] as const

function parseSub(value: unknown, limits: WireLimits): SubOpt | undefined {
  if (!isPlainObject(value) || !onlyKeys(value, SUB_KEYS)) return undefined
  if (!isTopic(value.t, limits) || typeof value.on !== 'boolean') return undefined
  return { t: value.t, on: value.on }
}

/** Shape check of one message (signature and author are checked later, after dedup). */
export function parseMessage(value: unknown, limits: WireLimits = DEFAULT_PARAMS): WireMessage | undefined {
  if (!isPlainObject(value) || !onlyKeys(value, MESSAGE_KEYS)) return undefined
  const { f, k, n, t, d, s } = value
  if (typeof f !== 'string' || f.length > MAX_PEER_ID_LENGTH || !PEER_ID_TEXT.test(f)) return undefined
  if (!(k instanceof Uint8Array) || k.length !== PUBLIC_KEY_LENGTH) return undefined
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return undefined
  if (!isTopic(t, limits)) return undefined
  if (!(d instanceof Uint8Array) || d.length > limits.maxMessageSize) return undefined
  if (!(s instanceof Uint8Array) || s.length !== SIGNATURE_LENGTH) return undefined
  // Exactly these six fields, each checked: the decoded object itself (no copy per message).
  return value as unknown as WireMessage
}

function parseControl(value: unknown, limits: WireLimits): Control | undefined {
  if (!isPlainObject(value) || !onlyKeys(value, CONTROL_KEYS)) return undefined
  const ctl: Control = {}
  if (value.ihave !== undefined) {
    if (!Array.isArray(value.ihave) || value.ihave.length > limits.maxIhaveTopicsPerRpc) return undefined
    let total = 0
    const ihave: IHave[] = []
    for (const entry of value.ihave) {
      if (!isPlainObject(entry) || !onlyKeys(entry, IHAVE_KEYS) || !isTopic(entry.t, limits)) return undefined
      const ids = idList(entry.ids, limits.maxIhaveIdsPerRpc)
      if (!ids || (total += ids.length) > limits.maxIhaveIdsPerRpc) return undefined
      ihave.push({ t: entry.t, ids })
    }
    ctl.ihave = ihave
  }
  if (value.iwant !== undefined) {
    const ids = idList(value.iwant, limits.maxIwantIdsPerRpc)
    if (!ids) return undefined
    ctl.iwant = ids
  }
  for (const key of ID_LIST_KEYS) {
    if (value[key] === undefined) continue
    const ids = idList(value[key], limits.maxIdontwantIdsPerRpc)
    if (!ids) return undefined
    ctl[key] = ids
  }
  if (value.graft !== undefined) {
    if (!Array.isArray(value.graft) || value.graft.length > limits.maxGraftsPerRpc) return undefined
    for (const t of value.graft) if (!isTopic(t, limits)) return undefined
    ctl.graft = value.graft as string[]
  }
  if (value.prune !== undefined) {
    if (!Array.isArray(value.prune) || value.prune.length > limits.maxPrunesPerRpc) return undefined
    const prune: Prune[] = []
    for (const entry of value.prune) {
      if (!isPlainObject(entry) || !onlyKeys(entry, PRUNE_KEYS) || !isTopic(entry.t, limits)) return undefined
      const b = entry.b
      if (b !== undefined && (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0 || b * 1000 > limits.maxBackoff)) return undefined
      prune.push(b === undefined ? { t: entry.t } : { t: entry.t, b })
    }
    ctl.prune = prune
  }
  return ctl
}

/**
 * The protocol's `parse`: the body as an `Rpc`, or `undefined` if it is not exactly of that
 * shape or exceeds any bound (every list length, id length, topic length, data size).
 */
export function parseRpc(body: unknown, limits: WireLimits = DEFAULT_PARAMS): Rpc | undefined {
  if (!isPlainObject(body) || !onlyKeys(body, RPC_KEYS)) return undefined
  const rpc: Rpc = {}
  if (body.sub !== undefined) {
    if (!Array.isArray(body.sub) || body.sub.length > limits.maxSubscriptionsPerRpc) return undefined
    const sub: SubOpt[] = []
    for (const entry of body.sub) {
      const parsed = parseSub(entry, limits)
      if (!parsed) return undefined
      sub.push(parsed)
    }
    rpc.sub = sub
  }
  if (body.msg !== undefined) {
    if (!Array.isArray(body.msg) || body.msg.length > limits.maxMessagesPerRpc) return undefined
    // Each message is checked as it is (parseMessage copies nothing), so the list is too.
    for (const entry of body.msg) if (!parseMessage(entry, limits)) return undefined
    rpc.msg = body.msg as WireMessage[]
  }
  if (body.ctl !== undefined) {
    const ctl = parseControl(body.ctl, limits)
    if (!ctl) return undefined
    rpc.ctl = ctl
  }
  return rpc
}

/**
 * The protocol's `merge`: two RPCs from one peer, `first` then `next`, as one RPC that the router
 * handles exactly as the two in turn (subscriptions, then messages, then control parts), so a
 * batch of forwarded messages costs one step. That holds when `first` has no control part and
 * `next` no subscription change; otherwise `undefined` (they stay apart). The merged RPC keeps
 * within `maxMessagesPerRpc` (so it is never more work between two of the router's checks of
 * the peer, such as the graylist, than one RPC the peer could send). `first` came from
 * `parseRpc` (or an earlier merge): its message list is extended in place.
 */
export function mergeRpcs(first: Rpc, next: Rpc, limits: WireLimits = DEFAULT_PARAMS): Rpc | undefined {
  if (first.ctl !== undefined || next.sub !== undefined) return undefined
  if ((first.msg?.length ?? 0) + (next.msg?.length ?? 0) > limits.maxMessagesPerRpc) return undefined
  if (next.msg !== undefined) {
    if (first.msg === undefined) first.msg = next.msg
    else for (const m of next.msg) first.msg.push(m)
  }
  if (next.ctl !== undefined) first.ctl = next.ctl
  return first
}

/**
 * The bytes an author signs, with 64 spare bytes at the end for the signature so the message
 * id (sha256 over both) needs no second copy: `buffer.subarray(0, signedLength)` is signed.
 * Layout: "xswarm/pubsub/1\n" ‖ u8 |f| ‖ f ‖ u32 n_hi ‖ u32 n_lo ‖ u16 |t| ‖ t ‖ d.
 */
export function signedBytes(f: string, n: number, t: string, d: Uint8Array): { buffer: Uint8Array; signedLength: number } {
  const { buffer, end } = prefixedSignedBytes(EMPTY, f, n, t, d)
  return { buffer, signedLength: end }
}

/**
 * `signedBytes` written after `prefix` in one buffer: prefix ‖ signed bytes ‖ 64 spare bytes.
 * The signed bytes are `buffer.subarray(prefix.length, end)`. With the signer's prefix
 * (protocolSignaturePrefix) in front, `buffer.subarray(0, end)` is what the signature covers
 * and `buffer.subarray(prefix.length)` is what the message id hashes, so a received message
 * is copied once, not once for its id and again for its verification.
 */
export function prefixedSignedBytes(prefix: Uint8Array, f: string, n: number, t: string, d: Uint8Array): { buffer: Uint8Array; end: number } {
  // Author ids are ASCII (parseRpc checks it; ours is base58); topics may be any UTF-8.
  const topic = isAscii(t) ? undefined : utf8.encode(t)
  const topicLength = topic ? topic.length : t.length
  const end = prefix.length + DOMAIN.length + 1 + f.length + 8 + 2 + topicLength + d.length
  const buffer = signedBuffer(end + SIGNATURE_LENGTH)
  buffer.set(prefix, 0)
  let at = prefix.length
  buffer.set(DOMAIN, at); at += DOMAIN.length
  buffer[at++] = f.length
  for (let i = 0; i < f.length; i++) buffer[at++] = f.charCodeAt(i) & 0x7f
  at = writeUint32(buffer, at, Math.floor(n / 0x1_0000_0000))
  at = writeUint32(buffer, at, n >>> 0)
  buffer[at++] = topicLength >>> 8
  buffer[at++] = topicLength & 0xff
  if (topic) { buffer.set(topic, at); at += topic.length } else for (let i = 0; i < t.length; i++) buffer[at++] = t.charCodeAt(i)
  buffer.set(d, at)
  return { buffer, end }
}

const EMPTY = new Uint8Array(0)

/** Big-endian `value` (an unsigned 32-bit integer) at `at`; returns the index after it. */
function writeUint32(buffer: Uint8Array, at: number, value: number): number {
  buffer[at] = value >>> 24
  buffer[at + 1] = (value >>> 16) & 0xff
  buffer[at + 2] = (value >>> 8) & 0xff
  buffer[at + 3] = value & 0xff
  return at + 4
}

/** Signed bytes of messages below this size share a buffer (`signedBuffer`). */
const SHARED_BELOW = 4096
const signedSlab = createSlab(16384)

/**
 * A buffer of `size` bytes for `prefixedSignedBytes`: for a small message, a part of a shared
 * 16 KiB slab (machines/lib/slab.ts; once per message per node). Parts are held only while a
 * message is hashed, verified or signed, so a shared buffer outlives its last part by little.
 */
function signedBuffer(size: number): Uint8Array {
  if (size >= SHARED_BELOW) return new Uint8Array(size)
  return slabPart(signedSlab, size, 8) // word-aligned parts, as the hash and the verifier like
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

const HEX_DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0))
/** Character codes of one id's hex text, reused (filled and read within one call). */
const hexCodes: number[] = new Array(2 * ID_LENGTH).fill(0)

/**
 * Lower-case hex of a message id (the form used in events and as a Map key). Built in one
 * `String.fromCharCode`, so it is one flat string: appending two digits at a time made a rope of
 * 20 pieces, about 600 bytes of heap for every id a cache keeps (bench/pubsub/heap-at-rest.mjs).
 */
export function idToHex(id: Uint8Array): string {
  const codes = id.length === ID_LENGTH ? hexCodes : new Array<number>(2 * id.length)
  for (let i = 0; i < id.length; i++) {
    codes[2 * i] = HEX_DIGITS[id[i] >> 4]
    codes[2 * i + 1] = HEX_DIGITS[id[i] & 15]
  }
  return String.fromCharCode.apply(null, codes)
}

/** Rough encoded size of a message, for splitting RPCs under maxRpcSize. */
export function messageSize(m: WireMessage): number {
  return m.d.length + m.f.length + m.t.length + PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH + 32
}
