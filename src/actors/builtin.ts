/**
 * The actor layer as a built-in protocol of `createSwarm` (which calls `actorsForSwarm`).
 *
 * `actors: false` leaves it out (then `swarm.actors` throws). Otherwise its options are
 * `{ logic, spawnPeers, limits, timeouts }`: `logic` names the logics peers may start here with
 * `spawnOn`, `spawnPeers` narrows who may (peer ids; default: any peer that can connect).
 * @module
 */
import type { AnyActorLogic } from 'xstate'
import { actorsProtocol } from '../../machines/actors/actors.machine.js'
import { resolveActorSettings, type ActorLimits, type ActorTimeouts } from '../../machines/actors/options.js'
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import { Actors } from './actors.js'

export interface ActorsOptions {
  /** Logic peers may start on this node with `spawnOn(peer, name, ...)`, by name. */
  logic?: Record<string, AnyActorLogic>
  /** Only these peer ids may spawnOn here (default: any peer that can connect). */
  spawnPeers?: string[]
  limits?: Partial<ActorLimits>
  timeouts?: Partial<ActorTimeouts>
}

const KNOWN = new Set(['logic', 'spawnPeers', 'limits', 'timeouts'])

/** The actors protocol and its shell for these options, or `undefined` when `actors: false`. */
export function actorsForSwarm(option: false | ActorsOptions | undefined, peerId: string): { protocol: ProtocolDefinition<any>; actors: Actors } | undefined {
  if (option === false) return undefined
  const options = option ?? {}
  if (typeof options !== 'object' || options === null) throw new TypeError('"options.actors" expected false or an object')
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new RangeError(`"options.actors.${key}" is not a known option (known: ${[...KNOWN].join(', ')})`)
  const logic = options.logic ?? {}
  if (typeof logic !== 'object' || logic === null) throw new TypeError('"options.actors.logic" expected an object of actor logic by name')
  for (const [name, l] of Object.entries(logic)) {
    if (!l || typeof (l as { transition?: unknown }).transition !== 'function') throw new TypeError(`"options.actors.logic.${name}" expected XState actor logic`)
    if (name.length === 0 || name.length > 64) throw new RangeError(`"options.actors.logic": name ${JSON.stringify(name)} expected 1-64 characters`)
  }
  if (options.spawnPeers !== undefined && (!Array.isArray(options.spawnPeers) || options.spawnPeers.some((p) => typeof p !== 'string'))) {
    throw new TypeError('"options.actors.spawnPeers" expected an array of peer ids')
  }
  const settings = resolveActorSettings(options)
  const actors = new Actors(peerId, settings, logic)
  const protocol = actorsProtocol({ ...settings, offered: Object.keys(logic), spawnPeers: options.spawnPeers }, actors.calls())
  return { protocol, actors }
}
