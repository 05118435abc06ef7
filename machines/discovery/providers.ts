/**
 * Provider records (the libp2p kad-dht's ADD_PROVIDER / GET_PROVIDERS), as seen from the
 * discovery actor: the keys this node provides, announcing them, storing what others announce,
 * answering GET_PROVIDERS, and collecting a GET_PROVIDERS lookup's providers.
 *
 * Chart and data: the discovery chart's `providers` region shows the lifecycle (announce:
 * idle ⇄ announcing, one announce lookup at a time, `[canAnnounce]`; republish: every
 * `after(republishInterval)` all provided keys are due again; expiry: every
 * `after(providerSweep)` expired records go; for both, the first wait ends at a point of the
 * first period drawn from the seeded rng, context.ts). The per-key state (due or not, the
 * records of others) is data: `ctx.provided`, `ctx.providerStore` (provider-store.ts),
 * `ctx.offers`.
 *
 * - Announcing `key`: a FIND_NODE lookup for the key (kind `provide`), then `provide` to each of
 *   the k closest peers it ended with (dialed first when not connected: those wait in `offers`).
 * - Storing: the provider is the authenticated sender (`event.peer`): there is no provider field,
 *   so no peer can announce another (as the libp2p DHT checks ADD_PROVIDER's provider against the
 *   sender); its addresses those it gives that name it (or, failing those, the ones we know); the
 *   providers of one key are bounded per address group of the announcing connection. A refusal
 *   is answered with `provided {key, code}` and shown to the announcer's user as
 *   `discovery.provide.refused`.
 * - GET_PROVIDERS lookups (kind `providers`) run the iterative lookup over `getp`; each answer's
 *   providers are kept, and its closer peers feed the lookup; at the end one provider is taken
 *   from each answer in turn (`chooseProviders`), so no single answer fills the result.
 * @module
 */
import { toPeer } from '../lib/protocol.js'
import { closestWirePeers, onAnswer } from './exchange.js'
import type { LookupOutput } from './lookup.machine.js'
import type { GetProvidersMessage, ProvidedMessage, ProvideMessage, ProvidersMessage, WirePeer } from './messages.js'
import { addressesOf } from './peer-store.js'
import { fits, groupOf, type Diversity } from './diversity.js'
import { addProvider, keyHex, providersOf } from './provider-store.js'
import { dialKnown } from './peers.js'
import { startLookup } from './queries.js'
import { DISCOVERY_ID, type DiscoveryCommand, type DiscoveryContext, type FoundProvider, type LookupInfo, type Out } from './context.js'
import type { Key } from './kbucket.js'

type FindProviders = Extract<DiscoveryCommand, { type: 'discovery.findProviders' }>

/** Longest `timeout` a findProviders may ask for (ms). */
export const MAX_PROVIDERS_TIMEOUT = 600_000

export function isKey(key: unknown): key is Uint8Array {
  return key instanceof Uint8Array && key.length === 32
}

/** A findProviders command with a 32-byte key and, if any, a timeout in 1..MAX_PROVIDERS_TIMEOUT ms. */
export function isValidFindProviders(event: FindProviders): boolean {
  const { timeout } = event as { timeout?: unknown }
  return isKey(event.key) && (timeout === undefined || (typeof timeout === 'number' && timeout >= 1 && timeout <= MAX_PROVIDERS_TIMEOUT))
}

function refused(out: Out[], key: string, peer: string, reason: string): void {
  out.push({ kind: 'emit', event: { type: 'discovery.provide.refused', key, peer, reason } })
}

/** `discovery.provide`: a key of ours, due for announcement. */
export function provide(ctx: DiscoveryContext, key: unknown, out: Out[]): void {
  if (!isKey(key)) return refused(out, '', ctx.peerId, 'invalid-key')
  const hex = keyHex(key)
  if (ctx.provided.has(hex)) return
  if (ctx.provided.size >= ctx.options.maxProvidedKeys) return refused(out, hex, ctx.peerId, 'too-many-provided')
  ctx.provided.set(hex, { key: Uint8Array.from(key), due: true })
}

/** `discovery.unprovide`: not announced again (the records others hold expire after their TTL). */
export function unprovide(ctx: DiscoveryContext, key: unknown): void {
  if (!isKey(key)) return
  const hex = keyHex(key)
  ctx.provided.delete(hex)
  for (const [peer, hexes] of ctx.offers) {
    const rest = hexes.filter((h) => h !== hex)
    if (rest.length === 0) ctx.offers.delete(peer)
    else ctx.offers.set(peer, rest)
  }
}

/** The republish interval passed: every provided key is due again. */
export function markAllDue(ctx: DiscoveryContext): void {
  for (const p of ctx.provided.values()) p.due = true
}

export function hasDueKey(ctx: DiscoveryContext): boolean {
  for (const p of ctx.provided.values()) if (p.due) return true
  return false
}

/** Start the announce lookup of the first due key (the guard checked a lookup can start). */
export function startAnnounce(ctx: DiscoveryContext, out: Out[]): void {
  for (const p of ctx.provided.values()) {
    if (!p.due) continue
    const id = startLookup(ctx, { kind: 'provide', target: p.key }, out)
    if (id === 'too-many-lookups' || id === 'no-peers') return
    p.due = false
    ctx.announcing = id
    return
  }
}

function provideMessage(ctx: DiscoveryContext, key: Key): ProvideMessage {
  return { t: 'provide', key, addrs: ctx.addresses.slice(0, ctx.options.maxAddresses) }
}

/** The announce lookup ended: `provide` to the k closest peers it found (dialing those not connected). */
export function finishAnnounce(ctx: DiscoveryContext, info: LookupInfo, output: LookupOutput | undefined, now: number, out: Out[]): void {
  ctx.announcing = undefined
  const hex = keyHex(info.target)
  const provided = ctx.provided.get(hex)
  if (!provided || !output || output.cancelled) return
  for (const peer of output.closest) {
    if (peer === ctx.peerId) continue
    if (ctx.connected.has(peer) && !ctx.hangingUp.has(peer)) {
      out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, provideMessage(ctx, provided.key)) })
      continue
    }
    // Not connected: dial it. Being hung up on (a trim): it is dialed again once that connection is gone (redialForWork).
    const record = ctx.store.records.get(peer)
    if (!ctx.hangingUp.has(peer) && (!record || !(ctx.dialing.has(peer) || dialKnown(ctx, record, now, 'lookup', out)))) continue
    const waiting = ctx.offers.get(peer)
    if (!waiting) ctx.offers.set(peer, [hex])
    else if (!waiting.includes(hex)) waiting.push(hex)
  }
}

/** `peer` is connected now: send the `provide`s that waited for it. */
export function flushOffers(ctx: DiscoveryContext, peer: string, out: Out[]): void {
  const hexes = ctx.offers.get(peer)
  if (!hexes) return
  ctx.offers.delete(peer)
  for (const hex of hexes) {
    const p = ctx.provided.get(hex)
    if (p) out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, provideMessage(ctx, p.key)) })
  }
}

/** `peer` could not be dialed or is gone: its waiting `provide`s are dropped (the next republish tries again). */
export function dropOffers(ctx: DiscoveryContext, peer: string): void {
  ctx.offers.delete(peer)
}

/** ADD_PROVIDER from `peer` (the authenticated sender): store it, or answer why not. */
export function onProvide(ctx: DiscoveryContext, peer: string, body: ProvideMessage, now: number, out: Out[]): void {
  let addresses = addressesOf(peer, body.addrs, ctx.options.maxAddresses)
  if (addresses.length === 0) addresses = ctx.store.records.get(peer)?.addresses ?? []
  const group = groupOf([ctx.connected.get(peer)?.address ?? ''], ctx.options.diversity)
  const result = addresses.length === 0 ? 'no-address' : addProvider(ctx.providerStore, body.key, peer, addresses, now, group)
  if (result === 'added' || result === 'refreshed') return
  const answer: ProvidedMessage = { t: 'provided', key: body.key, code: result }
  out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, answer) })
}

/** A node refused our record: tell the user (only for keys we provide; anything else is ignored). */
export function onProvided(ctx: DiscoveryContext, peer: string, body: ProvidedMessage, out: Out[]): void {
  const hex = keyHex(body.key)
  if (ctx.provided.has(hex)) refused(out, hex, peer, body.code)
}

/** This node's providers of `key`: itself if it provides it, then the live records it stores. */
function localProviders(ctx: DiscoveryContext, key: Key, now: number): FoundProvider[] {
  const out: FoundProvider[] = []
  if (ctx.provided.has(keyHex(key))) out.push({ peer: ctx.peerId, addresses: ctx.addresses.slice() })
  for (const r of providersOf(ctx.providerStore, key, now)) {
    if (out.length >= ctx.options.maxProvidersPerKey) break
    if (r.peer !== ctx.peerId) out.push({ peer: r.peer, addresses: r.addresses.slice() })
  }
  return out
}

/** GET_PROVIDERS: the providers we know of (ourselves included) and the k closest peers to the key. */
export function onGetProviders(ctx: DiscoveryContext, peer: string, body: GetProvidersMessage, now: number, out: Out[]): void {
  const providers: WirePeer[] = localProviders(ctx, body.key, now)
    .filter((p) => p.addresses.length > 0)
    .map((p) => ({ id: p.peer, addrs: p.addresses.slice(0, ctx.options.maxAddresses) }))
  const answer: ProvidersMessage = { t: 'providers', id: body.id, providers, peers: closestWirePeers(ctx, body.key, peer) }
  out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, answer) })
}

/** Answers to one GET_PROVIDERS lookup whose providers are kept (each at most maxProvidersPerKey). */
export const MAX_PROVIDER_ANSWERS = 64

/** The answer to one of our GET_PROVIDERS: keep its providers, pass its closer peers to the lookup. */
export function onProvidersAnswer(ctx: DiscoveryContext, peer: string, body: ProvidersMessage, now: number, out: Out[]): void {
  const lookupId = onAnswer(ctx, peer, body.id, body.peers, now, out)
  const info = lookupId === undefined ? undefined : ctx.lookups.get(lookupId)
  if (!info?.answers || info.answers.length >= MAX_PROVIDER_ANSWERS) return
  const named: FoundProvider[] = []
  for (const p of body.providers) {
    if (named.length >= ctx.options.maxProvidersPerKey) break
    const addresses = addressesOf(p.id, p.addrs, ctx.options.maxAddresses)
    if (addresses.length > 0 && !named.some((n) => n.peer === p.id)) named.push({ peer: p.id, addresses })
  }
  if (named.length > 0) info.answers.push(named)
}

/**
 * The providers a GET_PROVIDERS lookup reports: this node's own first, then one from each answer
 * in turn (in the order the answers came), skipping repeats and providers beyond the diversity
 * bounds (per IP and network of their first address), up to maxProvidersPerKey. A provider
 * record is not signed, so whoever answers can name anyone: taking from every answer in turn
 * means one hostile answer (a Sybil's 32 fake providers) cannot crowd out what the others said.
 */
export function chooseProviders(info: LookupInfo, max: number, diversity: Diversity): FoundProvider[] {
  const chosen = [...(info.providers ?? [])].map(([peer, addresses]) => ({ peer, addresses }))
  const groups = chosen.map((p) => groupOf(p.addresses, diversity))
  const lists = info.answers ?? []
  for (let i = 0; chosen.length < max && lists.some((l) => i < l.length); i++) {
    for (const list of lists) {
      const p = list[i]
      if (p === undefined || chosen.length >= max || chosen.some((c) => c.peer === p.peer)) continue
      const group = groupOf(p.addresses, diversity)
      if (!fits(groups, group, diversity)) continue
      chosen.push(p)
      groups.push(group)
    }
  }
  return chosen
}

function answerFound(queryId: string | number, key: Key, providers: FoundProvider[], rounds: number, timedOut: boolean, out: Out[]): void {
  out.push({ kind: 'emit', event: { type: 'discovery.providers.found', queryId, key: keyHex(key), providers, rounds, timedOut } })
}

/** `discovery.findProviders` refused at once, for `reason`. */
export function refuseFindProviders(event: FindProviders, reason: string, out: Out[]): void {
  const queryId = typeof event.queryId === 'string' || typeof event.queryId === 'number' ? event.queryId : String(event.queryId)
  out.push({ kind: 'emit', event: { type: 'discovery.providers.failed', queryId, reason } })
}

/** No routes: what this node knows is the answer (rounds 0). */
export function answerProvidersAtOnce(ctx: DiscoveryContext, event: FindProviders, now: number, out: Out[]): void {
  answerFound(event.queryId, event.key, localProviders(ctx, event.key, now), 0, false, out)
}

/** Start a GET_PROVIDERS lookup (the guards checked one can start), seeded with what this node knows. */
export function startProvidersLookup(ctx: DiscoveryContext, event: FindProviders, now: number, out: Out[]): void {
  const providers = new Map(localProviders(ctx, event.key, now).map((p) => [p.peer, p.addresses]))
  const info: LookupInfo = { kind: 'providers', target: Uint8Array.from(event.key), queryId: event.queryId, providers, answers: [] }
  startLookup(ctx, info, out, event.timeout)
}

/** A GET_PROVIDERS lookup ended: answer its findProviders. */
export function finishProvidersLookup(ctx: DiscoveryContext, info: LookupInfo, output: LookupOutput | undefined, out: Out[]): void {
  const event = { type: 'discovery.findProviders', key: info.target, queryId: info.queryId! } as const
  if (!output) return refuseFindProviders(event, 'lookup-failed', out)
  if (output.cancelled) return refuseFindProviders(event, 'cancelled', out)
  const providers = chooseProviders(info, ctx.options.maxProvidersPerKey, ctx.options.diversity)
  answerFound(info.queryId!, info.target, providers, output.rounds, output.timedOut === true, out)
}
