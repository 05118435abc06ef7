/**
 * The swarm's inspection observer wrapper: what `createSwarm({ inspect })` hands to the user's
 * observer is the XState inspection stream with every snapshot, event and action parameter
 * made readable (src/inspect/readable.ts): contexts show their maps, sets and bytes, and carry
 * no functions and no secrets.
 *
 * Why a wrapper (and not toJSON on context containers): it works for every machine, the user's
 * included, and whatever a protocol keeps in context; and it runs only when inspection is on, so
 * a swarm without `inspect` pays nothing. Each event keeps XState's shape, so Stately's
 * inspectors (`@statelyai/inspect`) take it unchanged: their `@xstate.actor` reads
 * `actorRef.getSnapshot()` later, so the actor refs in the events are views (one per actor,
 * stable) whose `getSnapshot()` answers the readable snapshot and that delegate everything else
 * (`id`, `sessionId`, `systemId`, `logic`, `_parent`) to the real actor.
 * @module
 */
import { toObserver, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate'
import { readable } from './readable.js'

export type InspectObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void)

/** A snapshot as the inspection stream shows it: plain data. */
export interface ReadableSnapshot {
  status: string
  value?: unknown
  context?: unknown
  children?: Record<string, { xstate$$type: 1; id: string }>
  tags?: string[]
  output?: unknown
  error?: unknown
}

/** The readable form of any actor's snapshot (machine snapshots and others). */
export function readableSnapshot(snapshot: unknown): ReadableSnapshot {
  const s = (snapshot ?? {}) as { status?: string; value?: unknown; context?: unknown; children?: Record<string, AnyActorRef | undefined>; tags?: Iterable<string>; output?: unknown; error?: unknown }
  const out: ReadableSnapshot = { status: s.status ?? 'active' }
  if (s.value !== undefined) out.value = s.value
  if (s.context !== undefined) out.context = readable(s.context)
  if (s.children) {
    out.children = {}
    for (const [key, child] of Object.entries(s.children)) if (child) out.children[key] = { xstate$$type: 1, id: child.id }
  }
  if (s.tags) out.tags = [...s.tags]
  if (s.output !== undefined) out.output = readable(s.output)
  if (s.error !== undefined) out.error = readable(s.error)
  return out
}

/**
 * Wrap the user's inspection observer so that it sees the readable stream. Returns undefined
 * for no observer (inspection off: nothing is wrapped, nothing runs).
 */
export function readableInspector(inspect: InspectObserver | undefined): Observer<InspectionEvent> | undefined {
  if (!inspect) return undefined
  const observer = toObserver(inspect)
  const views = new WeakMap<AnyActorRef, AnyActorRef>()
  const view = (ref: AnyActorRef): AnyActorRef => {
    let v = views.get(ref)
    if (!v) {
      v = Object.create(ref, { getSnapshot: { value: () => readableSnapshot(ref.getSnapshot()) } }) as AnyActorRef
      views.set(ref, v)
    }
    return v
  }
  return {
    next: (event) => observer.next?.(readableEvent(event, view)),
    error: (error) => observer.error?.(error),
    complete: () => observer.complete?.(),
  }
}

/** One inspection event with its snapshot, event and action parameters made readable. */
function readableEvent(event: InspectionEvent, view: (ref: AnyActorRef) => AnyActorRef): InspectionEvent {
  const e = { ...event, actorRef: view(event.actorRef as AnyActorRef) } as Record<string, unknown> & InspectionEvent
  if ('snapshot' in event) e.snapshot = readableSnapshot(event.snapshot) as never
  if ('event' in event) e.event = readable(event.event) as never
  if (event.type === '@xstate.event' && event.sourceRef) e.sourceRef = view(event.sourceRef as unknown as AnyActorRef)
  if (event.type === '@xstate.action') e.action = { type: event.action.type, params: readable(event.action.params) }
  return e
}
