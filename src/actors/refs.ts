/**
 * Refs inside events, across the network: a ref travels as its actor's address, and the
 * envelope lists where refs sat (`refs`: paths into the event), so only those places become
 * refs again on arrival (a string that merely looks like an address stays a string).
 *
 * `toWire` copies the plain parts of an event (objects and arrays; other values as they are)
 * and replaces every actor ref by the address `addressOf` gives it. It never throws: a ref
 * too deep, or too many, still becomes an address, and the actors protocol refuses the event
 * with the reason (`bad-ref-path`, `too-many-refs`), like any event over the limits.
 * @module
 */
import type { AnyActorRef, EventObject } from 'xstate'
import { refAt, type RefPath } from '../../machines/actors/wire.js'
import { isActorRef } from './remote-ref.js'

const MAX_DEPTH = 32

export interface WireEvent { event: EventObject; refs: RefPath[] }

/** No refs (shared and frozen: a caller that adds one makes its own array). */
export const NO_REFS: readonly RefPath[] = Object.freeze([])

/**
 * Copy `event` with its refs replaced by addresses. An event whose values are all primitives
 * (the common case) is copied in one pass, with no ref bookkeeping and `refs` = `NO_REFS`.
 */
export function toWire(event: EventObject, addressOf: (ref: AnyActorRef) => string): WireEvent {
  const flat = flatCopy(event)
  return flat !== undefined ? { event: flat, refs: NO_REFS as RefPath[] } : deepCopy(event, addressOf)
}

/** A copy of a plain object whose own values are all primitives, else `undefined`. */
function flatCopy(event: EventObject): EventObject | undefined {
  if (Object.getPrototypeOf(event) !== Object.prototype) return undefined
  const out: Record<string, unknown> = {}
  for (const key in event) {
    if (!Object.hasOwn(event, key)) continue
    const value = (event as unknown as Record<string, unknown>)[key]
    if (typeof value === 'object' && value !== null) return undefined
    out[key] = value
  }
  return out as EventObject
}

function deepCopy(event: EventObject, addressOf: (ref: AnyActorRef) => string): WireEvent {
  const refs: RefPath[] = []
  // One path, pushed and popped as the copy descends: a ref's path is copied only when one is found.
  const path: RefPath = []
  const copy = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value
    if (isActorRef(value)) {
      refs.push(path.slice())
      return addressOf(value)
    }
    if (path.length >= MAX_DEPTH) return value
    if (Array.isArray(value)) {
      const out = new Array<unknown>(value.length)
      for (let i = 0; i < value.length; i++) {
        path.push(i)
        out[i] = copy(value[i])
        path.pop()
      }
      return out
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return value
    const out: Record<string, unknown> = {}
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      path.push(key)
      out[key] = copy((value as Record<string, unknown>)[key])
      path.pop()
    }
    return out
  }
  return { event: copy(event) as EventObject, refs }
}

/** Turn the addresses at `refs` back into refs (in place: the event was just decoded). */
export function fromWire(event: EventObject, refs: readonly RefPath[], refFor: (address: string) => AnyActorRef): EventObject {
  for (const path of refs) {
    const address = refAt(event, path)
    if (typeof address !== 'string') continue
    let parent: unknown = event
    const last = path.length - 1
    for (let i = 0; i < last; i++) parent = (parent as Record<string | number, unknown>)[path[i]]
    ;(parent as Record<string | number, unknown>)[path[last]] = refFor(address)
  }
  return event
}
