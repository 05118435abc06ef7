/**
 * Peer ids: sha256 of a peer's 32-byte ed25519 public key, printed as text.
 *
 * The canonical text form is base58btc (Bitcoin alphabet, 32 to 44 characters; e.g.
 * `7XvJ...`). The RFC 4648 base32 form (lowercase, no padding, exactly 52 characters) is
 * accepted wherever an id is parsed, and `peerIdToBase32` prints it, for places that need a
 * case-insensitive, DNS-safe label. The two forms cannot be confused: base58 of 32 bytes is
 * at most 44 characters.
 *
 * Pure, for machines: the hash function is injected (a CryptoSuite's `sha256`), and nothing
 * here throws on peer-controlled text: `peerIdBytes` answers `null`. Functions that take a
 * caller's argument throw TypeError/RangeError on a bad one.
 * @module
 */
import { base32nopad, base58 } from '@scure/base'

/** Bytes in a peer id digest (sha256). */
export const PEER_ID_BYTES = 32
/** Bytes in an ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32
/** Length of the base32 form of a peer id. */
export const PEER_ID_BASE32_LENGTH = 52

const BASE58_MIN = 32 // 32 zero bytes encode as 32 '1's
const BASE58_MAX = 44

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || (ArrayBuffer.isView(value) && value.constructor?.name === 'Uint8Array')
}

/**
 * The canonical peer id of an ed25519 public key.
 * @param sha256 the hash function (must return 32 bytes)
 * @param publicKey the 32-byte ed25519 public key
 * @returns the base58btc peer id
 * @example peerIdFromPublicKey(suite.sha256, identityKey)
 */
export function peerIdFromPublicKey(sha256: (bytes: Uint8Array) => Uint8Array, publicKey: Uint8Array): string {
  if (typeof sha256 !== 'function') throw new TypeError(`"sha256" expected function, got ${typeof sha256}`)
  if (!isBytes(publicKey)) throw new TypeError(`"publicKey" expected Uint8Array of length ${PUBLIC_KEY_BYTES}`)
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new RangeError(`"publicKey" expected Uint8Array of length ${PUBLIC_KEY_BYTES}, got length=${publicKey.length}`)
  }
  return peerIdFromDigest(sha256(publicKey))
}

/**
 * The canonical peer id of a 32-byte digest (the inverse of `peerIdBytes`).
 * @example peerIdFromDigest(peerIdBytes(id)!) === canonicalPeerId(id)
 */
export function peerIdFromDigest(digest: Uint8Array): string {
  if (!isBytes(digest)) throw new TypeError(`"digest" expected Uint8Array of length ${PEER_ID_BYTES}`)
  if (digest.length !== PEER_ID_BYTES) {
    throw new RangeError(`"digest" expected Uint8Array of length ${PEER_ID_BYTES}, got length=${digest.length}`)
  }
  return base58.encode(digest)
}

/**
 * Parse a peer id in either text form.
 * @returns the 32-byte digest, or null when `id` is not a valid peer id (never throws)
 * @example peerIdBytes('not an id') === null
 */
export function peerIdBytes(id: string): Uint8Array | null {
  if (typeof id !== 'string') return null
  const n = id.length
  try {
    if (n === PEER_ID_BASE32_LENGTH) {
      // Lowercase only, so each id has exactly one base32 spelling; scure rejects non-zero padding bits.
      for (let i = 0; i < n; i++) {
        const c = id.charCodeAt(i)
        if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x32 && c <= 0x37))) return null
      }
      const bytes = base32nopad.decode(id.toUpperCase())
      return bytes.length === PEER_ID_BYTES ? bytes : null
    }
    // Length first: base58 decoding is quadratic, and a stranger controls this string.
    if (n < BASE58_MIN || n > BASE58_MAX) return null
    const bytes = base58.decode(id)
    if (bytes.length !== PEER_ID_BYTES) return null
    // Canonical: one spelling per id (re-encoding must give the same text).
    return base58.encode(bytes) === id ? bytes : null
  } catch {
    return null
  }
}

/** True when `s` is a peer id in either text form. */
export function isPeerId(s: unknown): s is string {
  return typeof s === 'string' && peerIdBytes(s) !== null
}

/**
 * The canonical (base58btc) form of a peer id given in either form.
 * @throws TypeError when `id` is not a string, RangeError when it is not a valid peer id
 */
export function canonicalPeerId(id: string): string {
  return peerIdFromDigest(parseOrThrow(id))
}

/**
 * The base32 form (lowercase RFC 4648, no padding, 52 characters) of a peer id given in either form.
 * @throws TypeError when `id` is not a string, RangeError when it is not a valid peer id
 */
export function peerIdToBase32(id: string): string {
  return base32nopad.encode(parseOrThrow(id)).toLowerCase()
}

function parseOrThrow(id: string): Uint8Array {
  if (typeof id !== 'string') throw new TypeError(`"id" expected string, got ${typeof id}`)
  const bytes = peerIdBytes(id)
  if (bytes === null) throw new RangeError(`"id" expected a peer id (base58btc or base32), got '${id.slice(0, 64)}'`)
  return bytes
}
