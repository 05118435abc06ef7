/**
 * Discovery (`/xswarm/discovery/1`): the protocol, its options, commands and events, and the
 * pure parts (k-buckets, lookup statechart, wire parser) for tests and tools.
 * @module
 */
export { discoveryProtocol, discoveryMachine, DISCOVERY_ID } from './discovery.machine.js'
export type { DiscoveryCommand, DiscoveryUserEvent } from './context.js'
export { resolveOptions, DISCOVERY_DEFAULTS, type DiscoveryOptions, type ResolvedDiscoveryOptions } from './options.js'
export type { ExportedPeer } from './peer-store.js'
export { parseMessage, DEFAULT_LIMITS as DISCOVERY_LIMITS, type DiscoveryMessage } from './messages.js'
export { lookupMachine, type LookupInput, type LookupOutput } from './lookup.machine.js'
export { peerKey, distance, closest, createTable, touch, type RoutingTable } from './kbucket.js'
