/**
 * Noise XX handshake, pure: `Noise_XX_25519_ChaChaPoly_SHA256` and
 * `Noise_XXpsk3_25519_ChaChaPoly_SHA256` (Noise spec rev. 34, §5 processing rules, §9 psk).
 *
 * ```
 * XX:                 XXpsk3:
 *   -> e                -> e
 *   <- e, ee, s, es     <- e, ee, s, es
 *   -> s, se            -> s, se, psk
 * ```
 *
 * Plain data in, plain data out: no IO, no clock and no randomness (the ephemeral private key is
 * injected by the caller, so a handshake replays byte for byte). Every step returns a NEW
 * HandshakeState and never mutates the one it was given, so an XState machine may keep the
 * state in its context. Nothing here throws: every failure is returned as `{ error }` (see
 * NoiseErrorCode) and leaves the given state usable as it was (Noise says a failed handshake
 * must be abandoned; that decision belongs to the caller).
 *
 * After the last message the result carries `split` (the two transport CipherStates, see
 * machines/secure/cipher-state.ts), `handshakeHash` (for channel binding) and `remoteStatic`.
 * The remote static key is also readable as `state.remoteStatic` as soon as it is known (the
 * initiator learns it from message 2, the responder from message 3), so an identity proof in a
 * payload can be checked right away. Handshake messages keep the Noise 65535-byte cap.
 * Until it completes, the state holds private keys: a machine keeps it sealed in a `Secret`
 * (machines/lib/secret.ts), so no inspection shows it.
 * @module
 */
import type { CryptoSuite } from '../lib/crypto.js'
import { decryptWithAd, encryptWithAd, type CipherState } from './cipher-state.js'

export type NoisePattern = 'XX' | 'XXpsk3'

export interface KeyPair {
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

/** Why a handshake step failed. */
export type NoiseErrorCode =
  /** initHandshake got an unusable configuration (key sizes, missing or extra psk, pattern). */
  | 'bad-config'
  /** All three messages have been processed already. */
  | 'handshake-complete'
  /** writeMessage called when a message must be read, or the reverse. */
  | 'wrong-turn'
  /** The message is too short for its tokens (or the payload cannot fit). */
  | 'bad-length'
  /** The message (or the one being written) exceeds the 65535-byte Noise limit. */
  | 'too-long'
  /** AEAD authentication failed (wrong key, wrong psk, tampered or wrong prologue). */
  | 'decrypt-failed'
  /** A Diffie-Hellman produced no usable secret: malformed or low-order public key. */
  | 'low-order-key'

export interface NoiseError {
  readonly error: NoiseErrorCode
  readonly detail?: string
}

/** Immutable (from the caller's view) handshake state; treat it as opaque apart from the documented fields. */
export interface HandshakeState {
  readonly suite: CryptoSuite
  readonly pattern: NoisePattern
  readonly protocolName: string
  readonly initiator: boolean
  /** Index of the next message to write or read: 0, 1, 2; 3 once complete. */
  readonly messageIndex: number
  readonly complete: boolean
  /** The remote static public key, once received; null before. */
  readonly remoteStatic: Uint8Array | null
  /** Set when initHandshake got a bad configuration; every step then returns this error. */
  readonly failure: NoiseError | null
  // SymmetricState
  readonly ck: Uint8Array
  readonly h: Uint8Array
  readonly k: Uint8Array | null
  readonly n: number
  // HandshakeState proper
  readonly s: KeyPair
  readonly e: KeyPair
  readonly re: Uint8Array | null
  readonly psk: Uint8Array | null
}

export interface HandshakeInit {
  suite: CryptoSuite
  pattern: NoisePattern
  initiator: boolean
  prologue: Uint8Array
  staticKey: KeyPair
  /** 32 random bytes from the caller (machines have no randomness). Never reuse one. */
  ephemeralPrivateKey: Uint8Array
  /** 32 bytes, required for XXpsk3, forbidden for XX. */
  psk?: Uint8Array
}

/** Present on the result of the step that completes the handshake. */
export interface HandshakeDone {
  /** Transport ciphers: `send` encrypts what this side sends, `recv` decrypts what it receives. */
  readonly split: { readonly send: CipherState; readonly recv: CipherState }
  /** The final handshake hash h (channel binding). */
  readonly handshakeHash: Uint8Array
  readonly remoteStatic: Uint8Array
}

export type WriteResult = { readonly state: HandshakeState; readonly message: Uint8Array } & Partial<HandshakeDone>
export type ReadResult = { readonly state: HandshakeState; readonly payload: Uint8Array } & Partial<HandshakeDone>

/** Noise's maximum message length, applied to handshake messages. */
export const MAX_HANDSHAKE_MESSAGE = 65535

const DHLEN = 32
const HASHLEN = 32
const TAGLEN = 16
const PSKLEN = 32
const EMPTY = new Uint8Array(0)
const BYTE_1 = Uint8Array.of(1)

type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'psk'

const PATTERNS: Record<NoisePattern, readonly (readonly Token[])[]> = {
  XX: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
  XXpsk3: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']],
}

const PROTOCOL_NAMES: Record<NoisePattern, string> = {
  XX: 'Noise_XX_25519_ChaChaPoly_SHA256',
  XXpsk3: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256',
}

/** The protocol names as bytes, encoded once (a TextEncoder per handshake showed in profiles). */
const PROTOCOL_NAME_BYTES: Record<NoisePattern, Uint8Array> = {
  XX: new TextEncoder().encode(PROTOCOL_NAMES.XX),
  XXpsk3: new TextEncoder().encode(PROTOCOL_NAMES.XXpsk3),
}

function fail(error: NoiseErrorCode, detail?: string): NoiseError {
  return detail === undefined ? { error } : { error, detail }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

function isKey(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === 32
}

/** The mutable working copy of a SymmetricState + HandshakeState used inside one step. */
interface Work {
  suite: CryptoSuite
  ck: Uint8Array
  h: Uint8Array
  cs: CipherState
  re: Uint8Array | null
  rs: Uint8Array | null
}

function mixHash(w: Work, data: Uint8Array): void {
  w.h = w.suite.sha256(concat(w.h, data))
}

/** Noise HKDF with HMAC-SHA256, 2 or 3 outputs. */
function hkdf(suite: CryptoSuite, ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const temp = suite.hmacSha256(ck, ikm)
  const o1 = suite.hmacSha256(temp, BYTE_1)
  const o2 = suite.hmacSha256(temp, concat(o1, Uint8Array.of(2)))
  if (outputs === 2) return [o1, o2]
  return [o1, o2, suite.hmacSha256(temp, concat(o2, Uint8Array.of(3)))]
}

function mixKey(w: Work, ikm: Uint8Array): void {
  const [ck, k] = hkdf(w.suite, w.ck, ikm, 2)
  w.ck = ck
  w.cs = { k: k.subarray(0, 32), n: 0 }
}

function mixKeyAndHash(w: Work, ikm: Uint8Array): void {
  const [ck, h, k] = hkdf(w.suite, w.ck, ikm, 3)
  w.ck = ck
  mixHash(w, h)
  w.cs = { k: k.subarray(0, 32), n: 0 }
}

function encryptAndHash(w: Work, plaintext: Uint8Array): Uint8Array | null {
  const c = encryptWithAd(w.suite, w.cs, w.h, plaintext)
  if (c === null) return null
  mixHash(w, c)
  return c
}

function decryptAndHash(w: Work, ciphertext: Uint8Array): Uint8Array | null {
  const p = decryptWithAd(w.suite, w.cs, w.h, ciphertext)
  if (p === null) return null
  mixHash(w, ciphertext)
  return p
}

/** Mixes DH(local, remote) into the key; false when the DH fails (low-order or malformed key). */
function mixDh(w: Work, privateKey: Uint8Array, publicKey: Uint8Array | null): boolean {
  if (publicKey === null) return false
  const shared = w.suite.x25519(privateKey, publicKey)
  if (shared === null) return false
  mixKey(w, shared)
  return true
}

/** The DH token `ee`/`es`/`se` from this side's point of view: which local key, which remote key. */
function dhToken(state: HandshakeState, w: Work, token: 'ee' | 'es' | 'se'): boolean {
  switch (token) {
    case 'ee':
      return mixDh(w, state.e.privateKey, w.re)
    case 'es': // initiator's e with responder's s
      return state.initiator ? mixDh(w, state.e.privateKey, w.rs) : mixDh(w, state.s.privateKey, w.re)
    case 'se': // initiator's s with responder's e
      return state.initiator ? mixDh(w, state.s.privateKey, w.re) : mixDh(w, state.e.privateKey, w.rs)
  }
}

function startWork(state: HandshakeState): Work {
  // A fresh CipherState object: cipher-state functions advance n in place.
  return { suite: state.suite, ck: state.ck, h: state.h, cs: { k: state.k, n: state.n }, re: state.re, rs: state.remoteStatic }
}

function checkTurn(state: HandshakeState, writing: boolean): NoiseError | null {
  if (state.failure !== null) return state.failure
  if (state.complete) return fail('handshake-complete')
  const initiatorSends = state.messageIndex % 2 === 0
  if ((initiatorSends === state.initiator) !== writing) return fail('wrong-turn', writing ? 'expected to read' : 'expected to write')
  return null
}

function finish(state: HandshakeState, w: Work): { state: HandshakeState } & Partial<HandshakeDone> {
  const messageIndex = state.messageIndex + 1
  const complete = messageIndex === PATTERNS[state.pattern].length
  const next: HandshakeState = {
    ...state,
    messageIndex,
    complete,
    ck: w.ck,
    h: w.h,
    k: w.cs.k,
    n: w.cs.n,
    re: w.re,
    remoteStatic: w.rs,
  }
  if (!complete || w.rs === null) return { state: next }
  // The completed state keeps no handshake secret (ephemeral key, chaining key, psk): it only
  // answers 'handshake-complete' from now on, and dropping them helps forward secrecy.
  const done: HandshakeState = { ...next, ck: EMPTY, k: null, e: { privateKey: EMPTY, publicKey: state.e.publicKey }, psk: null }
  const [k1, k2] = hkdf(state.suite, w.ck, EMPTY, 2)
  const c1: CipherState = { k: k1.subarray(0, 32), n: 0 }
  const c2: CipherState = { k: k2.subarray(0, 32), n: 0 }
  return {
    state: done,
    split: state.initiator ? { send: c1, recv: c2 } : { send: c2, recv: c1 },
    handshakeHash: w.h,
    remoteStatic: w.rs,
  }
}

function configError(init: HandshakeInit): string | null {
  if (init === null || typeof init !== 'object') return 'init must be an object'
  if (init.suite === null || typeof init.suite !== 'object') return 'suite missing'
  if (!(init.pattern in PATTERNS)) return `unknown pattern ${String(init.pattern)}`
  if (!(init.prologue instanceof Uint8Array)) return 'prologue must be a Uint8Array'
  if (init.staticKey === null || typeof init.staticKey !== 'object') return 'staticKey missing'
  if (!isKey(init.staticKey.privateKey) || !isKey(init.staticKey.publicKey)) return 'static keys must be 32 bytes'
  if (!isKey(init.ephemeralPrivateKey)) return 'ephemeralPrivateKey must be 32 bytes'
  if (init.pattern === 'XXpsk3' && !(init.psk instanceof Uint8Array && init.psk.length === PSKLEN)) return 'XXpsk3 needs a 32-byte psk'
  if (init.pattern === 'XX' && init.psk !== undefined) return 'XX takes no psk'
  return null
}

/**
 * Starts a handshake (Noise Initialize): protocol name → h and ck, then MixHash(prologue).
 * Never throws: with a bad configuration the state carries `failure`, which the first
 * writeMessage/readMessage returns.
 */
export function initHandshake(init: HandshakeInit): HandshakeState {
  const pattern: NoisePattern = init?.pattern === 'XXpsk3' ? 'XXpsk3' : 'XX'
  const protocolName = PROTOCOL_NAMES[pattern]
  let failure: NoiseError | null = null
  let e: KeyPair = { privateKey: EMPTY, publicKey: EMPTY }
  let ck: Uint8Array = EMPTY
  let h: Uint8Array = EMPTY
  const problem = configError(init)
  if (problem !== null) failure = fail('bad-config', problem)
  else {
    try {
      const name = PROTOCOL_NAME_BYTES[pattern]
      // InitializeSymmetric: h = name padded to HASHLEN if it fits, else HASH(name); ck = h.
      if (name.length <= HASHLEN) {
        ck = new Uint8Array(HASHLEN)
        ck.set(name)
      } else ck = init.suite.sha256(name)
      h = init.suite.sha256(concat(ck, init.prologue)) // MixHash(prologue)
      e = { privateKey: init.ephemeralPrivateKey, publicKey: init.suite.x25519PublicKey(init.ephemeralPrivateKey) }
    } catch (err) {
      failure = fail('bad-config', err instanceof Error ? err.message : String(err))
    }
  }
  return {
    suite: init?.suite,
    pattern,
    protocolName,
    initiator: init?.initiator === true,
    messageIndex: 0,
    complete: false,
    remoteStatic: null,
    failure,
    ck,
    h,
    k: null,
    n: 0,
    s: failure === null ? init.staticKey : { privateKey: EMPTY, publicKey: EMPTY },
    e,
    re: null,
    psk: failure === null ? (init.psk ?? null) : null,
  }
}

/** Writes the next handshake message carrying `payload` (encrypted once a key exists). */
export function writeMessage(state: HandshakeState, payload: Uint8Array): WriteResult | NoiseError {
  const turn = checkTurn(state, true)
  if (turn !== null) return turn
  if (!(payload instanceof Uint8Array)) return fail('bad-length', 'payload must be a Uint8Array')
  try {
    const w = startWork(state)
    const parts: Uint8Array[] = []
    const psk = state.pattern === 'XXpsk3'
    for (const token of PATTERNS[state.pattern][state.messageIndex]) {
      if (token === 'e') {
        parts.push(state.e.publicKey)
        mixHash(w, state.e.publicKey)
        if (psk) mixKey(w, state.e.publicKey)
      } else if (token === 's') {
        const c = encryptAndHash(w, state.s.publicKey)
        if (c === null) return fail('bad-config', 'nonce exhausted') // unreachable: a handshake uses 3 nonces at most
        parts.push(c)
      } else if (token === 'psk') {
        mixKeyAndHash(w, state.psk as Uint8Array)
      } else if (!dhToken(state, w, token)) return fail('low-order-key', token)
    }
    const size = parts.reduce((sum, p) => sum + p.length, 0) + payload.length + (w.cs.k === null ? 0 : TAGLEN)
    if (size > MAX_HANDSHAKE_MESSAGE) return fail('too-long', `message would be ${size} bytes`)
    const c = encryptAndHash(w, payload)
    if (c === null) return fail('bad-config', 'nonce exhausted') // unreachable: a handshake uses 3 nonces at most
    parts.push(c)
    const message = new Uint8Array(size)
    let offset = 0
    for (const p of parts) {
      message.set(p, offset)
      offset += p.length
    }
    return { ...finish(state, w), message }
  } catch (err) {
    // A suite that throws on local input (never on peer input) still must not escape.
    return fail('bad-config', err instanceof Error ? err.message : String(err))
  }
}

/** Reads the next handshake message; returns its decrypted payload. */
export function readMessage(state: HandshakeState, message: Uint8Array): ReadResult | NoiseError {
  const turn = checkTurn(state, false)
  if (turn !== null) return turn
  if (!(message instanceof Uint8Array)) return fail('bad-length', 'message must be a Uint8Array')
  if (message.length > MAX_HANDSHAKE_MESSAGE) return fail('too-long', `message is ${message.length} bytes`)
  try {
    const w = startWork(state)
    const psk = state.pattern === 'XXpsk3'
    let offset = 0
    for (const token of PATTERNS[state.pattern][state.messageIndex]) {
      if (token === 'e') {
        if (message.length - offset < DHLEN) return fail('bad-length', 'e')
        const re = message.slice(offset, offset + DHLEN)
        offset += DHLEN
        w.re = re
        mixHash(w, re)
        if (psk) mixKey(w, re)
      } else if (token === 's') {
        const len = DHLEN + (w.cs.k === null ? 0 : TAGLEN)
        if (message.length - offset < len) return fail('bad-length', 's')
        const rs = decryptAndHash(w, message.subarray(offset, offset + len))
        if (rs === null) return fail('decrypt-failed', 's')
        offset += len
        w.rs = rs.slice()
      } else if (token === 'psk') {
        mixKeyAndHash(w, state.psk as Uint8Array)
      } else if (!dhToken(state, w, token)) return fail('low-order-key', token)
    }
    const rest = message.subarray(offset)
    if (w.cs.k !== null && rest.length < TAGLEN) return fail('bad-length', 'payload')
    const payload = decryptAndHash(w, rest)
    if (payload === null) return fail('decrypt-failed', 'payload')
    // Without a key the payload is a view into the caller's buffer: copy it, it outlives the call.
    return { ...finish(state, w), payload: w.cs.k === null ? payload.slice() : payload }
  } catch (err) {
    return fail('bad-config', err instanceof Error ? err.message : String(err))
  }
}

/** Narrows a step result: true when it failed. */
export function isNoiseError(result: object): result is NoiseError {
  return 'error' in result
}
