/**
 * The secure handshake of one connection: Noise XX (or XXpsk3 in a private network) with the
 * ed25519 identity bound to the Noise static key.
 *
 * Each side's handshake payload is its ed25519 identity key (32 bytes) and a signature
 * (64 bytes) over `IDENTITY_BINDING_PREFIX ‖ its Noise static key`; the other side verifies it
 * against the static key Noise proved, so the peer id (sha256 of the identity key) is
 * authenticated. Wire: every handshake frame body is one flags byte (bit 0: private network)
 * followed by the Noise message; its reserved bits must be zero, and the byte is mixed into the
 * prologue. A flags mismatch ends at once with `private-network`.
 *
 * Pure: the ephemeral key arrives in the input, crypto comes from the suite in the input.
 * Every secret (static and ephemeral private keys, psk, identity payload, the Noise state with
 * its chaining and cipher keys, the session keys of the output) is kept in a `Secret`
 * (lib/secret.ts), so an inspected snapshot or event never shows one.
 *
 * Chart and data: the chart is `handshakeRegion`, one state per Noise message, which the
 * connection machine embeds as its `handshaking` region (one source: no separate handshake
 * actor, which cost one more actor and ten more events per connection). The steps are plain
 * functions on a `HandshakeContext` (`createHandshakeContext`, `writeStep`, `readStep`) that
 * the region's actions run on the connection's `hs`; each returns what changes, a failure as
 * `output: { ok: false, reason }`. Nothing here throws.
 * @module
 */
import type { CryptoSuite } from './lib/crypto.js'
import { peerIdFromPublicKey } from './lib/peer-id.js'
import { seal, unseal, type Secret } from './lib/secret.js'
import { initHandshake, readMessage, writeMessage, type HandshakeState, type KeyPair } from './secure/noise.js'
import { Reasons, type SessionKeys } from './vocab.js'

/** Wire id of handshake frames (sent in the clear, before any encryption). */
export const HANDSHAKE_PROTOCOL = '/xswarm/noise/1'
/** Domain separation for the identity signature over the Noise static key. */
export const IDENTITY_BINDING_PREFIX = new TextEncoder().encode('xswarm-noise-static-key:')
/** Prologue mixed into every handshake: both sides must speak this version. */
export const HANDSHAKE_PROLOGUE = new TextEncoder().encode('xswarm/1')

const FLAG_PRIVATE = 1
const PAYLOAD_LENGTH = 32 + 64

/** The key material of one handshake (sealed in `HandshakeInput.keys`). */
export interface HandshakeKeys {
  /** This node's Noise static x25519 key pair. */
  staticKey: KeyPair
  /** Fresh per connection, from the swarm's DRBG; wiped once the handshake is done. */
  ephemeralPrivateKey: Uint8Array
  /** This node's signature over the binding message of its static key. */
  identitySignature: Uint8Array
  /** 32-byte pre-shared swarm key of a private network. */
  psk?: Uint8Array
}

export interface HandshakeInput {
  suite: CryptoSuite
  initiator: boolean
  /** This node's ed25519 identity public key. */
  identityKey: Uint8Array
  /** Everything secret, sealed. */
  keys: Secret<HandshakeKeys>
  /**
   * The peer id the dialed address names. The initiator checks it as soon as message 2 has
   * proven the responder's identity, before sending message 3, so an impostor never learns
   * who dialed (XX hides the initiator's identity until message 3).
   */
  expectedPeer?: string
}

export type HandshakeOutput =
  | { ok: true; peer: string; identityKey: Uint8Array; handshakeHash: Uint8Array; keys: Secret<SessionKeys> }
  | { ok: false; reason: string }

export interface HandshakeContext {
  suite: CryptoSuite
  private: boolean
  initiator: boolean
  /** The Noise state (private keys, chaining key, cipher key), sealed; a new Secret per step. */
  noise: Secret<HandshakeState>
  /** Our identity payload (identity key ‖ binding signature), sealed. */
  payload: Secret<Uint8Array>
  outbox: Uint8Array | null
  expectedPeer: string | undefined
  /** The remote's ed25519 identity key, once its payload was verified. */
  remoteIdentity: Uint8Array | null
  output: HandshakeOutput | null
}

/** The message to sign: the prefix followed by the Noise static public key. */
export function identityBindingMessage(staticPublicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(IDENTITY_BINDING_PREFIX.length + staticPublicKey.length)
  out.set(IDENTITY_BINDING_PREFIX)
  out.set(staticPublicKey, IDENTITY_BINDING_PREFIX.length)
  return out
}

/**
 * The prologue: the version string and the flags byte, so both sides must have seen the same
 * flags (the byte travels outside the Noise messages; hashing it makes a flipped bit fail).
 */
export function handshakePrologue(isPrivate: boolean): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_PROLOGUE.length + 1)
  out.set(HANDSHAKE_PROLOGUE)
  out[HANDSHAKE_PROLOGUE.length] = isPrivate ? FLAG_PRIVATE : 0
  return out
}

function frame(isPrivate: boolean, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message.length)
  out[0] = isPrivate ? FLAG_PRIVATE : 0
  out.set(message, 1)
  return out
}

/** What one handshake step changes in a HandshakeContext. */
export type Step = Partial<HandshakeContext>

/**
 * Read one incoming handshake frame. Messages 2 (read by the initiator) and 3 (read by the
 * responder) carry the sender's identity payload, checked against the Noise-proven static key.
 * Pure: returns what changes (a failure sets `output` to `{ ok: false, reason }`).
 */
export function readStep(context: HandshakeContext, body: unknown): Step {
  if (!(body instanceof Uint8Array) || body.length < 2) return fail('handshake-malformed')
  if ((body[0] & ~FLAG_PRIVATE) !== 0) return fail('handshake-malformed')
  if (((body[0] & FLAG_PRIVATE) === FLAG_PRIVATE) !== context.private) return fail('private-network')
  const read = readMessage(unseal(context.noise), body.subarray(1))
  if ('error' in read) {
    return fail(context.private && read.error === 'decrypt-failed' ? 'private-network' : `handshake-${read.error}`)
  }
  const noise = seal(read.state)
  const carriesIdentity = context.initiator || read.split !== undefined
  if (!carriesIdentity) return { noise }
  const identity = checkIdentity(context.suite, read.payload, read.state.remoteStatic)
  if (typeof identity === 'string') return fail(identity)
  if (context.expectedPeer !== undefined && peerIdFromPublicKey(context.suite.sha256, identity) !== context.expectedPeer) {
    return fail('peer-id-mismatch')
  }
  if (!read.split) return { noise, remoteIdentity: identity }
  return { noise, remoteIdentity: identity, output: success(context.suite, identity, read.handshakeHash!, read.split) }
}

function checkIdentity(suite: CryptoSuite, payload: Uint8Array, remoteStatic: Uint8Array | null | undefined): Uint8Array | string {
  if (payload.length !== PAYLOAD_LENGTH || !remoteStatic) return 'handshake-bad-payload'
  const identityKey = payload.slice(0, 32)
  const signature = payload.subarray(32, PAYLOAD_LENGTH)
  if (!suite.ed25519Verify(signature, identityBindingMessage(remoteStatic), identityKey)) return 'handshake-bad-signature'
  return identityKey
}

function success(
  suite: CryptoSuite,
  identityKey: Uint8Array,
  handshakeHash: Uint8Array,
  split: SessionKeys,
): HandshakeOutput {
  return {
    ok: true,
    peer: peerIdFromPublicKey(suite.sha256, identityKey),
    identityKey,
    handshakeHash,
    keys: seal({ send: split.send, recv: split.recv }),
  }
}

/** A failed step: to the connection's `closing`, with the step's reason. */
const FAILED = { guard: 'handshakeFailed', target: '#connection.closing', actions: 'handshakeFailed' } as const

function fail(reason: string): Step {
  return { output: { ok: false, reason } }
}

/** A handshake's starting context (Noise Initialize with the prologue and our identity payload). */
export function createHandshakeContext(input: HandshakeInput): HandshakeContext {
  const keys = unseal(input.keys)
  const noise = initHandshake({
    suite: input.suite,
    pattern: keys.psk ? 'XXpsk3' : 'XX',
    initiator: input.initiator,
    prologue: handshakePrologue(keys.psk !== undefined),
    staticKey: keys.staticKey,
    ephemeralPrivateKey: keys.ephemeralPrivateKey,
    psk: keys.psk,
  })
  const payload = new Uint8Array(PAYLOAD_LENGTH)
  payload.set(input.identityKey, 0)
  payload.set(keys.identitySignature, 32)
  return {
    suite: input.suite,
    private: keys.psk !== undefined,
    initiator: input.initiator,
    noise: seal(noise),
    payload: seal(payload),
    outbox: null,
    expectedPeer: input.expectedPeer,
    remoteIdentity: null,
    output: null,
  }
}

/**
 * Write the next Noise message (carrying our identity payload when the pattern allows it) into
 * `outbox`, framed with the flags byte; the message that completes the handshake also sets
 * `output`. Pure: returns what changes.
 */
export function writeStep(context: HandshakeContext): Step {
  const noise = unseal(context.noise)
  const payload = context.initiator && noise.messageIndex === 0 ? new Uint8Array(0) : unseal(context.payload)
  const written = writeMessage(noise, payload)
  if ('error' in written) return fail(`handshake-${written.error}`)
  const step: Step = { noise: seal(written.state), outbox: frame(context.private, written.message) }
  if (written.split) {
    if (!context.remoteIdentity) return fail('handshake-bad-payload')
    step.output = success(context.suite, context.remoteIdentity, written.handshakeHash!, written.split)
  }
  return step
}

/**
 * The handshake chart: the `handshaking` region of the connection machine
 * (connection.machine.ts embeds it as is and adds the region's timeout and its ways out on
 * close, invalid frames and foreign frames). It names the connection's actions and guards:
 * `writeHandshake`/`readHandshake` run `writeStep`/`readStep` on the Noise state in the
 * connection's `hs`, `sendHandshakeFrame` sends the written message unencrypted, `secured`
 * hands the session keys to the shell. Each Noise XX message is a state; a failed step leaves
 * for the connection's `closing` with its reason ([handshakeFailed]); the initiator is done
 * once it has sent message 3 (then `confirming`: it waits for the responder's key
 * confirmation), the responder once it has read it (then `authenticating`).
 */
export const handshakeRegion = {
  entry: 'startHandshake',
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'isOutbound', target: 'sendingInitiation' }, { target: 'awaitingInitiation' }],
    },
    /** Initiator: -> e */
    sendingInitiation: {
      entry: 'writeHandshake',
      always: [FAILED, { target: 'awaitingResponse', actions: 'sendHandshakeFrame' }],
    },
    /** Initiator: <- e, ee, s, es, with the responder's identity (checked against the dialed peer id). */
    awaitingResponse: {
      on: { 'conn.frame': { guard: 'isHandshakeFrame', target: 'checkingResponse', actions: 'readHandshake' } },
    },
    checkingResponse: {
      always: [FAILED, { target: 'sendingFinish' }],
    },
    /** Initiator: -> s, se, with our identity; its keys are installed once it is sent. */
    sendingFinish: {
      entry: 'writeHandshake',
      always: [
        FAILED,
        { guard: 'peerMismatch', target: '#connection.closing', actions: ['dropHandshake', { type: 'setReason', params: Reasons.peerIdMismatch }] },
        { guard: 'handshakeDone', target: '#connection.confirming', actions: ['sendHandshakeFrame', 'secured', 'reportSecured'] },
      ],
    },
    /** Responder: <- e */
    awaitingInitiation: {
      on: { 'conn.frame': { guard: 'isHandshakeFrame', target: 'checkingInitiation', actions: 'readHandshake' } },
    },
    checkingInitiation: {
      always: [FAILED, { target: 'sendingResponse' }],
    },
    /** Responder: -> e, ee, s, es, with our identity. */
    sendingResponse: {
      entry: 'writeHandshake',
      always: [FAILED, { target: 'awaitingFinish', actions: 'sendHandshakeFrame' }],
    },
    /** Responder: <- s, se, with the initiator's identity; its keys are installed once it is read. */
    awaitingFinish: {
      on: { 'conn.frame': { guard: 'isHandshakeFrame', target: 'checkingFinish', actions: 'readHandshake' } },
    },
    checkingFinish: {
      always: [FAILED, { guard: 'handshakeDone', target: '#connection.authenticating', actions: ['secured', 'requestAcceptance'] }],
    },
  },
} as const
