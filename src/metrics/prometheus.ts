/**
 * Prometheus metrics of a swarm, as the text exposition format (version 0.0.4).
 *
 * A text function rather than registering into a prom-client registry: xswarm then needs no
 * metrics dependency (and none in a browser build), holds no process-global registry, and a
 * process with several swarms labels each by its peer id. A service with its own prom-client
 * registry serves both: `(await register.metrics()) + metricsText(swarm)`.
 *
 * Collected only with `createSwarm({ metrics: true })`: counters the shell sees pass by (events
 * handed out, frames per protocol, settle times); gauges read at scrape time from the swarm's
 * stats and, read-only, from the pubsub and discovery actors' snapshots (mesh sizes, routing
 * table). Nothing here feeds back into the machines.
 * @module
 */

/** Upper bounds (seconds) of the settle-time histogram buckets. */
export const SETTLE_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5]

/** Read-only views of state the collector reads at scrape time. */
export interface MetricsReaders {
  stats(): { inputs: number; framesIn: number; framesOut: number; bytesIn: number; bytesOut: number; dropped: number; paused: number; queued: number }
  /** Topic → mesh size of our pubsub subscriptions. */
  meshSizes(): Map<string, number>
  /** Peers in the discovery routing table (undefined without discovery). */
  tableSize(): number | undefined
  /** Pubsub duplicates seen so far (undefined without pubsub). */
  duplicates(): number | undefined
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
  readonly #settle = new Array<number>(SETTLE_BUCKETS.length + 1).fill(0)
  #settleSum = 0
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
    let i = 0
    while (i < SETTLE_BUCKETS.length && seconds > SETTLE_BUCKETS[i]) i++
    this.#settle[i]++
    this.#settleSum += seconds
  }

  /** An event handed to the user. */
  event(e: { type: string; [key: string]: unknown }): void {
    switch (e.type) {
      case 'peer.connected': this.#connected.set(e.peer as string, e.direction as string); break
      case 'peer.disconnected': this.#connected.delete(e.peer as string); bump(this.#disconnects, e.reason); break
      case 'dial.failed': bump(this.#dialFailures, e.reason); break
      case 'pubsub.message': bump(this.#deliveries, e.topic); break
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
    out.histogram('xswarm_settle_seconds', 'Time to settle one input (machines and effects).', SETTLE_BUCKETS, this.#settle, this.#settleSum)
    out.metric('xswarm_pubsub_deliveries_total', 'counter', 'Pubsub messages delivered to the user, by topic.', labelled('topic', this.#deliveries))
    const duplicates = this.readers.duplicates()
    if (duplicates !== undefined) out.metric('xswarm_pubsub_duplicates_total', 'counter', 'Pubsub messages received again (dropped unverified).', [[{}, duplicates]])
    out.metric('xswarm_pubsub_mesh_peers', 'gauge', 'Mesh size of each subscribed topic.', labelled('topic', this.readers.meshSizes()))
    const table = this.readers.tableSize()
    if (table !== undefined) out.metric('xswarm_discovery_table_peers', 'gauge', 'Peers in the discovery routing table.', [[{}, table]])
    return out.text()
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

  histogram(name: string, help: string, bounds: number[], counts: number[], sum: number): void {
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
