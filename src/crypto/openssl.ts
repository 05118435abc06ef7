/**
 * opensslSuite: the CryptoSuite on `node:crypto` (OpenSSL), several times faster than nobleSuite.
 *
 * nativeSuite (./native.ts) is libsodium where sodium-native loads, and this suite where it does
 * not; it also takes SHA-256, HMAC and long messages from here. It passes the same known-answer
 * tests as the portable nobleSuite (machines/lib/crypto-noble.ts) and follows the same
 * strictness rules:
 * - ed25519 verification rejects non-canonical and small-order public keys. OpenSSL does not
 *   check the key itself, so two byte checks run before it: the encoded y must be below
 *   p = 2^255 - 19 (canonical), and the encoding must not be one of the small-order points'
 *   (the 8-torsion subgroup, derived once at module load with noble, with both sign bits, so
 *   the non-canonical "negative zero" x of the order-1 and order-2 points is refused too).
 *   That is what noble's strict decoding + `isSmallOrder()` accepts, without its ~200 µs
 *   point decompression; OpenSSL decodes the rest itself and fails a point off the curve.
 *   OpenSSL itself rejects S >= L and compares R by its canonical encoding. One difference
 *   remains and is accepted: OpenSSL checks
 *   the cofactorless equation, noble the cofactored one, so a signature whose R carries a
 *   deliberate small-order component (never produced by an honest signer) verifies under noble
 *   only.
 * - x25519 returns `null` for a malformed or low-order public key (all-zero shared secret).
 * - AEAD decryption returns `null` on failure. Nothing taking peer input throws.
 *
 * Importing a raw key into a KeyObject can cost more than the operation itself, so KeyObjects
 * are cached in two small bounded LRU maps keyed by the key bytes (see the cache sizes below).
 * A public key met for the first time goes to a small cache of new keys, which serves the rest
 * of its handshake (a remote ephemeral key is used twice); only a key met again after that (a
 * peer's static or identity key on a later handshake) enters the main LRU, so the ephemeral
 * keys of many handshakes never evict the keys worth keeping.
 * Keys are imported as OKP JWKs, not as PKCS8/SPKI DER: on Node 20 / OpenSSL 3 a DER import
 * goes through the decoder framework and measured ~455 µs for an X25519 private key and
 * ~106 µs for a public key, against ~45 µs and ~10 µs as JWK (the same raw-key OpenSSL call).
 * Results are plain `Uint8Array` views of Node's buffers (no copies).
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { equalBytes } from '../identity/keypair.js'
import { checkSecretKey, isAllZero, TAG_LENGTH, view } from './bytes.js'

/** Public KeyObjects (and rejection verdicts) kept before the least recently used is dropped. */
export const PUBLIC_KEY_CACHE_SIZE = 1024
/**
 * Private KeyObjects kept. Small on purpose: ephemeral secrets must not linger (forward secrecy),
 * yet an ephemeral is reused within its handshake (public key, ee, es/se) and the static and
 * identity keys stay hot because every hit moves them to the back.
 */
export const PRIVATE_KEY_CACHE_SIZE = 64

const EMPTY = new Uint8Array(0)
/** Node reads only `d` of a private OKP JWK (and derives the public key); `x` must merely be a string. */
const UNUSED_X = Buffer.alloc(32).toString('base64url')

/** A bounded least-recently-used map; `null` values record public keys OpenSSL would not import. */
class KeyCache {
  private readonly map = new Map<string, KeyObject | null>()
  constructor(private readonly limit: number) {}

  get(id: string): KeyObject | null | undefined {
    const value = this.map.get(id)
    if (value !== undefined) {
      this.map.delete(id)
      this.map.set(id, value)
    }
    return value
  }

  set<T extends KeyObject | null>(id: string, value: T): T {
    if (this.map.size >= this.limit) {
      const oldest = this.map.keys().next().value
      if (oldest !== undefined) this.map.delete(oldest)
    }
    this.map.set(id, value)
    return value
  }
}

const privateKeys = new KeyCache(PRIVATE_KEY_CACHE_SIZE)
const publicKeys = new KeyCache(PUBLIC_KEY_CACHE_SIZE)

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/** A private KeyObject from a 32-byte seed (curve 'Ed25519' or 'X25519'); throws on a bad local key. */
function privateKey(crv: 'Ed25519' | 'X25519', raw: Uint8Array): KeyObject {
  checkSecretKey(raw)
  const d = b64url(raw)
  const id = crv + d
  const cached = privateKeys.get(id)
  if (cached) return cached
  return privateKeys.set(id, createPrivateKey({ key: { kty: 'OKP', crv, d, x: UNUSED_X }, format: 'jwk' }))
}

function publicKeyObject(crv: 'Ed25519' | 'X25519', x: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x }, format: 'jwk' })
}

/** Public keys met for the first time, kept for the handshake that brought them (a few ms). */
export const NEW_PUBLIC_KEY_CACHE_SIZE = 128
const newPublicKeys = new KeyCache(NEW_PUBLIC_KEY_CACHE_SIZE)
/**
 * Public keys seen before, by their bytes only (no KeyObject): a key met again after it left
 * `newPublicKeys` (a peer's static or identity key on a later handshake) is admitted to
 * `publicKeys`; a remote ephemeral key, used only within its handshake, never is.
 */
const seenPublicKeys = new Set<string>()

/** The cached verdict for a public key, else `make()`'s, kept as described above. */
function publicKeyLookup(id: string, make: () => KeyObject | null): KeyObject | null {
  const cached = publicKeys.get(id)
  if (cached !== undefined) return cached
  const recent = newPublicKeys.get(id)
  if (recent !== undefined) return recent
  const key = make()
  if (seenPublicKeys.delete(id)) return publicKeys.set(id, key)
  if (seenPublicKeys.size >= PUBLIC_KEY_CACHE_SIZE) {
    const oldest = seenPublicKeys.values().next().value
    if (oldest !== undefined) seenPublicKeys.delete(oldest)
  }
  seenPublicKeys.add(id)
  return newPublicKeys.set(id, key)
}

/** An x25519 public KeyObject, or null when the bytes cannot be imported. */
function x25519PublicKeyObject(raw: Uint8Array): KeyObject | null {
  const x = b64url(raw)
  return publicKeyLookup('X25519' + x, () => {
    try {
      return publicKeyObject('X25519', x)
    } catch {
      return null
    }
  })
}

/**
 * The base64url encodings of the 8-torsion subgroup of edwards25519 (the small-order points),
 * each also with the sign bit flipped: 10 distinct encodings. Derived with noble: T = L·P has
 * order 8 for a point P with a torsion component of order 8; its multiples are the subgroup.
 */
function smallOrderEncodings(): Set<string> {
  const Point = ed25519.Point
  const n = Point.CURVE().n
  let t: InstanceType<typeof Point> | undefined
  for (let y = 2; t === undefined && y < 256; y++) {
    const bytes = new Uint8Array(32)
    bytes[0] = y
    let p: InstanceType<typeof Point>
    try {
      p = Point.fromBytes(bytes, false)
    } catch {
      continue
    }
    const torsion = p.multiplyUnsafe(n - 1n).add(p)
    if (!torsion.double().double().is0()) t = torsion
  }
  if (t === undefined) throw new Error('no point of order 8 found')
  const out = new Set<string>()
  let m = Point.ZERO
  for (let k = 0; k < 8; k++) {
    const bytes = m.toBytes()
    out.add(b64url(bytes))
    bytes[31] ^= 0x80
    out.add(b64url(bytes))
    m = m.add(t)
  }
  if (out.size !== 10 || !m.is0()) throw new Error('small-order encodings: unexpected subgroup')
  return out
}

const SMALL_ORDER_ED25519 = smallOrderEncodings()

/** Whether the encoded y (sign bit cleared, little-endian) is below p = 2^255 - 19. */
function isCanonicalY(raw: Uint8Array): boolean {
  // y >= p only for y in [p, 2^255 - 1]: byte 31 is 0x7f (sign cleared), bytes 30..1 are 0xff
  // and byte 0 is at least 0xed.
  if ((raw[31] & 0x7f) !== 0x7f) return true
  for (let i = 30; i >= 1; i--) if (raw[i] !== 0xff) return true
  return raw[0] < 0xed
}

/** An ed25519 public KeyObject, or null for a non-canonical, small-order or unimportable key. */
function ed25519PublicKeyObject(raw: Uint8Array): KeyObject | null {
  if (!isCanonicalY(raw)) return null
  const x = b64url(raw)
  if (SMALL_ORDER_ED25519.has(x)) return null
  return publicKeyLookup('Ed25519' + x, () => {
    try {
      return publicKeyObject('Ed25519', x)
    } catch {
      return null
    }
  })
}

/**
 * Verification keys met lately, in a small table indexed by two bytes of the key: pubsub
 * verifies every message with its author's key, so a few keys come back again and again, and
 * a hit costs a 32-byte compare instead of the base64url text and the LRU above. Only keys that
 * passed every check there are kept (a rejected key always takes the full path); a slot holds
 * one key, and a key landing in a taken slot replaces it.
 */
const VERIFY_KEY_SLOTS = 1024
const verifyKeys: ({ raw: Uint8Array; key: KeyObject } | undefined)[] = new Array(VERIFY_KEY_SLOTS).fill(undefined)

function verifyKeyObject(raw: Uint8Array): KeyObject | null {
  const slot = (raw[0] | (raw[1] << 8)) & (VERIFY_KEY_SLOTS - 1)
  const hit = verifyKeys[slot]
  if (hit !== undefined && equalBytes(hit.raw, raw)) return hit.key
  const key = ed25519PublicKeyObject(raw)
  if (key !== null) verifyKeys[slot] = { raw: Uint8Array.from(raw), key }
  return key
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x as string
  return view(Buffer.from(x, 'base64url'))
}

/** ChaCha20-Poly1305 with node:crypto: the ciphertext (a buffer of node's own) and the tag. */
function sealApart(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): [Buffer, Buffer] {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH })
  if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length })
  const body = cipher.update(plaintext)
  const rest = cipher.final() // empty: ChaCha20 is a stream cipher
  return [rest.length === 0 ? body : Buffer.concat([body, rest]), cipher.getAuthTag()]
}

/** The node:crypto suite. See the module comment for its strictness rules. */
export const opensslSuite: CryptoSuite = {
  name: 'openssl',

  sha256(data) {
    return view(hash('sha256', data, 'buffer'))
  },

  hmacSha256(key, data) {
    return view(createHmac('sha256', key).update(data).digest())
  },

  x25519PublicKey(secretKey) {
    return rawPublicKey(privateKey('X25519', secretKey))
  },

  x25519(secretKey, publicKey) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return null
    const priv = privateKey('X25519', secretKey)
    const pub = x25519PublicKeyObject(publicKey)
    if (pub === null) return null
    try {
      // OpenSSL fails on an all-zero result; check anyway so both suites agree by construction.
      const shared = view(diffieHellman({ privateKey: priv, publicKey: pub }))
      return isAllZero(shared) ? null : shared
    } catch {
      return null
    }
  },

  aeadEncrypt(key, nonce, ad, plaintext) {
    const [body, tag] = sealApart(key, nonce, ad, plaintext)
    // Not zero-filled (every byte is written below): a zeroed 64 KiB output cost about 3x the
    // encryption itself (tmp micro-benchmark in the commit message).
    const out = Buffer.allocUnsafe(plaintext.length + TAG_LENGTH)
    out.set(body, 0)
    out.set(tag, plaintext.length)
    return view(out)
  },

  // Node's cipher returns the ciphertext in a buffer of its own: joining the tag to it is a
  // second buffer and a copy (at 64 KiB, 26.5 against 18.4 µs here, and 64 KiB more memory
  // outside the heap, which brings V8's next full GC nearer).
  aeadEncryptDetached(key, nonce, ad, plaintext) {
    const [body, tag] = sealApart(key, nonce, ad, plaintext)
    return [view(body), view(tag)]
  },

  aeadDecrypt(key, nonce, ad, ciphertext) {
    if (!(ciphertext instanceof Uint8Array) || ciphertext.length < TAG_LENGTH) return null
    try {
      const bodyLength = ciphertext.length - TAG_LENGTH
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH })
      decipher.setAuthTag(ciphertext.subarray(bodyLength))
      if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength })
      const body = bodyLength > 0 ? decipher.update(ciphertext.subarray(0, bodyLength)) : EMPTY
      const rest = decipher.final()
      if (rest.length === 0) return body instanceof Buffer ? view(body) : body
      const out = new Uint8Array(body.length + rest.length)
      out.set(body, 0)
      out.set(rest, body.length)
      return out
    } catch {
      return null
    }
  },

  ed25519PublicKey(secretKey) {
    return rawPublicKey(privateKey('Ed25519', secretKey))
  },

  ed25519Sign(secretKey, message) {
    return view(sign(null, message, privateKey('Ed25519', secretKey)))
  },

  ed25519Verify(signature, message, publicKey) {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
    if (!(message instanceof Uint8Array)) return false
    const key = verifyKeyObject(publicKey)
    if (key === null) return false
    try {
      return verify(null, message, key, signature)
    } catch {
      return false
    }
  },
}
