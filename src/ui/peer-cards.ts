/**
 * Cards for the live page of the per-peer chart entries (machines/lib/peer-chart.ts) of the root
 * and of each protocol: per-peer charts are not actors, so the inspection stream shows them only
 * as data in their actor's context. Here each entry becomes an actor-like card (the chart, the
 * entry's state, the peer) below its actor; an entry that is gone becomes a stopped card. Which
 * chart: for the root (systemId `swarm`), its peer chart (machines/swarm/peer.machine.ts), whose
 * entries are its `peers` Map (only that Map is looked at: the root has a snapshot for every
 * input); for a protocol actor, the `handler` of the protocol definition the root holds for its
 * systemId (`protocol:<id>`), whose entries are Maps in the actor's context (nested at most
 * MAX_DEPTH levels) with `{ state }` values in a state of that chart. Bounded: at most MAX_CARDS
 * cards per actor, MAX_MAP_ENTRIES entries looked at per Map.
 * @module
 */
import type { AnyActorRef, AnyStateMachine } from 'xstate'
import { swarmPeerMachine } from '../../machines/swarm/peer.machine.js'
import { readable } from '../inspect/readable.js'

/** A card: what the hub sends as an actor message, plus the chart's machine. */
export interface PeerCard {
  t: 'actor'
  node: string
  session: string
  id: string
  parent: string
  value: string
  status: string
  context: unknown
  machine: AnyStateMachine
}

/** The root's systemId (swarm.machine.ts). */
const ROOT_ID = 'swarm'
const MAX_DEPTH = 5
export const MAX_CARDS = 64
/** Entries looked at per Map (a cache of thousands is not a per-peer chart). */
const MAX_MAP_ENTRIES = 256

interface Shown { value: string; text: string; card: PeerCard }

export class PeerCards {
  /** Root or protocol actor → its per-peer chart (null: none). */
  private readonly handlers = new WeakMap<AnyActorRef, AnyStateMachine | null>()
  /** Actor session → card session → what was last sent. */
  private readonly shown = new Map<string, Map<string, Shown>>()

  /** The cards to send after a snapshot of `ref` (new, changed, or gone), given its real context. */
  cards(node: string, ref: AnyActorRef, session: string, context: unknown): PeerCard[] {
    const machine = this.handlerOf(ref)
    if (!machine) return []
    const states = new Set(Object.keys(machine.root.states))
    const before = this.shown.get(session) ?? new Map<string, Shown>()
    const now = new Map<string, Shown>()
    const out: PeerCard[] = []
    const visit = (value: unknown, path: string, depth: number): void => {
      if (depth > MAX_DEPTH || typeof value !== 'object' || value === null || now.size >= MAX_CARDS) return
      if (typeof (value as { send?: unknown }).send === 'function') return // an actor ref
      if (value instanceof Map) {
        let looked = 0
        for (const [key, entry] of value) {
          if (now.size >= MAX_CARDS || ++looked > MAX_MAP_ENTRIES) return
          const state = (entry as { state?: unknown } | null)?.state
          if (typeof key === 'string' && typeof state === 'string' && states.has(state)) {
            const cardSession = `${session}/${path}${key}`
            const text = JSON.stringify(readable(entry))
            const card: PeerCard = { t: 'actor', node, session: cardSession, id: machine.id, parent: session, value: state, status: 'active', context: { peer: key, ...(readable(entry) as object) }, machine }
            now.set(cardSession, { value: state, text, card })
            const old = before.get(cardSession)
            if (!old || old.text !== text) out.push(card)
          } else {
            visit(entry, `${path}${String(key)}/`, depth + 1)
          }
        }
        return
      }
      if (Array.isArray(value) || value instanceof Set || ArrayBuffer.isView(value)) return
      for (const [key, child] of Object.entries(value)) visit(child, `${path}${key}/`, depth + 1)
    }
    const isRoot = (ref as { systemId?: string }).systemId === ROOT_ID
    visit(isRoot ? { peers: (context as { peers?: unknown } | null)?.peers } : context, '', 0)
    for (const [cardSession, old] of before) if (!now.has(cardSession)) out.push({ ...old.card, status: 'stopped' })
    if (now.size > 0) this.shown.set(session, now)
    else this.shown.delete(session)
    return out
  }

  /** The per-peer chart of `ref`: the root's own, or a protocol actor's from the definition the root holds. */
  private handlerOf(ref: AnyActorRef): AnyStateMachine | null {
    const known = this.handlers.get(ref)
    if (known !== undefined) return known
    const systemId = (ref as { systemId?: string }).systemId
    let machine: AnyStateMachine | null = systemId === ROOT_ID ? swarmPeerMachine : null
    if (systemId?.startsWith('protocol:')) {
      const root = ref.system?.get(ROOT_ID) as AnyActorRef | undefined
      let protocols: unknown
      try { protocols = (root?.getSnapshot() as { context?: { protocols?: unknown } } | undefined)?.context?.protocols } catch { protocols = undefined }
      const def = Array.isArray(protocols) ? protocols.find((p: { id?: unknown }) => `protocol:${String(p?.id)}` === systemId) : undefined
      const candidate = (def as { handler?: { machine?: unknown } } | undefined)?.handler?.machine
      if (candidate && typeof (candidate as AnyStateMachine).transition === 'function') machine = candidate as AnyStateMachine
    }
    // Not found while the root is still being created: look again at the next snapshot.
    if (machine || !systemId?.startsWith('protocol:')) this.handlers.set(ref, machine)
    return machine
  }
}
