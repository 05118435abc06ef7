/**
 * Prometheus metrics of a swarm, as the text exposition format (version 0.0.4).
 *
 * A text function rather than registering into a prom-client registry: xswarm then needs no
 * metrics dependency (and none in a browser build), holds no process-global registry, and a
 * process with several swarms labels each by its peer id. A service with its own prom-client
 * registry serves both: `(await register.metrics()) + metricsText(swarm)`.
 *
 * Collected only with `createSwarm({ metrics: true })`: counters the shell sees pass by (events
 * handed out, frames per protocol, settle times, events handed to hosted actors); gauges read
 * at scrape time from the swarm's stats and, read-only, from the pubsub, discovery and actors
 * protocol actors' snapshots (mesh sizes, routing table, asks, pairs). Nothing here feeds back
 * into the machines.
 *
 * Label values are bounded: reasons and outcomes of the actor layer are its fixed codes (any
 * other value counts as `other`); actor names are never labels (they are unbounded: the mailbox
 * depth is one histogram over all actors).
 * @module
 */

/** Upper bounds (seconds) of the settle-time histogram buckets. */
export const SETTLE_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5]
/** Upper bounds of the mailbox-depth histogram: events handed to one actor in one settle (at most maxMailbox). */
export const MAILBOX_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
/** The actor layer's failure codes (README "Actors"), the only label values of its counters besides `ok` and `other`. */
const ACTOR_CODES = new Set(['unreachable', 'no-such-actor', 'rejected', 'overloaded', 'actor-stopped', 'peer-disconnected', 'timeout', 'invalid-address'])

/** Read-only views of state the collector reads at scrape time. */
export interface MetricsReaders {
  stats(): { inputs: number; framesIn: number; framesOut: number; bytesIn: number; bytesOut: number; dropped: number; paused: number; queued: number }
  /** Topic → mesh size of our pubsub subscriptions. */
  meshSizes(): Map<string, number>
  /** Peers in the discovery routing table (undefined without discovery). */
  tableSize(): number | undefined
  /** Pubsub duplicates seen so far (undefined without pubsub). */
  duplicates(): number | undefined
  /** Data bytes of those duplicates (undefined without pubsub). */
  duplicateBytes(): number | undefined
  /** The actor layer's state (undefined without it). */
  actors(): ActorFigures | undefined
}

/** Figures of the actors protocol's state, read at scrape time. */
export interface ActorFigures {
  /** Hosted actors (exposed local refs included). */
  hosted: number
  /** Asks of this node waiting for an answer. */
  pendingAsks: number
  /** (sender, receiver) pairs with at-least-once state. */
  pairs: number
  /** At-least-once events sent and not yet acknowledged. */
  unacked: number
  /** Events waiting for a connection to their peer. */
  queued: number
}

type Direction = 'in' | 'out'

/** What the driver reports (frames per protocol, settle times). */
export interface FrameMetrics {
  frame(direction: Direction, protocol: string, bytes: number): void
  settled(seconds: number): void
}

/** Counters of one swarm; the shell calls `event`, `frame` and `settled`. */
export class SwarmMetrics implements FrameMetrics {
  readonly #frames = new Map<string, number>()
  readonly #bytes = new Map<string, number>()
  readonly #settle = new Histogram(SETTLE_BUCKETS)
  readonly #mailbox = new Histogram(MAILBOX_BUCKETS)
  readonly #asks = new Map<string, number>()
  readonly #undelivered = new Map<string, number>()
  readonly #connected = new Map<string, string>()
  readonly #disconnects = new Map<string, number>()
  readonly #dialFailures = new Map<string, number>()
  readonly #refused = new Map<string, number>()
  readonly #deliveries = new Map<string, number>()

  constructor(readonly peerId: string, readonly readers: MetricsReaders) {}

  /** A frame of `protocol` went in or out, `bytes` long. */
  frame(direction: Direction, protocol: string, bytes: number): void {
    const key = `${direction} ${protocol}`
    this.#frames.set(key, (this.#frames.get(key) ?? 0) + 1)
    this.#bytes.set(key, (this.#bytes.get(key) ?? 0) + bytes)
  }

  /** One input took `seconds` to settle. */
  settled(seconds: number): void {
    this.#settle.observe(seconds)
  }

  /** Events handed to hosted actors in one call (one settle): each actor's count is its mailbox depth. */
  delivered(items: readonly { name: string }[]): void {
    const depth = new Map<string, number>()
    for (const { name } of items) depth.set(name, (depth.get(name) ?? 0) + 1)
    for (const n of depth.values()) this.#mailbox.observe(n)
  }

  /** An event handed to the user. */
  event(e: { type: string; [key: string]: unknown }): void {
    switch (e.type) {
      case 'peer.connected': this.#connected.set(e.peer as string, e.direction as string); break
      case 'peer.disconnected': this.#connected.delete(e.peer as string); bump(this.#disconnects, e.reason); break
      case 'dial.failed': bump(this.#dialFailures, e.reason); break
      case 'pubsub.message': bump(this.#deliveries, e.topic); break
      case 'actors.answer': bump(this.#asks, e.code === undefined ? 'ok' : actorCode(e.code)); break
      case 'actor.undelivered': bump(this.#undelivered, actorCode(e.reason)); break
      default: if (e.type.includes('refused')) bump(this.#refused, e.reason)
    }
  }

  /** The exposition text. */
  text(): string {
    const out = new Exposition({ peer: this.peerId })
    const s = this.readers.stats()
    const byDirection = { inbound: 0, outbound: 0 }
    for (const d of this.#connected.values()) byDirection[d as keyof typeof byDirection]++
    out.metric('xswarm_connections', 'gauge', 'Open connections to peers, by direction.',
      Object.entries(byDirection).map(([direction, v]) => [{ state: 'open', direction }, v]))
    out.metric('xswarm_disconnects_total', 'counter', 'Peers disconnected, by reason.', labelled('reason', this.#disconnects))
    out.metric('xswarm_dial_failures_total', 'counter', 'Dials that did not end in a connection, by reason.', labelled('reason', this.#dialFailures))
    out.metric('xswarm_refused_total', 'counter', 'Inbound connections refused, by reason.', labelled('reason', this.#refused))
    out.metric('xswarm_frames_total', 'counter', 'Frames in and out, by protocol.', perProtocol(this.#frames))
    out.metric('xswarm_bytes_total', 'counter', 'Frame bytes in and out, by protocol.', perProtocol(this.#bytes))
    out.metric('xswarm_inputs_total', 'counter', 'Inputs the swarm settled.', [[{}, s.inputs]])
    out.metric('xswarm_queue_length', 'gauge', 'Inputs waiting in the swarm queue.', [[{}, s.queued]])
    out.metric('xswarm_paused_sockets', 'gauge', 'Sockets paused for backpressure.', [[{}, s.paused]])
    out.metric('xswarm_dropped_sends_total', 'counter', 'Sends dropped (no connection to the peer any more).', [[{}, s.dropped]])
    out.histogram('xswarm_settle_seconds', 'Time to settle one input (machines and effects).', this.#settle)
    out.metric('xswarm_pubsub_deliveries_total', 'counter', 'Pubsub messages delivered to the user, by topic.', labelled('topic', this.#deliveries))
    const duplicates = this.readers.duplicates()
    if (duplicates !== undefined) out.metric('xswarm_pubsub_duplicates_total', 'counter', 'Pubsub messages received again (dropped unverified).', [[{}, duplicates]])
    const duplicateBytes = this.readers.duplicateBytes()
    if (duplicateBytes !== undefined) out.metric('xswarm_pubsub_duplicate_bytes_total', 'counter', 'Data bytes of the pubsub messages received again (what IDONTWANT did not stop).', [[{}, duplicateBytes]])
    out.metric('xswarm_pubsub_mesh_peers', 'gauge', 'Mesh size of each subscribed topic.', labelled('topic', this.readers.meshSizes()))
    const table = this.readers.tableSize()
    if (table !== undefined) out.metric('xswarm_discovery_table_peers', 'gauge', 'Peers in the discovery routing table.', [[{}, table]])
    const actors = this.readers.actors()
    if (actors !== undefined) this.#actorMetrics(out, actors)
    return out.text()
  }

  #actorMetrics(out: Exposition, a: ActorFigures): void {
    out.metric('xswarm_actor_asks_total', 'counter', 'Asks of this node settled, by outcome (ok or the failure code).', labelled('outcome', this.#asks))
    out.metric('xswarm_actor_undelivered_total', 'counter', 'Sends that could not be delivered (dead letters), by reason.', labelled('reason', this.#undelivered))
    out.histogram('xswarm_actor_mailbox_depth', 'Events handed to one hosted actor in one settle (its mailbox when handed over).', this.#mailbox)
    out.metric('xswarm_actors_hosted', 'gauge', 'Actors hosted on this node (exposed local refs included).', [[{}, a.hosted]])
    out.metric('xswarm_actor_pending_asks', 'gauge', 'Asks of this node waiting for an answer.', [[{}, a.pendingAsks]])
    out.metric('xswarm_actor_pairs', 'gauge', 'Sender/receiver pairs with at-least-once state.', [[{}, a.pairs]])
    out.metric('xswarm_actor_unacked', 'gauge', 'At-least-once events sent and not yet acknowledged.', [[{}, a.unacked]])
    out.metric('xswarm_actor_queued', 'gauge', 'Events waiting for a connection to their peer.', [[{}, a.queued]])
  }
}

/** A fixed code of the actor layer, or `other` (label values stay bounded whatever a peer sends). */
const actorCode = (code: unknown): string => (typeof code === 'string' && ACTOR_CODES.has(code) ? code : 'other')

/** Bucket counts (not cumulative) and the sum of the observed values. */
class Histogram {
  readonly counts: number[]
  sum = 0
  constructor(readonly bounds: number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe(value: number): void {
    let i = 0
    while (i < this.bounds.length && value > this.bounds[i]) i++
    this.counts[i]++
    this.sum += value
  }
}

function bump(map: Map<string, number>, key: unknown): void {
  const k = String(key ?? 'unknown')
  map.set(k, (map.get(k) ?? 0) + 1)
}

type Sample = [Record<string, string>, number]
const labelled = (name: string, map: Map<string, number>): Sample[] => [...map].map(([k, v]) => [{ [name]: k }, v])
const perProtocol = (map: Map<string, number>): Sample[] =>
  [...map].map(([key, v]) => {
    const space = key.indexOf(' ')
    return [{ direction: key.slice(0, space), protocol: key.slice(space + 1) }, v]
  })

/** Writes the text format: HELP and TYPE once per metric, escaped label values. */
class Exposition {
  readonly #lines: string[] = []
  constructor(readonly common: Record<string, string>) {}

  metric(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): void {
    this.#head(name, type, help)
    for (const [labels, value] of samples) this.#lines.push(`${name}${this.#labels(labels)} ${value}`)
  }

  histogram(name: string, help: string, { bounds, counts, sum }: Histogram): void {
    this.#head(name, 'histogram', help)
    let cumulative = 0
    bounds.forEach((le, i) => {
      cumulative += counts[i]
      this.#lines.push(`${name}_bucket${this.#labels({ le: String(le) })} ${cumulative}`)
    })
    cumulative += counts[bounds.length]
    this.#lines.push(`${name}_bucket${this.#labels({ le: '+Inf' })} ${cumulative}`)
    this.#lines.push(`${name}_sum${this.#labels({})} ${sum}`, `${name}_count${this.#labels({})} ${cumulative}`)
  }

  text(): string {
    return this.#lines.join('\n') + '\n'
  }

  #head(name: string, type: string, help: string): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  }

  #labels(labels: Record<string, string>): string {
    const all = { ...this.common, ...labels }
    return `{${Object.entries(all).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`
  }
}

const collectors = new WeakMap<object, SwarmMetrics>()

/** @internal createSwarm registers a swarm's collector. */
export function registerMetrics(swarm: object, metrics: SwarmMetrics): void {
  collectors.set(swarm, metrics)
}

/**
 * The Prometheus text exposition of a swarm made with `createSwarm({ metrics: true })`; serve
 * it as `text/plain; version=0.0.4` on `/metrics`.
 * @throws RangeError for a swarm made without `metrics: true`
 */
export function metricsText(swarm: object): string {
  const metrics = collectors.get(swarm)
  if (metrics === undefined) throw new RangeError('"swarm" was created without { metrics: true }: metricsText has nothing to report')
  return metrics.text()
}

/** The content type of `metricsText`. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
