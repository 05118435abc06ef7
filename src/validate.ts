/**
 * Argument validators for the public boundary, in the style of @noble/hashes `utils.ts`.
 *
 * A wrong type throws TypeError, a wrong length or range throws RangeError, and every message
 * is titled with the argument's name: `"secretKey" expected Uint8Array of length 32, got length=31`.
 * The success path runs first and allocates nothing, so the checks cost next to nothing on hot
 * paths. These are for programming errors by the local caller; bytes and strings that come from
 * peers are never checked with these (they get `null`, `false` or an XswarmError instead).
 * @module
 */

/** True for a Uint8Array (Buffer included), also across realms. */
export function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && (value as object).constructor?.name === 'Uint8Array')
  )
}

/** A short, safe description of a value for error messages (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (isBytes(value)) return `Uint8Array(${value.length})`
  const type = typeof value
  if (type === 'object') return (value as object).constructor?.name ?? 'object'
  return type
}

/**
 * Assert a Uint8Array, of exactly `length` bytes when given.
 * @param value the argument
 * @param length the required length, or undefined for any length
 * @param title the argument's name, quoted in the message
 * @returns value, typed
 * @example abytes(key, 32, 'secretKey')
 */
export function abytes(value: unknown, length: number | undefined, title: string): Uint8Array {
  if (isBytes(value)) {
    if (length === undefined || value.length === length) return value
    throw new RangeError(`"${title}" expected Uint8Array of length ${length}, got length=${value.length}`)
  }
  throw new TypeError(`"${title}" expected Uint8Array${length === undefined ? '' : ` of length ${length}`}, got ${describe(value)}`)
}

/**
 * Assert a string, optionally of at most `maxLength` UTF-16 code units.
 * @example astring(protocol, 'protocol', 256)
 */
export function astring(value: unknown, title: string, maxLength?: number): string {
  if (typeof value === 'string') {
    if (maxLength === undefined || value.length <= maxLength) return value
    throw new RangeError(`"${title}" expected a string of at most ${maxLength} characters, got length=${value.length}`)
  }
  throw new TypeError(`"${title}" expected string, got ${describe(value)}`)
}

/**
 * Assert a safe integer in [min, max].
 * @example aint(port, 'port', 0, 65535)
 */
export function aint(value: unknown, title: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`"${title}" expected integer, got ${describe(value)}`)
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value
  throw new RangeError(`"${title}" expected integer in [${min}, ${max}], got ${value}`)
}

/** Assert a non-null object that is not an array. */
export function aobject(value: unknown, title: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !isBytes(value)) {
    return value as Record<string, unknown>
  }
  throw new TypeError(`"${title}" expected object, got ${describe(value)}`)
}
