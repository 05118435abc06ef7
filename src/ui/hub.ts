/**
 * The live page's hub: turns the readable inspection streams of several swarms (one observer
 * per node) and their swarm events into small messages for the page, and keeps the current
 * picture so that a page opened late is sent the whole of it first.
 *
 * Messages (plain JSON, see `UiMessage`): a node and its peer id; a link up or down (from the
 * node's `peer.connected`/`peer.disconnected`/`swarm.closed` events); an actor with its chart, state value,
 * status and readable context (from `@xstate.snapshot`); the events actors
 * receive (`@xstate.event`, the page's event log); each topic's mesh as a node's pubsub state
 * holds it (any `mesh` list of peer ids in an actor's readable context, under its topic);
 * each entry of a protocol's per-peer chart (its `handler`, machines/lib/peer-chart.ts: ping's
 * ready/awaitingPong, pubsub's mesh membership) as a card of its own below the protocol actor,
 * drawn with that chart (peer-cards.ts); and each machine's chart laid out once by elkjs
 * (layout.ts), for the page to draw.
 *
 * Bounded: at most `maxEvents` events kept for late pages, `maxStoppedActors` stopped actors
 * kept per node; a listener that cannot keep up is the server's to drop.
 * @module
 */
import type { ELK } from 'elkjs/lib/elk-api.js'
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate'
import { chartOf } from '../charts/chart.js'
import { layoutChart, type ChartLayout } from '../charts/layout.js'
import { isMachine } from '../charts/catalog.js'
import { readableSnapshot } from '../inspect/observer.js'
import { PeerCards } from './peer-cards.js'

export type UiMessage =
  | { t: 'node'; node: string; peerId: string }
  | { t: 'link'; node: string; peer: string; up: boolean }
  | { t: 'chart'; key: string; layout: ChartLayout }
  | { t: 'actor'; node: string; session: string; id: string; systemId?: string; parent?: string; chart?: string; value: unknown; status: string; context: unknown }
  | { t: 'event'; node: string; session: string; actor: string; type: string; at: number }
  | { t: 'mesh'; node: string; topic: string; peers: string[] }

type ActorMessage = Extract<UiMessage, { t: 'actor' }>

export interface UiNode {
  /** The inspection observer to pass to `createSwarm({ inspect })`. */
  inspect: Observer<InspectionEvent>
  /** Tell the hub the node's peer id (once the swarm exists). */
  peerId(id: string): void
  /** Hand the hub each swarm event taken from this node (links come from them). */
  event(event: { type: string }): void
}

export interface HubOptions {
  maxEvents?: number
  maxStoppedActors?: number
}

export class UiHub {
  private readonly elk: ELK
  private readonly listeners = new Set<(m: UiMessage) => void>()
  private readonly nodes = new Map<string, string>()
  private readonly links = new Map<string, Set<string>>()
  private readonly actors = new Map<string, Map<string, ActorMessage>>()
  private readonly meshes = new Map<string, UiMessage & { t: 'mesh' }>()
  private readonly charts = new Map<string, ChartLayout>()
  private readonly chartKeys = new WeakMap<object, string>()
  private readonly events: UiMessage[] = []
  private chartSeq = 0
  private readonly started = Date.now()
  private readonly maxEvents: number
  private readonly maxStoppedActors: number
  private readonly peerCards = new PeerCards()

  constructor(elk: ELK, options: HubOptions = {}) {
    this.elk = elk
    this.maxEvents = options.maxEvents ?? 300
    this.maxStoppedActors = options.maxStoppedActors ?? 16
  }

  /** Listen to every message from now on, after the current picture (replayed first). */
  subscribe(listener: (m: UiMessage) => void): () => void {
    for (const m of this.picture()) listener(m)
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The current picture, as the messages that build it. */
  picture(): UiMessage[] {
    const out: UiMessage[] = []
    for (const [node, peerId] of this.nodes) out.push({ t: 'node', node, peerId })
    for (const [key, layout] of this.charts) out.push({ t: 'chart', key, layout })
    for (const [node, peers] of this.links) for (const peer of peers) out.push({ t: 'link', node, peer, up: true })
    for (const actors of this.actors.values()) out.push(...actors.values())
    out.push(...this.meshes.values(), ...this.events)
    return out
  }

  /** A node of the picture: its inspection observer and its event feed. */
  node(name: string): UiNode {
    if (!this.actors.has(name)) this.actors.set(name, new Map())
    return {
      inspect: { next: (event) => this.inspected(name, event) },
      peerId: (id) => {
        this.nodes.set(name, id)
        this.send({ t: 'node', node: name, peerId: id })
      },
      event: (event) => {
        if (event.type === 'swarm.closed') {
          for (const peer of this.links.get(name) ?? []) this.send({ t: 'link', node: name, peer, up: false })
          this.links.delete(name)
          return
        }
        if (event.type !== 'peer.connected' && event.type !== 'peer.disconnected') return
        const peer = String((event as { peer?: unknown }).peer)
        const up = event.type === 'peer.connected'
        const set = this.links.get(name) ?? new Set<string>()
        this.links.set(name, set)
        if (up) set.add(peer)
        else set.delete(peer)
        this.send({ t: 'link', node: name, peer, up })
      },
    }
  }

  private send(m: UiMessage): void {
    for (const listener of this.listeners) listener(m)
  }

  private inspected(node: string, event: InspectionEvent): void {
    const ref = event.actorRef as AnyActorRef
    // An actor is shown from its first snapshot on (`@xstate.actor` comes from the actor's
    // constructor, before it has one).
    if (event.type === '@xstate.snapshot') {
      const snapshot = readableSnapshot(event.snapshot)
      const m: ActorMessage = {
        t: 'actor',
        node,
        session: ref.sessionId,
        id: ref.id,
        value: snapshot.value ?? null,
        status: snapshot.status,
        context: snapshot.context ?? null,
      }
      const systemId = (ref as { systemId?: string }).systemId
      if (systemId) m.systemId = systemId
      const parent = (ref as { _parent?: AnyActorRef })._parent
      if (parent) m.parent = parent.sessionId
      const chart = this.chartKey((ref as { logic?: unknown }).logic)
      if (chart) m.chart = chart
      this.keepActor(node, m)
      this.meshesOf(node, m.context)
      this.send(m)
      for (const card of this.peerCards.cards(node, ref, m.session, (event.snapshot as { context?: unknown }).context)) {
        const key = this.chartKey(card.machine)
        const { machine: _, ...shown } = card
        const cardMessage: ActorMessage = key ? { ...shown, chart: key } : shown
        this.keepActor(node, cardMessage)
        this.send(cardMessage)
      }
    } else if (event.type === '@xstate.event') {
      const type = (event.event as { type?: unknown }).type
      if (typeof type !== 'string' || type.startsWith('xstate.')) return
      const m: UiMessage = { t: 'event', node, session: ref.sessionId, actor: (ref as { systemId?: string }).systemId ?? ref.id, type, at: Date.now() - this.started }
      this.events.push(m)
      if (this.events.length > this.maxEvents) this.events.shift()
      this.send(m)
    }
  }

  private keepActor(node: string, m: ActorMessage): void {
    const actors = this.actors.get(node)!
    actors.delete(m.session) // re-insert: the most recently changed last
    actors.set(m.session, m)
    const stopped = [...actors.values()].filter((a) => a.status !== 'active')
    for (const old of stopped.slice(0, Math.max(0, stopped.length - this.maxStoppedActors))) actors.delete(old.session)
  }

  /** The chart key of a machine, laying it out (once, asynchronously) the first time. */
  private chartKey(logic: unknown): string | undefined {
    if (!isMachine(logic)) return undefined
    let key = this.chartKeys.get(logic)
    if (key) return key
    key = `${logic.id}#${++this.chartSeq}`
    this.chartKeys.set(logic, key)
    const k = key
    layoutChart(chartOf(logic), this.elk).then(
      (layout) => {
        this.charts.set(k, layout)
        this.send({ t: 'chart', key: k, layout })
      },
      () => { /* a chart elk cannot lay out is shown as its state value only */ },
    )
    return key
  }

  /** Meshes in a readable context: every `mesh` list of strings, under its topic. */
  private meshesOf(node: string, context: unknown): void {
    const visit = (value: unknown, key: string | undefined, depth: number): void => {
      if (depth > 6 || typeof value !== 'object' || value === null || Array.isArray(value)) return
      const record = value as Record<string, unknown>
      const mesh = record.mesh
      if (Array.isArray(mesh) && mesh.every((p) => typeof p === 'string')) {
        const topic = typeof record.topic === 'string' ? record.topic : key
        if (topic !== undefined) this.mesh(node, topic, mesh as string[])
      }
      for (const [k, v] of Object.entries(record)) if (k !== 'mesh') visit(v, k, depth + 1)
    }
    visit(context, undefined, 0)
  }

  private mesh(node: string, topic: string, peers: string[]): void {
    const id = `${node}\n${topic}`
    const old = this.meshes.get(id)
    const sorted = [...peers].sort()
    if (old && old.peers.join() === sorted.join()) return
    const m = { t: 'mesh' as const, node, topic, peers: sorted }
    this.meshes.set(id, m)
    this.send(m)
  }
}
