/**
 * Finding actors by name: which hosted actors are announced in discovery's DHT, and the DHT key
 * of a name.
 *
 * The key is SHA-256 over a domain tag and the name (`xswarm/actors/name/1` ‖ 0x00 ‖ UTF-8 name).
 * SHA-256 because the DHT's keyspace is 32-byte SHA-256 digests (a peer id's key is the SHA-256
 * of its public key), so names spread uniformly over the same XOR metric and land on the k peers
 * closest to them; the domain tag keeps these keys apart from any other use of provider records
 * (and of the hash), and the version lets the scheme change without meeting old records.
 *
 * An actor is announced when others may reach it without having been told of it: `accept: 'any'`
 * or an accept function. One reachable only from its own node, or only from peers listed in its
 * `accept` (they were given its address), and the layer's own `~` names, are not announced.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { AcceptPolicy } from './context.js'

const DOMAIN = new TextEncoder().encode('xswarm/actors/name/1\0')
const encoder = new TextEncoder()

/** The DHT key of actor name `name`. */
export function actorNameKey(name: string): Uint8Array {
  const bytes = encoder.encode(name)
  const input = new Uint8Array(DOMAIN.length + bytes.length)
  input.set(DOMAIN)
  input.set(bytes, DOMAIN.length)
  return sha256(input)
}

/** Whether a hosted actor is announced as a provider of its name. */
export function isAnnounced(name: string, accept: AcceptPolicy): boolean {
  return !name.startsWith('~') && (accept === 'any' || accept === 'custom')
}
