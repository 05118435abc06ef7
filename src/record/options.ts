/**
 * A node's options as a recording keeps them, and back.
 *
 * Kept: everything that is data and shapes the machines (listen addresses, bootstrap,
 * discovery, ping, pubsub, limits, timeouts, allowlist, actors' limits and the names of the
 * logic it offers). Left out: the secrets (`secretKey`, `swarmKey` — only whether there was
 * one —, `seed`, which derives the identity, and `identityFile`), and what is not data or not
 * the machines' business (`inspect`, `transports`, `scheduler`, `tls`, `metrics`, `record`,
 * the user's `protocols`, recorded by id). A function (a pubsub `validate`, an offered actor
 * logic) is kept as a marker: its answers are inputs in the recording, so replay only needs a
 * stand-in that is never called.
 * @module
 */
import { fromTransition, type AnyActorLogic } from 'xstate'
import type { SwarmOptions } from '../create-swarm.js'

const DROPPED = new Set(['secretKey', 'swarmKey', 'seed', 'identityFile', 'inspect', 'transports', 'scheduler', 'tls', 'metrics', 'record', 'protocols'])
const FUNCTION = '$xswarm.function'
const LOGIC = '$xswarm.logic'

/** The options a recording keeps (see the module comment). */
export function recordedOptions(options: SwarmOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (DROPPED.has(key) || value === undefined) continue
    if (key === 'listen') out.listen = (value as unknown[]).map((entry) => (typeof entry === 'string' ? entry : '<shared server>'))
    else if (key === 'actors' && typeof value === 'object' && value !== null) {
      const { logic, ...rest } = value as { logic?: Record<string, unknown> }
      out.actors = { ...(plain(rest) as object), ...(logic ? { logic: Object.fromEntries(Object.keys(logic).map((name) => [name, LOGIC])) } : {}) }
    } else out[key] = plain(value)
  }
  return out
}

/** Data only: functions become a marker. */
function plain(value: unknown): unknown {
  if (typeof value === 'function') return FUNCTION
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
}

/** Stand-ins for the markers, for a replay. */
export function replayOptions(recorded: Record<string, unknown>): SwarmOptions {
  return revive(recorded) as SwarmOptions
}

const standInLogic: AnyActorLogic = fromTransition((state: null) => state, null)
function standIn(): never {
  throw new Error('a user function was called during a replay (its answers come from the recording)')
}

function revive(value: unknown): unknown {
  if (value === FUNCTION) return standIn
  if (value === LOGIC) return standInLogic
  if (Array.isArray(value)) return value.map(revive)
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
}
