/**
 * Signers: each protocol signs with the node's identity key, but only inside its own domain.
 *
 * A protocol that could sign any bytes with the identity key could forge what another protocol
 * signs (a pubsub message) or the handshake's identity binding (`"xswarm-noise-static-key:" ‖
 * a Noise static key`), and so impersonate the node. So a protocol gets a `Signer` bound to its
 * id: it signs `PROTOCOL_SIGNATURE_DOMAIN ‖ u16 |id| ‖ id ‖ message`, and its `verify` checks
 * signatures made the same way (by the same protocol on another node). The length-prefixed id
 * makes the signed bytes of two protocols differ for every pair of messages, and the domain
 * prefix differs from the identity binding's prefix in its first bytes, so no protocol can
 * produce another protocol's signature or the binding.
 *
 * The secret key never enters a machine: it stays in the closure of `createSignerIssuer`, which
 * the shell calls. The root machine asks the issuer for one signer per protocol when it starts
 * them, then closes it, so a protocol that reaches the root's context later (through
 * `system.get('swarm')`) finds an issuer that refuses. Signers and the issuer print as a label.
 * @module
 */
import type { CryptoSuite } from './crypto.js'

/** The prefix of every protocol signature's signed bytes. */
export const PROTOCOL_SIGNATURE_DOMAIN = new TextEncoder().encode('xswarm-protocol-signature/1:')

/** A protocol's signing capability: the node's identity key, within the protocol's domain. */
export interface Signer {
  /** The protocol this signer signs for. */
  readonly protocol: string
  /** The node's ed25519 identity public key (32 bytes). */
  readonly publicKey: Uint8Array
  /** Sign `message` for this protocol (64 bytes). */
  sign(message: Uint8Array): Uint8Array
  /** Whether `signature` is `publicKey`'s signature of `message` for this protocol. Never throws. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
}

/** Hands out one signer per protocol id while the swarm starts its protocols, then nothing. */
export interface SignerIssuer {
  /** The signer of `protocol`; throws once closed or for an id already issued. */
  issue(protocol: string): Signer
  /** Refuse every later `issue`. */
  close(): void
}

/**
 * Prefixes computed once per protocol id (a verification reads one per message). Only the
 * swarm's own code asks (protocol ids, not peer input), so the bound is a formality.
 */
const prefixes = new Map<string, Uint8Array>()
const MAX_KNOWN_PREFIXES = 64

/**
 * What a signer of `protocol` puts before every message: domain ‖ u16 |id| ‖ id. A caller that
 * builds the message itself can write it in front (see `verifyPrefixedSignature`) and save the
 * copy `protocolSignedBytes` makes. Shared: read it, never change it.
 */
export function protocolSignaturePrefix(protocol: string): Uint8Array {
  const known = prefixes.get(protocol)
  if (known !== undefined) return known
  const prefix = encodePrefix(protocol)
  if (prefixes.size < MAX_KNOWN_PREFIXES) prefixes.set(protocol, prefix)
  return prefix
}

function encodePrefix(protocol: string): Uint8Array {
  const id = new TextEncoder().encode(protocol)
  const out = new Uint8Array(PROTOCOL_SIGNATURE_DOMAIN.length + 2 + id.length)
  out.set(PROTOCOL_SIGNATURE_DOMAIN)
  out[PROTOCOL_SIGNATURE_DOMAIN.length] = id.length >>> 8
  out[PROTOCOL_SIGNATURE_DOMAIN.length + 1] = id.length & 0xff
  out.set(id, PROTOCOL_SIGNATURE_DOMAIN.length + 2)
  return out
}

/** The bytes a signer of `protocol` signs for `message`: domain ‖ u16 |id| ‖ id ‖ message. */
export function protocolSignedBytes(protocol: string, message: Uint8Array): Uint8Array {
  const prefix = protocolSignaturePrefix(protocol)
  const out = new Uint8Array(prefix.length + message.length)
  out.set(prefix)
  out.set(message, prefix.length)
  return out
}

/** Verify a signature made by a signer of `protocol`. Never throws. */
export function verifyProtocolSignature(
  suite: CryptoSuite, protocol: string, signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array,
): boolean {
  return message instanceof Uint8Array && suite.ed25519Verify(signature, protocolSignedBytes(protocol, message), publicKey)
}

/**
 * Like `verifyProtocolSignature` for bytes that already start with
 * `protocolSignaturePrefix(protocol)` (checked: other bytes verify as false), so the message is
 * not copied behind the prefix. Never throws.
 */
export function verifyPrefixedSignature(
  suite: CryptoSuite, protocol: string, signature: Uint8Array, prefixed: Uint8Array, publicKey: Uint8Array,
): boolean {
  const prefix = protocolSignaturePrefix(protocol)
  if (!(prefixed instanceof Uint8Array) || prefixed.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefixed[i] !== prefix[i]) return false
  return suite.ed25519Verify(signature, prefixed, publicKey)
}

/** A signer of `protocol` for `secretKey` (kept in this closure only). */
function createSigner(suite: CryptoSuite, secretKey: Uint8Array, publicKey: Uint8Array, protocol: string): Signer {
  const label = `[signer ${protocol}]`
  return Object.freeze({
    protocol,
    publicKey,
    sign: (message: Uint8Array) => suite.ed25519Sign(secretKey, protocolSignedBytes(protocol, message)),
    verify: (signature: Uint8Array, message: Uint8Array, key: Uint8Array) => verifyProtocolSignature(suite, protocol, signature, message, key),
    toJSON: () => label,
    toString: () => label,
    [Symbol.for('nodejs.util.inspect.custom')]: () => label,
  })
}

/** The issuer of the signers of one node, for the shell to hand to the root machine. */
export function createSignerIssuer(suite: CryptoSuite, secretKey: Uint8Array): SignerIssuer {
  const key = Uint8Array.from(secretKey)
  const publicKey = suite.ed25519PublicKey(key)
  const issued = new Set<string>()
  let open = true
  const label = '[signer issuer]'
  return Object.freeze({
    issue(protocol: string): Signer {
      if (!open) throw new Error(`signer for ${protocol} refused: signers are issued only while the swarm starts its protocols`)
      if (issued.has(protocol)) throw new Error(`signer for ${protocol} refused: already issued`)
      issued.add(protocol)
      return createSigner(suite, key, publicKey, protocol)
    },
    close(): void {
      open = false
    },
    toJSON: () => label,
    toString: () => label,
    [Symbol.for('nodejs.util.inspect.custom')]: () => label,
  })
}
