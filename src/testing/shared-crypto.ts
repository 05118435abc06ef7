/**
 * The simulator's crypto suite: the real one (node:crypto by default), where the answers one
 * simulated node computed are handed to the other nodes that ask the same question, instead of
 * being computed again. Every answer is a pure function of its inputs, so the machines see the
 * same bytes either way, and a run is the same run: only the wall time changes.
 *
 * Why: many nodes in one process repeat each other's work. Both ends of a Noise handshake
 * compute the same Diffie-Hellman secrets (x25519(a, B) = x25519(b, A)), the same HKDF steps
 * and MixHash hashes; what one end encrypts, the other decrypts; and an identity binding or a
 * pubsub message signature is verified by every node that meets it. At 100 nodes this was about
 * a fifth of the simulator's CPU time (bench/README.md, "Simulator: where the time goes").
 *
 * - Pairs (DH, HMAC, short hashes, encrypt → decrypt): the first computation is kept and given
 *   to the second asker, then forgotten. Entries never asked for again (a handshake cut short,
 *   a frame lost) leave in insertion order past `PAIR_LIMIT`.
 * - Verification verdicts are kept in an LRU keyed by signature and public key, with the
 *   message compared byte for byte.
 * A miss computes with the base suite; nothing here ever answers what the base would not.
 * A cache lives as long as its simulation, so no run sees another's entries.
 * @module
 */
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nativeSuite } from '../crypto/native.js'

/** Entries waiting for their second asker (per kind), oldest dropped first. */
export const PAIR_LIMIT = 8192
/** Verification verdicts kept. */
export const VERDICT_LIMIT = 8192
/** Hash inputs longer than this are hashed again rather than keyed (the key would cost more). */
const MAX_KEYED_HASH_INPUT = 512

/** A binary string key for a byte array (one char per byte). */
function k(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
}

/** A map whose entries are taken once, or dropped oldest first past a limit. */
class Pairs<V> {
  private readonly map = new Map<string, V>()
  constructor(private readonly limit: number) {}

  take(key: string): V | undefined {
    const value = this.map.get(key)
    if (value !== undefined) this.map.delete(key)
    return value
  }

  put(key: string, value: V): void {
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value as string)
    this.map.set(key, value)
  }
}

/** A least-recently-used map. */
class Lru<V> {
  private readonly map = new Map<string, V>()
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const value = this.map.get(key)
    if (value !== undefined) {
      this.map.delete(key)
      this.map.set(key, value)
    }
    return value
  }

  set(key: string, value: V): void {
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value as string)
    this.map.set(key, value)
  }
}

interface Sealed { ad: Uint8Array; ciphertext: Uint8Array; plaintext: Uint8Array }
interface Verdict { message: Uint8Array; ok: boolean }

/** `base` (default nativeSuite) with the answers shared between the nodes of one simulation. */
export function sharedCryptoSuite(base: CryptoSuite = nativeSuite): CryptoSuite {
  /** Our private key → its public key (statics and ephemerals), to name a DH by its two public keys. */
  const publicOf = new Lru<Uint8Array>(PAIR_LIMIT)
  const secrets = new Pairs<Uint8Array>(PAIR_LIMIT)
  const macs = new Pairs<Uint8Array>(PAIR_LIMIT)
  const hashes = new Pairs<Uint8Array>(PAIR_LIMIT)
  const sealed = new Pairs<Sealed>(PAIR_LIMIT)
  const verdicts = new Lru<Verdict>(VERDICT_LIMIT)

  return {
    name: `${base.name}+shared`,

    sha256(data) {
      if (data.length > MAX_KEYED_HASH_INPUT) return base.sha256(data)
      const key = k(data)
      const known = hashes.take(key)
      if (known) return known
      const digest = base.sha256(data)
      hashes.put(key, digest.slice())
      return digest
    },

    hmacSha256(key, data) {
      if (data.length > MAX_KEYED_HASH_INPUT) return base.hmacSha256(key, data)
      const id = `${k(key)}|${k(data)}`
      const known = macs.take(id)
      if (known) return known
      const mac = base.hmacSha256(key, data)
      macs.put(id, mac.slice())
      return mac
    },

    x25519PublicKey(privateKey) {
      const id = k(privateKey)
      const known = publicOf.get(id)
      if (known) return known.slice()
      const pub = base.x25519PublicKey(privateKey)
      publicOf.set(id, pub.slice())
      return pub
    },

    x25519(privateKey, publicKey) {
      const own = privateKey instanceof Uint8Array ? publicOf.get(k(privateKey)) : undefined
      if (own === undefined || !(publicKey instanceof Uint8Array)) return base.x25519(privateKey, publicKey)
      const a = k(own)
      const b = k(publicKey)
      const id = a < b ? `${a}|${b}` : `${b}|${a}`
      const known = secrets.take(id)
      if (known) return known
      const shared = base.x25519(privateKey, publicKey)
      if (shared !== null) secrets.put(id, shared.slice())
      return shared
    },

    aeadEncrypt(key, nonce, ad, plaintext) {
      const ciphertext = base.aeadEncrypt(key, nonce, ad, plaintext)
      sealed.put(`${k(key)}|${k(nonce)}`, { ad: ad.slice(), ciphertext: ciphertext.slice(), plaintext: plaintext.slice() })
      return ciphertext
    },

    aeadDecrypt(key, nonce, ad, ciphertext) {
      if (key instanceof Uint8Array && nonce instanceof Uint8Array) {
        const id = `${k(key)}|${k(nonce)}`
        const known = sealed.take(id)
        if (known && ad instanceof Uint8Array && ciphertext instanceof Uint8Array && sameBytes(known.ad, ad) && sameBytes(known.ciphertext, ciphertext)) {
          return known.plaintext
        }
      }
      return base.aeadDecrypt(key, nonce, ad, ciphertext)
    },

    ed25519PublicKey: (secretKey) => base.ed25519PublicKey(secretKey),
    ed25519Sign: (secretKey, message) => base.ed25519Sign(secretKey, message),

    ed25519Verify(signature, message, publicKey) {
      if (!(signature instanceof Uint8Array) || !(publicKey instanceof Uint8Array) || !(message instanceof Uint8Array)) {
        return base.ed25519Verify(signature, message, publicKey)
      }
      const id = `${k(signature)}|${k(publicKey)}`
      const known = verdicts.get(id)
      if (known && sameBytes(known.message, message)) return known.ok
      const ok = base.ed25519Verify(signature, message, publicKey)
      verdicts.set(id, { message: message.slice(), ok })
      return ok
    },
  }
}
