/**
 * Which machines `xswarm export` writes: every statechart `xswarm/machines` exports, the
 * peer charts (`handler`) of protocol definitions, the machines they use as child actors (found through `setup({ actors })`, so a chart a colleague
 * adds is found without a list to keep), and the machines of user protocols loaded from modules.
 * @module
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import type { AnyStateMachine } from 'xstate'
import * as builtins from '../../machines/index.js'

export interface ExportedMachine {
  /** File name stem: the machine's id, made safe for a file name. */
  name: string
  machine: AnyStateMachine
  /** Where it came from, for the generated file's header. */
  origin: string
}

/** Is `value` an XState state machine? */
export function isMachine(value: unknown): value is AnyStateMachine {
  return typeof value === 'object' && value !== null &&
    typeof (value as { transition?: unknown }).transition === 'function' &&
    typeof (value as { root?: unknown }).root === 'object' && typeof (value as { config?: unknown }).config === 'object'
}

/** The machines of a protocol definition (`defineProtocol({ id, machine, handler? })`): its behaviour, then its peer chart. */
function protocolMachines(value: unknown): AnyStateMachine[] {
  if (typeof value !== 'object' || value === null) return []
  const def = value as { id?: unknown; machine?: unknown; handler?: { machine?: unknown } }
  if (typeof def.id !== 'string' || !isMachine(def.machine)) return []
  const handler = def.handler?.machine
  return isMachine(handler) ? [def.machine, handler] : [def.machine]
}

/** Machines in a module's exports (machines and protocol definitions), with their children. */
export function machinesOf(exports: Record<string, unknown>, origin: string): ExportedMachine[] {
  const found: ExportedMachine[] = []
  const seen = new Set<AnyStateMachine>()
  const add = (machine: AnyStateMachine, from: string): void => {
    if (seen.has(machine)) return
    seen.add(machine)
    found.push({ name: machine.id.replace(/[^\w.-]+/g, '-'), machine, origin: from })
    const actors = (machine.implementations as { actors?: Record<string, unknown> }).actors ?? {}
    for (const [key, child] of Object.entries(actors)) if (isMachine(child)) add(child, `${from}, child actor '${key}' of ${machine.id}`)
  }
  for (const [key, value] of Object.entries(exports)) {
    for (const machine of isMachine(value) ? [value] : protocolMachines(value)) add(machine, `${origin} (export ${key})`)
  }
  // Two machines with one id get distinct file names.
  const counts = new Map<string, number>()
  for (const m of found) {
    const n = (counts.get(m.name) ?? 0) + 1
    counts.set(m.name, n)
    if (n > 1) m.name = `${m.name}-${n}`
  }
  return found
}

/** Every built-in machine of xswarm. */
export function builtinMachines(): ExportedMachine[] {
  return machinesOf(builtins as Record<string, unknown>, 'xswarm/machines')
}

/** The machines of a user module (`--protocol module.js`): its exported machines and protocol definitions. */
export async function loadUserMachines(path: string): Promise<ExportedMachine[]> {
  const url = pathToFileURL(resolve(path)).href
  const exports = (await import(url)) as Record<string, unknown>
  const found = machinesOf(exports, path)
  if (found.length === 0) throw new Error(`${path} exports no XState machine and no protocol definition ({ id, machine })`)
  return found
}
