/**
 * `readable(value)`: any machine context or event turned into small plain JSON data that shows
 * what it holds, for the inspection stream.
 *
 * Why: an inspector serializes with JSON.stringify, which shows a Map or Set as `{}` (the root's
 * connections and pubsub's peers looked empty), a Uint8Array as `{"0":12,"1":250,…}` (a 32-byte
 * key as 330 characters, a frame body as kilobytes), and walks into machine definitions kept in
 * context. Here a Map becomes a record (string or number keys) or an array of `[key, value]`
 * pairs, a Set an array, bytes a short hex text (`<hex 1a2b3c4d… 32 B>`), an actor ref
 * `<actor id>`, a machine `<machine id>`, a protocol definition `<protocol /id>` (its options
 * show in its own actor's context, so the root's snapshots do not repeat them), a peer chart
 * `<peer chart id>`; functions are left out. Every level is bounded (depth,
 * entries, string length), so one snapshot costs a bounded amount however large the state.
 * Fields named like secrets (`privateKey`, `psk`, the Noise chaining and cipher keys, …) read
 * `<redacted>` when they hold bytes or objects (a count named `k` stays): the machines keep no
 * secrets in context, this is a second fence.
 * @module
 */
import { Secret, SECRET_LABEL } from '../../machines/lib/secret.js'

export interface ReadableLimits {
  /** Nesting levels shown; deeper values read `<…>`. */
  depth: number
  /** Entries shown per array, map, set or object; the rest is counted in a `…` entry. */
  entries: number
  /** Characters shown per string. */
  chars: number
  /** Bytes shown as hex per byte array. */
  bytes: number
}

export const DEFAULT_READABLE_LIMITS: ReadableLimits = { depth: 6, entries: 32, chars: 200, bytes: 8 }

/** Field names whose values are never shown. */
const SECRET_FIELDS = new Set(['privateKey', 'ephemeralPrivateKey', 'secretKey', 'psk', 'drbg', 'ck', 'k', 'sign', 'secret'])

const hex = (bytes: Uint8Array, n: number): string => {
  let out = ''
  for (let i = 0; i < Math.min(n, bytes.length); i++) out += bytes[i].toString(16).padStart(2, '0')
  return `<hex ${out}${bytes.length > n ? '…' : ''} ${bytes.length} B>`
}

type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain }

const isActorRef = (v: object): v is { id: string; sessionId: string } =>
  typeof (v as { sessionId?: unknown }).sessionId === 'string' && typeof (v as { send?: unknown }).send === 'function'

const isMachine = (v: object): v is { id: string } =>
  typeof (v as { transition?: unknown }).transition === 'function' && typeof (v as { config?: unknown }).config === 'object'

/** A protocol definition (`defineProtocol`): an id and a machine. */
const isProtocol = (v: object): v is { id: string; machine: object } =>
  typeof (v as { id?: unknown }).id === 'string' && typeof (v as { machine?: unknown }).machine === 'object' &&
  (v as { machine: object | null }).machine !== null && isMachine((v as { machine: object }).machine)

/** A peer chart (`peerChart(machine, actions)`, machines/lib/peer-chart.ts). */
const isPeerChart = (v: object): v is { machine: { id: string } } =>
  typeof (v as { send?: unknown }).send === 'function' && typeof (v as { machine?: unknown }).machine === 'object' &&
  (v as { machine: object | null }).machine !== null && isMachine((v as { machine: object }).machine)

/** Plain, bounded, secret-free data for `value` (see the module comment). */
export function readable(value: unknown, limits: ReadableLimits = DEFAULT_READABLE_LIMITS): Plain | undefined {
  return convert(value, limits, limits.depth, new WeakSet())
}

function convert(value: unknown, limits: ReadableLimits, depth: number, seen: WeakSet<object>): Plain | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > limits.chars ? `${value.slice(0, limits.chars)}… (${value.length} chars)` : value
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'boolean':
      return value
    case 'bigint':
      return `${value}n`
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined
  }
  if (value === null) return null
  const object = value as object
  if (ArrayBuffer.isView(object)) return hex(new Uint8Array(object.buffer, object.byteOffset, object.byteLength), limits.bytes)
  if (object instanceof ArrayBuffer) return hex(new Uint8Array(object), limits.bytes)
  if (isActorRef(object)) return `<actor ${object.id}>`
  if (isMachine(object)) return `<machine ${object.id}>`
  if (isProtocol(object)) return `<protocol ${object.id}>`
  if (isPeerChart(object)) return `<peer chart ${object.machine.id}>`
  if (object instanceof Secret) return SECRET_LABEL
  if (object instanceof Date) return object.toISOString()
  if (object instanceof Error) return `${object.name}: ${object.message}`
  if (seen.has(object)) return '<circular>'
  if (depth <= 0) return '<…>'
  seen.add(object)
  try {
    if (Array.isArray(object)) return list(object, object.length, limits, depth, seen)
    if (object instanceof Set) return list(object, object.size, limits, depth, seen)
    if (object instanceof Map) return map(object, limits, depth, seen)
    return record(Object.entries(object), Object.keys(object).length, limits, depth, seen)
  } finally {
    seen.delete(object)
  }
}

function list(items: Iterable<unknown>, size: number, limits: ReadableLimits, depth: number, seen: WeakSet<object>): Plain[] {
  const out: Plain[] = []
  for (const item of items) {
    if (out.length === limits.entries) break
    out.push(convert(item, limits, depth - 1, seen) ?? null)
  }
  if (size > out.length) out.push(`… ${size - out.length} more`)
  return out
}

/** A Map with string or number keys reads as a record; other keys as `[key, value]` pairs. */
function map(m: Map<unknown, unknown>, limits: ReadableLimits, depth: number, seen: WeakSet<object>): Plain {
  let plainKeys = true
  for (const key of m.keys()) if (typeof key !== 'string' && typeof key !== 'number') { plainKeys = false; break }
  if (plainKeys) return record(m.entries() as Iterable<[string, unknown]>, m.size, limits, depth, seen)
  const pairs: [unknown, unknown][] = []
  for (const entry of m) {
    if (pairs.length === limits.entries) break
    pairs.push(entry)
  }
  const out = pairs.map(([k, v]) => [convert(k, limits, depth - 2, seen) ?? null, convert(v, limits, depth - 2, seen) ?? null])
  if (m.size > pairs.length) out.push([`… ${m.size - pairs.length} more`, null])
  return out
}

function record(entries: Iterable<[string | number, unknown]>, size: number, limits: ReadableLimits, depth: number, seen: WeakSet<object>): Plain {
  const out: { [key: string]: Plain } = {}
  let shown = 0
  for (const [key, item] of entries) {
    if (shown === limits.entries) break
    shown++
    const name = String(key)
    if (SECRET_FIELDS.has(name) && typeof item === 'object' && item !== null) {
      out[name] = '<redacted>'
      continue
    }
    const plain = convert(item, limits, depth - 1, seen)
    if (plain !== undefined) out[name] = plain
  }
  if (size > shown) out['…'] = `${size - shown} more`
  return out
}
