/**
 * The discovery machine's named guards (discovery.machine.ts): every decision on its
 * transitions, each a question about the context and the event that changes nothing; the
 * chart says what follows each answer.
 * @module
 */
import { failedDialKey, isHarmlessDialFailure } from './connections.js'
import type { DiscoveryContext, DiscoveryEvent } from './context.js'
import { peerKey, tableSize } from './kbucket.js'
import type { DiscoveryMessage } from './messages.js'
import { hasDueKey, isValidFindProviders } from './providers.js'
import { hasWorkFor, MANAGER_REASONS } from './queries.js'

export type E<T extends DiscoveryEvent['type']> = Extract<DiscoveryEvent, { type: T }>
type GuardArgs = { context: DiscoveryContext; event: DiscoveryEvent }

/** The dial a `dial.failed` is about (a dial of ours, by peer id or address). */
export const dialKeyOf = (ctx: DiscoveryContext, event: DiscoveryEvent): string | undefined =>
  event.type === 'dial.failed' ? failedDialKey(ctx, event.address, event.peer) : undefined

const messageOf = (event: DiscoveryEvent): DiscoveryMessage | undefined => (event.type === 'message' ? event.body : undefined)

export const discoveryGuards = {
  isDisabled: ({ context }) => !context.options.enabled,
  hasNoBootstrap: ({ context }) => context.options.bootstrap.length === 0,
  hasConnections: ({ context }) => context.connected.size > 0,
  hasNoConnections: ({ context }) => context.connected.size === 0,
  isOnline: ({ context }) => context.connected.size > 0 && tableSize(context.table) > 0,
  refreshDisabled: ({ context }) => context.options.refreshInterval === 0,
  hasLookupConnections: ({ context }) => context.lookupConnections > 0,
  hasNoLookupConnections: ({ context }) => context.lookupConnections === 0,
  isNewConnection: ({ context, event }) =>
    event.type === 'peer.connected' && event.peer !== context.peerId && !context.connected.has(event.peer),
  isTrackedConnection: ({ context, event }) => event.type === 'peer.disconnected' && context.connected.has(event.peer),
  /**
   * A connection closed by a connection manager (we hung up, or the remote says `trimmed`)
   * while lookup queries or provider records waited on it: the peer is not gone.
   */
  isTrimmedWhileNeeded: ({ context, event }) => event.type === 'peer.disconnected' && context.connected.has(event.peer)
    && (context.hangingUp.has(event.peer) || MANAGER_REASONS.has(event.reason)) && hasWorkFor(context, event.peer),
  isUnknownDial: ({ context, event }) => dialKeyOf(context, event) === undefined,
  /** A bootstrap address without a peer id, or a peer connected anyway: nothing to hold against it. */
  isHarmlessDialFailure: ({ context, event }) => isHarmlessDialFailure(context, dialKeyOf(context, event)!),
  isFromUnconnectedPeer: ({ context, event }) => event.type === 'message' && !context.connected.has(event.peer),
  /** Only the first `hello` of a connection counts (a peer cannot flood the store through one connection). */
  isFirstHello: ({ context, event }) =>
    messageOf(event)?.t === 'hello' && context.connected.get((event as E<'message'>).peer)?.greeted === false,
  isFind: ({ event }) => messageOf(event)?.t === 'find',
  isProvide: ({ event }) => messageOf(event)?.t === 'provide',
  isProvideRefusal: ({ event }) => messageOf(event)?.t === 'provided',
  isGetProviders: ({ event }) => messageOf(event)?.t === 'getp',
  /** A `found` or `providers` answering a request we have in flight, from the peer we asked. */
  isAwaitedAnswer: ({ context, event }) => {
    const body = messageOf(event)
    return (body?.t === 'found' || body?.t === 'providers') && context.pending.get(body.id)?.peer === (event as E<'message'>).peer
  },
  isInvalidProviderQuery: ({ event }) => !isValidFindProviders(event as E<'discovery.findProviders'>),
  /** Online, a provided key is due and no announce runs (it is the one lookup besides maxLookups). */
  canAnnounce: ({ context }) => context.announcing === undefined && hasDueKey(context)
    && context.connected.size > 0 && tableSize(context.table) > 0,
  isAnnounceDone: ({ context }) => context.announcing === undefined,
  isInvalidPeerId: ({ event }) => {
    const peer = (event as E<'discovery.findPeer'>).peer as unknown
    return typeof peer !== 'string' || peerKey(peer) === undefined
  },
  isSelfOrConnected: ({ context, event }) => {
    const peer = (event as E<'discovery.findPeer'>).peer
    return peer === context.peerId || context.connected.has(peer)
  },
  isAtLookupLimit: ({ context }) => context.lookups.size - (context.announcing === undefined ? 0 : 1) >= context.options.maxLookups,
  hasNoRoutes: ({ context }) => tableSize(context.table) === 0,
} satisfies Record<string, (args: GuardArgs) => boolean>
