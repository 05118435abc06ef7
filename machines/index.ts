/**
 * `xswarm/machines`: every statechart of xswarm and the vocabulary they speak, with no IO.
 * Open them in the Stately editor, test them alone with `transition()` and `xstate/graph`,
 * or build your own protocols next to them.
 * @module
 */
export * from './vocab.js'
export { swarmMachine, survivor, type SwarmInput } from './swarm.machine.js'
export { swarmPeerMachine, type SwarmPeerEvent, type SwarmPeerState } from './swarm/peer.machine.js'
export { connectionMachine, CONTROL_PROTOCOL, type ConnectionInput, type ConnectionTimeouts } from './connection.machine.js'
export { refusalsMachine, REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from './refusals.machine.js'
export { HANDSHAKE_PROTOCOL, identityBindingMessage, type HandshakeInput, type HandshakeOutput } from './handshake.machine.js'
export { pingMachine, pingPeerMachine, pingPeerChart, pingProtocol, parsePing, PING_ID } from './protocols/ping.machine.js'
export * from './lib/protocol.js'
export * from './lib/peer-chart.js'
export * from './lib/signer.js'
export * from './lib/secret.js'
export * from './lib/rng.js'
export * from './lib/limits.js'
export { inputTime, spawnTracked, bindRuntime, type Runtime } from './lib/runtime.js'
export type { CryptoSuite } from './lib/crypto.js'
export { nobleSuite } from './lib/crypto-noble.js'
export * from './lib/peer-id.js'
export { pubsubMachine, pubsubProtocol, PUBSUB_ID, type PubsubProtocolOptions } from './pubsub/pubsub.machine.js'
export { topicMachine } from './pubsub/topic.machine.js'
export { membershipMachine, type MembershipEvent, type MembershipState } from './pubsub/membership.machine.js'
export { receiveMachine, type MessageArrived, type MessageVerdict, type ReceiveEvent } from './pubsub/receive.machine.js'
export { parseRpc, type Rpc } from './pubsub/wire.js'
export { discoveryMachine, discoveryProtocol, DISCOVERY_ID } from './discovery/discovery.machine.js'
export { lookupMachine } from './discovery/lookup.machine.js'
export { actorsMachine, ACTORS_ID } from './actors/actors.machine.js'
export { pairMachine, type PairEvent } from './actors/pair.machine.js'
