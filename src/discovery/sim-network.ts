/**
 * A deterministic machine-level network for discovery: a tiny router that plays the swarm for
 * N discovery actors, under simulated time. Used by test/sim/discovery-network.test.ts and
 * bench/discovery.ts; no sockets, codec or handshake, only the protocol API's facts.
 *
 * - Each node is a stub root actor with systemId `swarm` (it receives `proto.dial` /
 *   `proto.hangUp`) and the discovery actor below it (`spawnTracked`, so its emitted effects
 *   and events reach the router through the runtime sink, as in the real shell).
 * - `proto.dial` connects after a latency: `peer.connected` on both ends (or `dial.failed`);
 *   `effect.send` becomes a `message` at the other end, FIFO per direction, through the
 *   protocol's `parse` (a rejected body closes the link); `proto.hangUp` gives
 *   `peer.disconnected` on both ends.
 * - Time: one global event heap ordered by (time, seq). Every node has its own xstate
 *   `SimulatedClock` whose timeouts are also put on the heap. (One shared SimulatedClock does not
 *   scale: `flushTimeouts` sorts all pending timeouts on every `set` and restarts the sort after
 *   every callback that schedules, O(T log T) per fired timer with T in the thousands.)
 * - Latencies come from a seeded rng, so a seed gives the same event log, byte for byte.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { createActor, fromTransition, SimulatedClock, type Actor, type AnyActorRef } from 'xstate'
import { discoveryMachine, discoveryProtocol, DISCOVERY_ID } from '../../machines/discovery/discovery.machine.js'
import type { DiscoveryOptions } from '../../machines/discovery/options.js'
import { protocolSystemId, splitAddress } from '../../machines/lib/protocol.js'
import { createRng, nextInt, type Rng } from '../../machines/lib/rng.js'
import { bindRuntime, spawnTracked } from '../../machines/lib/runtime.js'
import { simInput, simPeerId } from './probe.js'
import { TimedHeap } from '../runtime/heap.js'

interface Task { at: number; seq: number; run: () => void }

/** A node's SimulatedClock whose timeouts are also scheduled on the network's heap. */
class NodeClock extends SimulatedClock {
  constructor(private readonly network: SimNetwork) { super() }
  override setTimeout(fn: (...args: any[]) => void, timeout: number): number {
    const id = super.setTimeout(fn, timeout) as number
    const due = this.now() + timeout
    this.network.at(due, () => this.set(Math.max(this.now(), due)))
    return id
  }
}

export interface SimNode {
  index: number
  peerId: string
  address: string
  url: string
  clock: NodeClock
  root: AnyActorRef
  discovery: Actor<typeof discoveryMachine>
  /** Indices of connected nodes (the router's truth). */
  links: Set<number>
}

export interface SimNetworkOptions {
  nodes: number
  seed: number
  /** Options of node `i` (bootstrap addresses come from `addressOf`). */
  options: (i: number, addressOf: (j: number) => string) => DiscoveryOptions
  /** One-way latency range in ms. Default [5, 25]. */
  latency?: [number, number]
  /** Called with every user event (not effects) a node emits. */
  onEvent?: (node: SimNode, event: { type: string; [k: string]: unknown }) => void
}

export class SimNetwork {
  readonly nodes: SimNode[] = []
  now = 0
  /** Facts delivered to discovery actors. */
  delivered = 0
  private heap = new TimedHeap<Task>()
  private seq = 0
  private rng: Rng
  private latency: [number, number]
  private byUrl = new Map<string, number>()
  private byPeer = new Map<string, number>()
  /** Live links' generation (a fresh number per connection; in-flight frames of a closed link are dropped). */
  private linkGen = new Map<string, number>()
  private generations = 0
  private lastDelivery = new Map<string, number>()
  private group: ((i: number) => number) | undefined
  private logA = 0x811c9dc5
  private logB = 0x01000193
  private logLines = 0
  private readonly parse = discoveryProtocol().parse!

  constructor(private readonly opts: SimNetworkOptions) {
    this.rng = createRng(opts.seed)
    this.latency = opts.latency ?? [5, 25]
    const ids: string[] = []
    for (let i = 0; i < opts.nodes; i++) {
      ids.push(simPeerId(`xswarm-sim/${opts.seed}/${i}`))
    }
    const addressOf = (j: number): string => `memory://n${j}/p2p/${ids[j]}`
    for (let i = 0; i < opts.nodes; i++) {
      this.byUrl.set(`memory://n${i}`, i)
      this.byPeer.set(ids[i], i)
    }
    for (let i = 0; i < opts.nodes; i++) this.createNode(i, ids[i], addressOf(i), opts.options(i, addressOf))
  }

  private createNode(index: number, peerId: string, address: string, options: DiscoveryOptions): SimNode {
    const clock = new NodeClock(this)
    const root = createActor(fromTransition((s: null, event: { type: string }) => {
      this.onSwarmRequest(index, event)
      return s
    }, null), { clock, systemId: 'swarm' })
    bindRuntime(root, { sink: (e) => this.onEmit(index, e as { type: string; [k: string]: unknown }), now: () => this.now })
    root.start()
    const seed = sha256(new TextEncoder().encode(`seed/${this.opts.seed}/${index}`))
    const input = simInput(peerId, [address], options, seed)
    const node: SimNode = {
      index, peerId, address, url: `memory://n${index}`, clock, root, links: new Set(),
      discovery: undefined as unknown as Actor<typeof discoveryMachine>,
    }
    this.nodes[index] = node
    node.discovery = spawnTracked(root, discoveryMachine, { id: 'discovery', systemId: protocolSystemId(DISCOVERY_ID), input })
    return node
  }

  /** Schedule `run` at simulated time `time` (not before now). */
  at(time: number, run: () => void): void {
    this.heap.push({ at: Math.max(time, this.now), seq: this.seq++, run })
  }

  private delay(): number {
    const [lo, hi] = this.latency
    return lo + nextInt(this.rng, hi - lo + 1)
  }

  /** Fold one log line into two 32-bit FNV-1a lanes (cheap; enough to compare two runs). */
  private record(i: number, line: string): void {
    const text = `${this.now}|${i}|${line}\n`
    let a = this.logA, b = this.logB
    for (let c = 0; c < text.length; c++) {
      const x = text.charCodeAt(c)
      a = Math.imul(a ^ x, 0x01000193) >>> 0
      b = Math.imul(b ^ x, 0x5bd1e995) >>> 0
    }
    this.logA = a; this.logB = b
    this.logLines++
  }

  /** Digest of every event so far (same seed ⇒ same digest) and the number of lines in it. */
  logDigest(): { lines: number; digest: string } {
    return { lines: this.logLines, digest: this.logA.toString(16).padStart(8, '0') + this.logB.toString(16).padStart(8, '0') }
  }

  /** Deliver a fact to node `i`'s discovery actor now. */
  deliver(i: number, event: { type: string; [k: string]: unknown }): void {
    const node = this.nodes[i]
    if (node.clock.now() < this.now) node.clock.set(this.now)
    this.delivered++
    node.discovery.send(event as never)
  }

  private onSwarmRequest(i: number, event: { type: string; [k: string]: unknown }): void {
    if (event.type === 'proto.dial') {
      const address = event.address as string
      this.record(i, `dial ${address}`)
      this.at(this.now + this.delay(), () => this.connect(i, address))
    } else if (event.type === 'proto.hangUp') {
      const j = this.byPeer.get(event.peer as string)
      this.record(i, `hangUp ${String(event.peer)} ${String(event.reason)}`)
      if (j !== undefined) this.at(this.now + this.delay(), () => this.disconnect(i, j, String(event.reason), 'hung-up'))
    }
  }

  private onEmit(i: number, event: { type: string; [k: string]: unknown }): void {
    if (event.type === 'effect.send') {
      this.send(i, event.peer as string, event.body)
      return
    }
    this.record(i, JSON.stringify(event))
    this.opts.onEvent?.(this.nodes[i], event)
  }

  private linkKey(i: number, j: number): string { return i < j ? `${i}:${j}` : `${j}:${i}` }

  private reachable(i: number, j: number): boolean {
    return this.group === undefined || this.group(i) === this.group(j)
  }

  private connect(i: number, address: string): void {
    const split = splitAddress(address)
    const j = split ? this.byUrl.get(split.url) : undefined
    let reason: string | undefined
    if (j === undefined || !this.reachable(i, j)) reason = 'unreachable'
    else if (j === i) reason = 'self-dial'
    else if (split?.peer !== undefined && split.peer !== this.nodes[j].peerId) reason = 'peer-id-mismatch'
    else if (this.nodes[i].links.has(j)) reason = 'already-connected'
    if (reason !== undefined || j === undefined) {
      this.record(i, `dial.failed ${address} ${reason}`)
      this.deliver(i, { type: 'dial.failed', address, reason: reason ?? 'unreachable', peer: split?.peer })
      return
    }
    this.linkGen.set(this.linkKey(i, j), ++this.generations)
    this.nodes[i].links.add(j)
    this.nodes[j].links.add(i)
    this.record(i, `connected ${j}`)
    this.deliver(i, { type: 'peer.connected', peer: this.nodes[j].peerId, direction: 'outbound', address })
    this.deliver(j, { type: 'peer.connected', peer: this.nodes[i].peerId, direction: 'inbound', address: `memory://in-${i}` })
  }

  /** Close the link between `i` and `j` (reasons as seen by each end). */
  disconnect(i: number, j: number, reasonI: string, reasonJ: string): void {
    if (!this.nodes[i].links.has(j)) return
    this.nodes[i].links.delete(j)
    this.nodes[j].links.delete(i)
    this.linkGen.delete(this.linkKey(i, j))
    this.lastDelivery.delete(`${i}>${j}`)
    this.lastDelivery.delete(`${j}>${i}`)
    this.record(i, `disconnected ${j}`)
    this.deliver(i, { type: 'peer.disconnected', peer: this.nodes[j].peerId, reason: reasonI })
    this.deliver(j, { type: 'peer.disconnected', peer: this.nodes[i].peerId, reason: reasonJ })
  }

  private send(i: number, peer: string, body: unknown): void {
    const j = this.byPeer.get(peer)
    if (j === undefined || !this.nodes[i].links.has(j)) return
    const gen = this.linkGen.get(this.linkKey(i, j))
    const dir = `${i}>${j}`
    const time = Math.max(this.now + this.delay(), this.lastDelivery.get(dir) ?? 0)
    this.lastDelivery.set(dir, time)
    this.at(time, () => {
      if (!this.nodes[i].links.has(j) || this.linkGen.get(this.linkKey(i, j)) !== gen) return
      const parsed = this.parse(body)
      if (parsed === undefined) {
        this.disconnect(i, j, 'invalid-message', 'invalid-message')
        return
      }
      this.deliver(j, { type: 'message', peer: this.nodes[i].peerId, body: parsed })
    })
  }

  /** Split the network: `groupOf(i)` names each node's side; cross links drop, cross dials fail. */
  partition(groupOf: (i: number) => number): void {
    this.group = groupOf
    for (const node of this.nodes) {
      for (const j of [...node.links]) if (groupOf(node.index) !== groupOf(j)) this.disconnect(node.index, j, 'connection-lost', 'connection-lost')
    }
  }

  heal(): void { this.group = undefined }

  /** Send a user command to node `i`'s discovery actor now. */
  command(i: number, event: { type: string; [k: string]: unknown }): void {
    this.deliver(i, event)
  }

  /** Run every task due up to `time`, then set the time to `time`. */
  runUntil(time: number): void {
    for (let t = this.heap.peek(); t && t.at <= time; t = this.heap.peek()) {
      this.heap.pop()
      this.now = t.at
      t.run()
    }
    this.now = Math.max(this.now, time)
  }

  /** Advance in `step` ms until `done()` holds or `maxTime`; returns the time it held, or undefined. */
  runUntilTrue(done: () => boolean, step: number, maxTime: number): number | undefined {
    while (this.now < maxTime) {
      this.runUntil(Math.min(maxTime, this.now + step))
      if (done()) return this.now
    }
    return undefined
  }

  /** Is the connection graph (optionally restricted to `members`) connected? */
  isConnected(members?: number[]): boolean {
    const set = new Set(members ?? this.nodes.map((n) => n.index))
    const start = set.values().next().value
    if (start === undefined) return true
    const seen = new Set([start])
    const stack = [start]
    while (stack.length > 0) {
      const i = stack.pop()!
      for (const j of this.nodes[i].links) if (set.has(j) && !seen.has(j)) { seen.add(j); stack.push(j) }
    }
    return seen.size === set.size
  }

  /** Stop every actor. */
  stop(): void {
    for (const node of this.nodes) node.root.stop()
  }
}
