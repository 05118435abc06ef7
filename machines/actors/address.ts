/**
 * Actor addresses: `<node address>/actor/<name>`, e.g. `ws://127.0.0.1:4001/p2p/<peerId>/actor/counter`.
 *
 * The node part says where to dial (any address the swarm dials, ending in `/p2p/<peerId>`, or
 * just `/p2p/<peerId>` for a node that does not listen); the name is unique on that node.
 * Names a user gives are 1-64 of `A-Z a-z 0-9 . _ -`; names starting with `~` are the layer's
 * own (`~a<n>`: the one-shot reply slot of an ask; `~e<n>`: a local actor exposed because a
 * ref to it was sent in an event).
 * @module
 */

/** A name a user may give an actor. */
export const USER_NAME = /^[A-Za-z0-9._-]{1,64}$/
/** Any name on the wire: a user name or one of the layer's own `~` names. */
export const WIRE_NAME = /^~?[A-Za-z0-9._-]{1,64}$/
const PEER_ID = /^(?:[1-9A-HJ-NP-Za-km-z]{32,64}|[a-z2-7]{52})$/
const MAX_ADDRESS = 600

export interface ActorAddress {
  /** The node part: what to dial (ends in `/p2p/<peer>`). */
  node: string
  /** The peer id of the node. */
  peer: string
  /** The actor's name on that node. */
  name: string
}

/** `<node>/actor/<name>`. */
export function actorAddress(node: string, name: string): string {
  return `${node}/actor/${name}`
}

/** Parse an actor address; `undefined` when it is not one. */
export function parseActorAddress(address: unknown): ActorAddress | undefined {
  if (typeof address !== 'string' || address.length > MAX_ADDRESS) return undefined
  const at = address.lastIndexOf('/actor/')
  if (at < 0) return undefined
  const node = address.slice(0, at)
  const name = address.slice(at + '/actor/'.length)
  if (!WIRE_NAME.test(name)) return undefined
  const p2p = node.lastIndexOf('/p2p/')
  if (p2p < 0) return undefined
  const peer = node.slice(p2p + '/p2p/'.length)
  if (!PEER_ID.test(peer)) return undefined
  return { node, peer, name }
}

/** Whether a valid actor address names an ask's one-shot reply slot (`~a<n>`), without parsing it. */
export function isReplySlot(address: string): boolean {
  return address.startsWith('~a', address.lastIndexOf('/actor/') + '/actor/'.length)
}

/** The node part for a swarm: its first listen address, else `/p2p/<peerId>` (not dialable). */
export function nodeAddress(peerId: string, addresses: readonly string[]): string {
  return addresses[0] ?? `/p2p/${peerId}`
}
