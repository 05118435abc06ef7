/**
 * The swarm's inspection observer wrapper: what `createSwarm({ inspect })` hands to the user's
 * observer is XState's inspection stream in which every snapshot, event and action parameter
 * serializes readably (src/inspect/readable.ts): contexts show their maps, sets and bytes, and
 * carry no functions and no secrets.
 *
 * How: each of them is handed over as a *readable face*, an object whose prototype is the real
 * value and whose own `toJSON` answers the readable form. Code that reads it gets the real
 * values (`snapshot.context.peers.get(id)` still works, tests rely on it); anything that
 * serializes it (JSON.stringify, the Stately inspectors' stringifiers, which honour toJSON) gets
 * the readable form, computed only then. Stately's `@xstate.actor` conversion reads
 * `actorRef.getSnapshot()`, so the actor refs in the events are views (one per actor, stable)
 * whose `getSnapshot()` answers a readable face and that delegate everything else (`id`,
 * `sessionId`, `system`, `logic`, `send`) to the real actor.
 *
 * Why a wrapper (and not toJSON on context containers): it works for every machine, the user's
 * included, whatever a protocol keeps in context, and machines stay plain; and it runs only
 * when inspection is on, so a swarm without `inspect` pays nothing.
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

/** `real` with an own `toJSON` answering `plain()` (see the module comment). */
export function readableFace<T extends object>(real: T, plain: () => unknown): T {
  return Object.create(real, { toJSON: { value: plain } }) as T
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
      v = Object.create(ref, { getSnapshot: { value: () => snapshotFace(ref.getSnapshot()) } }) as AnyActorRef
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

const snapshotFace = (snapshot: object): object => readableFace(snapshot, () => readableSnapshot(snapshot))
const dataFace = (value: unknown): unknown => (typeof value === 'object' && value !== null ? readableFace(value, () => readable(value)) : readable(value))

/** One inspection event with its snapshot, event and action parameters as readable faces. */
function readableEvent(event: InspectionEvent, view: (ref: AnyActorRef) => AnyActorRef): InspectionEvent {
  const e = { ...event, actorRef: view(event.actorRef as AnyActorRef) } as Record<string, unknown> & InspectionEvent
  if ('snapshot' in event) e.snapshot = snapshotFace(event.snapshot) as never
  if ('event' in event) e.event = dataFace(event.event) as never
  if (event.type === '@xstate.event' && event.sourceRef) e.sourceRef = view(event.sourceRef as unknown as AnyActorRef)
  if (event.type === '@xstate.action') e.action = { type: event.action.type, params: dataFace(event.action.params) }
  return e
}
