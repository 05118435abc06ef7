/**
 * xswarm: a peer-to-peer runtime in which the whole network, as one node sees it, is one
 * XState statechart fed by one ordered queue. Start here: `createSwarm`.
 * @module
 */
export { createSwarm, type SwarmOptions } from './create-swarm.js'
export { Swarm, type AnySwarmEvent } from './swarm.js'
export type * from './events.js'
export { XswarmError, CodecError, AddressError, ErrorCodes, type ErrorCode } from './errors.js'
export { defineProtocol, toPeer, dialRequest, hangUpRequest, callRequest, protocolSystemId } from '../machines/lib/protocol.js'
export type { ProtocolDefinition, ProtocolInput, FromSwarm, AnyCommand, UserEventsOf, UserCommandsOf } from '../machines/lib/protocol.js'
export { inputTime } from '../machines/lib/runtime.js'
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, type Limits, type Timeouts } from '../machines/lib/limits.js'
export { pingProtocol, PING_ID, type PingRtt } from '../machines/protocols/ping.machine.js'
export { parseAddress, parseDialAddress, parseListenAddress, formatAddress, toMultiaddr } from './identity/address.js'
export { generateKeyPair, keyPairFromSecret, peerIdOf, type KeyPair } from './identity/keypair.js'
export { loadOrCreateIdentity } from './identity/identity-file.js'
export { createWsTransport } from './transport/ws.js'
export { createMemoryNetwork } from './transport/memory.js'
export type { Transport, Conn, ConnHandler, Listener } from './transport/transport.js'
export { realScheduler, type Scheduler } from './runtime/clock.js'
export { nativeSuite } from './crypto/native.js'
export { nobleSuite } from '../machines/lib/crypto-noble.js'
export type { CryptoSuite } from '../machines/lib/crypto.js'
export type * from '../machines/vocab.js'
export { pubsubProtocol, PUBSUB_ID, type PubsubProtocolOptions } from '../machines/pubsub/pubsub.machine.js'
export { discoveryProtocol, DISCOVERY_ID } from '../machines/discovery/discovery.machine.js'
export type { DiscoveryOptions } from '../machines/discovery/options.js'
export { loadPeerStore, savePeerStore, createPeerStoreWriter } from './discovery/peer-store-file.js'
