/**
 * The crypto tape: the answers the machines got from their CryptoSuite, recorded so that a
 * replay needs no key.
 *
 * Machines call the suite synchronously and deterministically, so a replay makes the same
 * calls in the same order; `recordingSuite` writes each call's answer as a `c` record and
 * `replaySuite` answers each call with the next one (and fails with `replay-diverged` when the
 * call is not the one recorded). What is written for each function:
 *
 * | function          | recorded                  | why                                                 |
 * |-------------------|---------------------------|-----------------------------------------------------|
 * | sha256            | the digest                | transcript hashes, peer ids, message ids: public    |
 * | x25519PublicKey   | the public key            | public (sent in handshakes)                          |
 * | ed25519PublicKey  | the public key            | public                                               |
 * | ed25519Sign       | the signature             | public (sent to peers)                               |
 * | ed25519Verify     | true / false              | a decision                                           |
 * | aeadDecrypt       | the plaintext, or null    | handshake payloads (public keys, signatures); null is a decision |
 * | x25519            | only whether it was null  | the shared secret is key material: replay gets 32 zero bytes |
 * | hmacSha256        | nothing                   | HKDF: chaining and session keys; replay gets 32 zero bytes |
 * | aeadEncrypt       | nothing                   | ciphertext only goes out on the wire; replay gets zeros of its length |
 *
 * So no shared secret, chaining key or session key is in a recording; the shell decrypts
 * transport frames with its own suite, which is never taped (src/runtime/conn-edge.ts).
 * @module
 */
import type { CryptoSuite } from '../../machines/lib/crypto.js'

/** The tape's function codes, in the order of the CryptoSuite interface. */
const FN = ['sha256', 'hmacSha256', 'x25519PublicKey', 'x25519', 'aeadEncrypt', 'aeadDecrypt', 'ed25519PublicKey', 'ed25519Sign', 'ed25519Verify'] as const
type Fn = (typeof FN)[number]
const CODE = Object.fromEntries(FN.map((name, i) => [name, i])) as Record<Fn, number>

/** `inner`, with every answer a machine gets written to `write(fn, value?)`. */
export function recordingSuite(inner: CryptoSuite, write: (fn: number, value?: unknown) => void): CryptoSuite {
  const kept = <A extends unknown[], R>(name: Fn, f: (...args: A) => R) => (...args: A): R => {
    const value = f(...args)
    write(CODE[name], value)
    return value
  }
  return {
    name: inner.name,
    sha256: kept('sha256', (d) => inner.sha256(d)),
    x25519PublicKey: kept('x25519PublicKey', (k) => inner.x25519PublicKey(k)),
    aeadDecrypt: kept('aeadDecrypt', (k, n, ad, c) => inner.aeadDecrypt(k, n, ad, c)),
    ed25519PublicKey: kept('ed25519PublicKey', (k) => inner.ed25519PublicKey(k)),
    ed25519Sign: kept('ed25519Sign', (k, m) => inner.ed25519Sign(k, m)),
    ed25519Verify: kept('ed25519Verify', (s, m, k) => inner.ed25519Verify(s, m, k)),
    x25519(privateKey, publicKey) {
      const shared = inner.x25519(privateKey, publicKey)
      write(CODE.x25519, shared !== null)
      return shared
    },
    hmacSha256(key, data) {
      write(CODE.hmacSha256)
      return inner.hmacSha256(key, data)
    },
    aeadEncrypt(key, nonce, ad, plaintext) {
      write(CODE.aeadEncrypt)
      return inner.aeadEncrypt(key, nonce, ad, plaintext)
    },
  }
}

/**
 * A suite that answers from the tape: `next()` gives the next crypto record as `[fn, value]`,
 * `diverged(message)` makes the error to throw when it is not the call the node makes.
 */
export function replaySuite(next: () => [number, unknown], diverged: (message: string) => Error): CryptoSuite {
  const take = (name: Fn): unknown => {
    const [fn, value] = next()
    if (fn !== CODE[name]) throw diverged(`the replayed node called ${name}, the recording has ${FN[fn] ?? `crypto #${fn}`} here`)
    return value
  }
  return {
    name: 'replay',
    sha256: (): Uint8Array => take('sha256') as Uint8Array,
    x25519PublicKey: (): Uint8Array => take('x25519PublicKey') as Uint8Array,
    aeadDecrypt: (): Uint8Array | null => take('aeadDecrypt') as Uint8Array | null,
    ed25519PublicKey: (): Uint8Array => take('ed25519PublicKey') as Uint8Array,
    ed25519Sign: (): Uint8Array => take('ed25519Sign') as Uint8Array,
    ed25519Verify: (): boolean => take('ed25519Verify') as boolean,
    x25519: (): Uint8Array | null => (take('x25519') ? new Uint8Array(32) : null),
    hmacSha256: (): Uint8Array => (take('hmacSha256'), new Uint8Array(32)),
    aeadEncrypt: (_k, _n, _ad, plaintext): Uint8Array => (take('aeadEncrypt'), new Uint8Array(plaintext.length + 16)),
  }
}
