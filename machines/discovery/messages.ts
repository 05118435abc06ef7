/**
 * Wire messages of `/xswarm/discovery/1` and their strict parser.
 *
 * Bodies, each a plain object tagged by `t`:
 *  - `hello`: sent once by each side when a connection opens (peer exchange): the sender's own
 *    listen addresses and a random sample of peers it knows, with their addresses;
 *  - `find`: FIND_NODE, the `target` key (32 bytes) and a request id `id` to correlate;
 *  - `found`: the answer with the same `id`: at most k peers closest to the target;
 *  - `provide`: ADD_PROVIDER: the sender provides `key` (32 bytes), reachable at `addrs` (the
 *    provider is the authenticated sender; there is no provider field to forge);
 *  - `provided`: the refusal of a `provide`, with the bound that refused it (`code`);
 *  - `getp`: GET_PROVIDERS for `key`, with a request id;
 *  - `providers`: its answer: the providers known for the key and the k closest peers to it.
 * The parser runs on a stranger's bytes before the machine sees them: it checks every type and
 * bound, rejects unknown tags and unknown keys, and returns fresh copies (nothing keeps a view
 * into the frame). Individual addresses are only length-checked here; the machine keeps the
 * ones `splitAddress` accepts for the right peer, so one address of a transport we do not know
 * does not cost the connection.
 * @module
 */

/** A peer and its addresses, as carried on the wire. */
export interface WirePeer { id: string; addrs: string[] }

/** Peer exchange: the sender's own addresses and a sample of peers it knows. */
export interface HelloMessage { t: 'hello'; addrs: string[]; peers: WirePeer[] }
/** FIND_NODE request: the peers closest to `target`, please; answer with the same `id`. */
export interface FindMessage { t: 'find'; id: number; target: Uint8Array }
/** FIND_NODE response to request `id`. */
export interface FoundMessage { t: 'found'; id: number; peers: WirePeer[] }

/** ADD_PROVIDER: the sender provides `key`, reachable at `addrs`. */
export interface ProvideMessage { t: 'provide'; key: Uint8Array; addrs: string[] }
/** A `provide` was refused (`code`: key-full, peer-full, store-full, no-address). */
export interface ProvidedMessage { t: 'provided'; key: Uint8Array; code: ProvideRefusalCode }
/** GET_PROVIDERS request: who provides `key`, and the peers closest to it; answer with the same `id`. */
export interface GetProvidersMessage { t: 'getp'; id: number; key: Uint8Array }
/** GET_PROVIDERS response to request `id`. */
export interface ProvidersMessage { t: 'providers'; id: number; providers: WirePeer[]; peers: WirePeer[] }

export type DiscoveryMessage =
  | HelloMessage | FindMessage | FoundMessage | ProvideMessage | ProvidedMessage | GetProvidersMessage | ProvidersMessage

/** Why a node refused a provider record. */
export const PROVIDE_REFUSALS = ['key-full', 'peer-full', 'store-full', 'no-address'] as const
export type ProvideRefusalCode = (typeof PROVIDE_REFUSALS)[number]

/** Bounds on what a peer may send (all enforced by `parseMessage`). */
export interface MessageLimits {
  /** Addresses per peer (own addresses in `hello` and per listed peer). */
  maxAddresses: number
  /** Peers in a `hello`. */
  maxHelloPeers: number
  /** Peers in a `found` (k). */
  maxFoundPeers: number
  /** Characters in one address. */
  maxAddressLength: number
  /** Providers in a `providers` answer. */
  maxProviders: number
}

export const DEFAULT_LIMITS: MessageLimits = {
  maxAddresses: 4,
  maxHelloPeers: 32,
  maxFoundPeers: 20,
  maxAddressLength: 256,
  maxProviders: 32,
}

const MAX_PEER_ID = 64
const MAX_REQUEST_ID = 0xffff_ffff

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

/** `o` has exactly `keys` (own enumerable; plain objects inherit none). */
function hasOnlyKeys(o: Record<string, unknown>, keys: readonly string[]): boolean {
  let n = 0
  for (const k in o) {
    if (!keys.includes(k)) return false
    n++
  }
  return n === keys.length
}

function parseAddresses(x: unknown, limits: MessageLimits): string[] | undefined {
  if (!Array.isArray(x) || x.length > limits.maxAddresses) return undefined
  for (const a of x) if (typeof a !== 'string' || a.length === 0 || a.length > limits.maxAddressLength) return undefined
  return x.slice() as string[]
}

function parsePeers(x: unknown, max: number, limits: MessageLimits): WirePeer[] | undefined {
  if (!Array.isArray(x) || x.length > max) return undefined
  const out: WirePeer[] = []
  for (const p of x) {
    if (!isPlainObject(p) || !hasOnlyKeys(p, ['id', 'addrs'])) return undefined
    if (typeof p.id !== 'string' || p.id.length === 0 || p.id.length > MAX_PEER_ID) return undefined
    const addrs = parseAddresses(p.addrs, limits)
    if (!addrs) return undefined
    out.push({ id: p.id, addrs })
  }
  return out
}

function parseKey(x: unknown): Uint8Array | undefined {
  return x instanceof Uint8Array && x.length === 32 ? Uint8Array.from(x) : undefined
}

function parseId(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_REQUEST_ID ? x : undefined
}

/** Validate a frame body; `undefined` rejects it (the swarm then closes the connection). */
export function parseMessage(body: unknown, limits: MessageLimits = DEFAULT_LIMITS): DiscoveryMessage | undefined {
  if (!isPlainObject(body)) return undefined
  switch (body.t) {
    case 'hello': {
      if (!hasOnlyKeys(body, ['t', 'addrs', 'peers'])) return undefined
      const addrs = parseAddresses(body.addrs, limits)
      const peers = parsePeers(body.peers, limits.maxHelloPeers, limits)
      return addrs && peers ? { t: 'hello', addrs, peers } : undefined
    }
    case 'find': {
      if (!hasOnlyKeys(body, ['t', 'id', 'target'])) return undefined
      const id = parseId(body.id)
      const target = body.target
      if (id === undefined || !(target instanceof Uint8Array) || target.length !== 32) return undefined
      return { t: 'find', id, target: Uint8Array.from(target) }
    }
    case 'found': {
      if (!hasOnlyKeys(body, ['t', 'id', 'peers'])) return undefined
      const id = parseId(body.id)
      const peers = parsePeers(body.peers, limits.maxFoundPeers, limits)
      return id !== undefined && peers ? { t: 'found', id, peers } : undefined
    }
    case 'provide': {
      if (!hasOnlyKeys(body, ['t', 'key', 'addrs'])) return undefined
      const key = parseKey(body.key)
      const addrs = parseAddresses(body.addrs, limits)
      return key && addrs ? { t: 'provide', key, addrs } : undefined
    }
    case 'provided': {
      if (!hasOnlyKeys(body, ['t', 'key', 'code'])) return undefined
      const key = parseKey(body.key)
      const code = PROVIDE_REFUSALS.find((c) => c === body.code)
      return key && code ? { t: 'provided', key, code } : undefined
    }
    case 'getp': {
      if (!hasOnlyKeys(body, ['t', 'id', 'key'])) return undefined
      const id = parseId(body.id)
      const key = parseKey(body.key)
      return id !== undefined && key ? { t: 'getp', id, key } : undefined
    }
    case 'providers': {
      if (!hasOnlyKeys(body, ['t', 'id', 'providers', 'peers'])) return undefined
      const id = parseId(body.id)
      const providers = parsePeers(body.providers, limits.maxProviders, limits)
      const peers = parsePeers(body.peers, limits.maxFoundPeers, limits)
      return id !== undefined && providers && peers ? { t: 'providers', id, providers, peers } : undefined
    }
    default:
      return undefined
  }
}
