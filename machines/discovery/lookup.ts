/**
 * The shortlist of an iterative Kademlia lookup (FIND_NODE), as pure immutable functions.
 *
 * The lookup machine (lookup.machine.ts) keeps a `Shortlist` in its context: the candidates
 * closest to the target seen so far, closest first, each `new`, `pending` (queried this round),
 * `answered` or `failed`. It holds at most `max` candidates; one pushed out can never come back
 * in, since the list only ever gets closer, so no separate "seen" set is needed. Every function
 * returns a new shortlist (the machine's snapshots stay values, which `xstate/graph` needs).
 *
 * Disjoint paths (S/Kademlia): the candidates are split into `paths` sets. The seeds are dealt
 * to the paths in turn, closest first, and a contact joins the path of the peer that named it;
 * a peer belongs to at most one path (the first that heard of it), and each path keeps its own
 * `max` closest, so contacts a hostile peer names can crowd out only its own path. Each round
 * queries candidates of every path.
 * @module
 */
import { compareBytes, distance, type Key } from './kbucket.js'
import { fits, groupOf, type Diversity, type Group } from './diversity.js'

/** Where a candidate is in the lookup. */
export type CandidateState = 'new' | 'pending' | 'answered' | 'failed'

export interface Candidate {
  peer: string
  key: Key
  /** XOR distance to the target. */
  distance: Uint8Array
  state: CandidateState
  /** Its address group, for the diversity bound (null: not bounded). */
  group: Group | null
  /** It answered us before (a routing table peer): every round asks at least one such peer if it can. */
  proven: boolean
  /** We had a connection to it when the lookup heard of it (a query then costs no dial). */
  connected: boolean
  /** Its disjoint path. */
  path: number
}

/** A peer as a lookup learns it (from the routing table or from a `found` answer). */
export interface Contact {
  peer: string
  key: Key
  addresses?: string[]
  /** In our routing table: we have had a working connection to it (it answered before). */
  proven?: boolean
  /** Connected now. */
  connected?: boolean
}

export interface Shortlist {
  readonly target: Key
  readonly max: number
  readonly entries: readonly Candidate[]
  /** At most so many candidates of one IP / one network (diversity.ts); none when absent. */
  readonly diversity?: Diversity
  /** Disjoint paths (1: none). */
  readonly paths: number
}

export function createShortlist(target: Key, max: number, seeds: readonly Contact[] = [], diversity?: Diversity, paths = 1): Shortlist {
  let list: Shortlist = { target, max, entries: [], paths, ...(diversity ? { diversity } : {}) }
  const sorted = seeds.slice().sort((a, b) => compareBytes(distance(a.key, target), distance(b.key, target)))
  sorted.forEach((seed, i) => { list = mergeContacts(list, [seed], 0, i % paths).list })
  return list
}

/** Merge contacts (unknown ones as `new`) into `path`, keep its `max` closest. */
export function addContacts(list: Shortlist, contacts: readonly Contact[], path = 0): Shortlist {
  return mergeContacts(list, contacts, 0, path).list
}

/**
 * Merge contacts into `path` and count how many landed among its first `top` live positions
 * (the progress measure of a round: did it bring anyone into the k closest?). A peer already
 * on any path stays where it is.
 */
export function mergeContacts(list: Shortlist, contacts: readonly Contact[], top: number, path = 0): { list: Shortlist; closer: number } {
  let entries: Candidate[] | undefined
  let closer = 0
  for (const c of contacts) {
    const current = entries ?? list.entries
    if (current.some((e) => e.peer === c.peer)) continue
    const d = distance(c.key, list.target)
    const own = current.filter((e) => e.path === path)
    if (own.length >= list.max && compareBytes(d, own[own.length - 1].distance) >= 0) continue
    // One host gets a bounded number of places, however many ids it names (diversity.ts).
    const group = list.diversity ? groupOf(c.addresses, list.diversity) : null
    if (group !== null && !fits(current.map((e) => e.group), group, list.diversity!)) continue
    entries ??= list.entries.slice()
    let at = entries.length
    while (at > 0 && compareBytes(d, entries[at - 1].distance) < 0) at--
    entries.splice(at, 0, { peer: c.peer, key: c.key, distance: d, state: 'new', group, proven: c.proven === true, connected: c.connected === true, path })
    if (rankAmongLive(entries, at, path) < top) closer++
    if (own.length + 1 > list.max) entries.splice(entries.lastIndexOf(own[own.length - 1]), 1)
  }
  return { list: entries ? { ...list, entries } : list, closer }
}

/** Position of entry `at` among the live (not failed) candidates of its path. */
function rankAmongLive(entries: readonly Candidate[], at: number, path: number): number {
  let rank = 0
  for (let i = 0; i < at; i++) if (entries[i].state !== 'failed' && entries[i].path === path) rank++
  return rank
}

/** The path of `peer` (0 when unknown). */
export function pathOf(list: Shortlist, peer: string): number {
  return list.entries.find((e) => e.peer === peer)?.path ?? 0
}

/**
 * The next closest `new` candidates of every path (`alpha` shared among the paths, at least one
 * each), now `pending`; when none of them answered us before and a proven one is left, it takes
 * the last place of its path (so fake "closer" contacts never seen working cannot take a whole
 * round: one query always follows peers that answered). With `preferConnectedWithin` w > 0 (a
 * refresh lookup, which needs no particular peer), connected candidates among a path's w next
 * ones go first: they cost no dial, and their answers may bring closer peers that make the
 * farther unconnected ones unnecessary.
 */
export function takeNext(list: Shortlist, alpha: number, preferConnectedWithin = 0): { list: Shortlist; peers: string[] } {
  const fresh = list.entries.filter((e) => e.state === 'new')
  const perPath = Math.max(1, Math.round(alpha / list.paths))
  let chosen: Candidate[] = []
  for (let p = 0; p < list.paths; p++) chosen.push(...connectedFirst(fresh.filter((e) => e.path === p), preferConnectedWithin).slice(0, perPath))
  const wanted = Math.max(alpha, list.paths)
  if (wanted > 1 && chosen.length >= Math.min(wanted, 2) && !chosen.some((e) => e.proven)) {
    const proven = fresh.find((e) => e.proven && !chosen.includes(e))
    const last = proven && chosen.filter((e) => e.path === proven.path).at(-1)
    if (proven && last) chosen = chosen.map((e) => (e === last ? proven : e))
  }
  if (chosen.length === 0) return { list, peers: [] }
  const picked = new Set(chosen)
  const entries = list.entries.map((e) => (picked.has(e) ? { ...e, state: 'pending' as const } : e))
  return { list: { ...list, entries }, peers: entries.filter((e, i) => picked.has(list.entries[i])).map((e) => e.peer) }
}

/** The connected ones among the first `within` candidates first (order kept otherwise). */
function connectedFirst(candidates: Candidate[], within: number): Candidate[] {
  if (within <= 0) return candidates
  const head = candidates.slice(0, within)
  return [...head.filter((e) => e.connected), ...head.filter((e) => !e.connected), ...candidates.slice(within)]
}

/** A failed candidate may be asked again (the target, at an address not tried yet). */
export function reopen(list: Shortlist, peer: string): Shortlist {
  const at = list.entries.findIndex((e) => e.peer === peer && e.state === 'failed')
  if (at < 0) return list
  const entries = list.entries.slice()
  entries[at] = { ...entries[at], state: 'new' }
  return { ...list, entries }
}

/** Set the state of `peer` (only if it is `pending`: late or unasked answers change nothing). */
export function settle(list: Shortlist, peer: string, state: 'answered' | 'failed'): Shortlist {
  const at = list.entries.findIndex((e) => e.peer === peer && e.state === 'pending')
  if (at < 0) return list
  const entries = list.entries.slice()
  entries[at] = { ...entries[at], state }
  return { ...list, entries }
}

/** Every `pending` candidate becomes `failed` (the round timed out). */
export function expirePending(list: Shortlist): Shortlist {
  if (!list.entries.some((e) => e.state === 'pending')) return list
  return { ...list, entries: list.entries.map((e) => (e.state === 'pending' ? { ...e, state: 'failed' as const } : e)) }
}

export function isPending(list: Shortlist, peer: string): boolean {
  return list.entries.some((e) => e.peer === peer && e.state === 'pending')
}

export function pendingCount(list: Shortlist): number {
  let n = 0
  for (const e of list.entries) if (e.state === 'pending') n++
  return n
}

/**
 * The `k` closest candidates that have not failed have all answered (and there is at least
 * one); of path `path` only, when given.
 */
export function closestAnswered(list: Shortlist, k: number, path?: number): boolean {
  let seen = 0
  for (const e of list.entries) {
    if (e.state === 'failed' || (path !== undefined && e.path !== path)) continue
    if (e.state !== 'answered') return false
    if (++seen >= k) return true
  }
  return seen > 0
}

/** A path is done: its k closest answered, or nothing of it is left to ask or wait for. */
export function pathSettled(list: Shortlist, k: number, path: number): boolean {
  return closestAnswered(list, k, path) || !list.entries.some((e) => e.path === path && (e.state === 'new' || e.state === 'pending'))
}

export function hasNew(list: Shortlist): boolean {
  return list.entries.some((e) => e.state === 'new')
}

/** The `k` closest candidates that have not failed, closest first. */
export function closestPeers(list: Shortlist, k: number): string[] {
  const out: string[] = []
  for (const e of list.entries) {
    if (out.length >= k) break
    if (e.state !== 'failed') out.push(e.peer)
  }
  return out
}
