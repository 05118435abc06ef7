/**
 * Errors: one class for runtime and protocol failures, each with a stable `code`.
 *
 * Bad arguments at the public boundary throw TypeError/RangeError with a titled message
 * (see `src/validate.ts`); everything that fails at run time is an XswarmError whose `code`
 * is listed in README.md ("Error codes"). Machines never throw: they close with a reason,
 * and reasons are the same strings as these codes where one applies.
 * @module
 */

/** Every code an XswarmError can carry. */
export const ErrorCodes = {
  /** A frame was larger than the configured frame limit (checked before decoding). */
  FRAME_TOO_LARGE: 'frame-too-large',
  /** A frame's bytes are not valid msgpack, or not `[protocolId, body]`. */
  FRAME_MALFORMED: 'frame-malformed',
  /** A frame nests deeper, or declares more elements, than the codec allows. */
  FRAME_TOO_COMPLEX: 'frame-too-complex',
  /** A frame uses a msgpack extension (records, references, timestamps...): never accepted from peers. */
  FRAME_EXTENSION: 'frame-extension',
  /** A frame has a map key that could pollute prototypes (`__proto__`, `constructor`, `prototype`). */
  FRAME_FORBIDDEN_KEY: 'frame-forbidden-key',
  /** A local body cannot be encoded as a frame (a symbol, a cycle, a bigint beyond 64 bits...). */
  FRAME_UNENCODABLE: 'frame-unencodable',
  /** A batch frame (`/xswarm/batch/1`) holds more parts than a receiver accepts (256). */
  BATCH_TOO_LARGE: 'batch-too-large',
  /** A batch frame's body is not a non-empty array of whole frames, or holds a batch. */
  BATCH_MALFORMED: 'batch-malformed',
  /** An address could not be parsed. */
  INVALID_ADDRESS: 'invalid-address',
  /** The identity file exists but cannot be read as an identity. */
  IDENTITY_CORRUPT: 'identity-corrupt',
  /** An identity file was about to be written where one already exists (identities are never overwritten). */
  IDENTITY_EXISTS: 'identity-exists',
  /** The swarm is closed; the call cannot be served. */
  SWARM_CLOSED: 'swarm-closed',
  /** Listening on an address failed (in use, not permitted...). */
  LISTEN_FAILED: 'listen-failed',
  /** A second reader of a swarm's events (a swarm has one reader: one `for await` loop or pending `next()`). */
  READER_BUSY: 'reader-busy',
  /** `findPeer` found no address for the peer. */
  NOT_FOUND: 'not-found',
  // Actors (README "Actors"): what is known about an ask, spawnOn or send that failed.
  /** Never sent: the actor's node could not be reached. */
  UNREACHABLE: 'unreachable',
  /** The node has no actor of that name. */
  NO_SUCH_ACTOR: 'no-such-actor',
  /** The target refused it (its `accept`, a check of the event, or spawnOn not allowed). */
  REJECTED: 'rejected',
  /** A bound was reached: the target's mailbox, this node's pending asks or hosted actors. */
  OVERLOADED: 'overloaded',
  /** The target stopped before it handled the event, or before it answered. */
  ACTOR_STOPPED: 'actor-stopped',
  /** Sent, then the connection to its node was lost: the outcome is unknown. */
  PEER_DISCONNECTED: 'peer-disconnected',
  /** Sent, and no answer in time: the outcome is unknown. */
  TIMEOUT: 'timeout',
  /** A protocol actor failed past its restart budget; commands to it are refused. */
  PROTOCOL_FAILED: 'protocol-failed',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** A failure of the runtime or of a peer, with a stable `code` (see ErrorCodes). */
export class XswarmError extends Error {
  override name = 'XswarmError'
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A frame from a peer that the codec refused; the connection closes with `code` as its reason. */
export class CodecError extends XswarmError {
  override name = 'CodecError'
}

/** An address (ws://…/p2p/<id> or multiaddr) that could not be parsed. */
export class AddressError extends XswarmError {
  override name = 'AddressError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.INVALID_ADDRESS, message, options)
  }
}
