/**
 * Discovery as a built-in protocol of `createSwarm` (which calls `discoveryForSwarm`).
 *
 * `discovery: false` leaves the protocol out entirely (static peers only: nothing of
 * discovery runs, and commands to it are refused by the swarm as for any missing protocol).
 * Otherwise the swarm's `bootstrap` addresses become discovery's bootstrap list (redialed with
 * backoff while the node has no connection), and an options object is passed through, e.g.
 * `discovery: { knownPeers, lowWatermark: 4 }` (checked by `resolveOptions`, which throws
 * TypeError/RangeError on a bad value).
 * @module
 */
import { discoveryProtocol } from '../../machines/discovery/discovery.machine.js'
import type { DiscoveryOptions } from '../../machines/discovery/options.js'
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import type { SwarmOptions } from '../create-swarm.js'

/** The discovery protocol for these swarm options, or `undefined` when `discovery: false`. */
export function discoveryForSwarm(options: SwarmOptions): ProtocolDefinition<any> | undefined {
  if (options.discovery === false) return undefined
  const extra = (typeof options.discovery === 'object' && options.discovery !== null ? options.discovery : {}) as DiscoveryOptions
  const bootstrap = extra.bootstrap ?? options.bootstrap ?? []
  return discoveryProtocol({ ...extra, bootstrap })
}

