/**
 * What the metrics read at scrape time, read-only: the swarm's counters, and the pubsub,
 * discovery and actors protocol actors' snapshots (mesh size per topic, duplicates, routing
 * table size; hosted actors, pending asks, at-least-once pairs and what waits). Reading a
 * snapshot changes nothing, so the machines stay the only deciders.
 * @module
 */
import { protocolSystemId } from '../../machines/lib/protocol.js'
import type { PubsubContext } from '../../machines/pubsub/state.js'
import type { DiscoveryContext } from '../../machines/discovery/context.js'
import { ACTORS_ID, type ActorsContext } from '../../machines/actors/context.js'
import type { Driver } from '../runtime/driver.js'
import type { Swarm } from '../swarm.js'
import type { MetricsReaders } from './prometheus.js'

const PUBSUB = protocolSystemId('/xswarm/pubsub/1')
const DISCOVERY = protocolSystemId('/xswarm/discovery/1')
const ACTORS = protocolSystemId(ACTORS_ID)

/** Readers over a swarm and its driver (given lazily: both are made after the collector). */
export function metricsReaders(driver: () => Driver, swarm: () => Swarm<any, any>): MetricsReaders {
  const context = <C>(systemId: string): C | undefined =>
    (driver().root.system.get(systemId) as { getSnapshot(): { context: C } } | undefined)?.getSnapshot().context
  return {
    stats: () => swarm().stats(),
    meshSizes: () => {
      const sizes = new Map<string, number>()
      for (const [topic, state] of context<PubsubContext>(PUBSUB)?.s.topics ?? []) sizes.set(topic, state.mesh.size)
      return sizes
    },
    duplicates: () => context<PubsubContext>(PUBSUB)?.s.duplicates,
    duplicateBytes: () => context<PubsubContext>(PUBSUB)?.s.duplicateBytes,
    tableSize: () => context<DiscoveryContext>(DISCOVERY)?.table.byPeer.size,
    actors: () => {
      const c = context<ActorsContext>(ACTORS)
      if (!c) return undefined
      let unacked = 0
      for (const pair of c.pairs.values()) unacked += pair.unacked.size
      let queued = 0
      for (const link of c.links.values()) queued += link.waiting.length
      return { hosted: c.hosted.size, pendingAsks: c.asks.size, pairs: c.pairs.size, unacked, queued }
    },
  }
}
