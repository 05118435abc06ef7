/**
 * `machineSource(machine)`: XState v5 source code of a machine's statechart, in the form the
 * Stately editor imports ("Import from code": a `setup({...}).createMachine({...})` module).
 *
 * Why generate source: the editor imports code, not JSON, and XState's `toJSON()` drops
 * `always` transitions and does not round-trip. The source is written from the chart model
 * (chart.ts): every state, transition, delay, guard and action by name. Implementations stay in
 * xswarm: `setup` lists each name with an empty stand-in (a guard's stand-in answers `false`, a
 * delay keeps its number when it is a constant), so the file loads in XState as it is and the
 * export test can import it and compare its chart with the machine's.
 * @module
 */
import type { AnyStateMachine } from 'xstate'
import { chartOf, type Chart, type ChartState, type ChartTransition, type GuardTree } from './chart.js'

/** A fragment of code printed as it is. */
class Code {
  constructor(readonly text: string) {}
}

type Printable = string | number | boolean | Code | Printable[] | { [key: string]: Printable | undefined }

const IDENT = /^[A-Za-z_$][\w$]*$/
const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const key = (k: string): string => (IDENT.test(k) || /^\d+$/.test(k) ? k : quote(k))

function print(value: Printable, indent: string): string {
  if (value instanceof Code) return value.text
  if (typeof value === 'string') return quote(value)
  if (typeof value !== 'object') return String(value)
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    const items = value.map((v) => print(v, inner))
    const flat = `[${items.join(', ')}]`
    return flat.length <= 80 && !flat.includes('\n') ? flat : `[\n${items.map((i) => `${inner}${i},`).join('\n')}\n${indent}]`
  }
  const entries = Object.entries(value).filter((e): e is [string, Printable] => e[1] !== undefined)
  if (entries.length === 0) return '{}'
  return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${print(v, inner)},`).join('\n')}\n${indent}}`
}

function guardCode(tree: GuardTree): Printable {
  if (typeof tree === 'string') return tree
  if (tree.op === 'stateIn') return new Code(`stateIn(${JSON.stringify(tree.value)})`)
  if (tree.op === 'not') return new Code(`not(${print(guardCode(tree.args[0]), '')})`)
  return new Code(`${tree.op}([${tree.args.map((g) => print(guardCode(g), '')).join(', ')}])`)
}

export interface SourceOptions {
  /** Where the machine comes from, for the header (e.g. `machines/connection.machine.ts`). */
  origin?: string
  /** The exported const's name. Default `machine`. */
  exportName?: string
}

/** XState v5 source of `machine` for the Stately editor (see the module comment). */
export function machineSource(machine: AnyStateMachine, options: SourceOptions = {}): string {
  return chartSource(chartOf(machine), machine.implementations.delays as Record<string, unknown>, options)
}

/** The source for a chart; `delays` are the machine's delay implementations (constants are kept). */
export function chartSource(chart: Chart, delays: Record<string, unknown>, options: SourceOptions = {}): string {
  const parentOf = new Map<string, ChartState>()
  const walk = (s: ChartState): void => s.children.forEach((c) => { parentOf.set(c.id, s); walk(c) })
  walk(chart.root)
  const bySource = new Map<string, ChartTransition[]>()
  for (const t of chart.transitions) bySource.set(t.source, [...(bySource.get(t.source) ?? []), t])

  const target = (source: string, id: string): string => {
    const p = parentOf.get(source)
    const sibling = p && parentOf.get(id) === p ? p.children.find((c) => c.id === id) : undefined
    return sibling ? sibling.key : `#${id}`
  }
  const transition = (t: ChartTransition): Printable => {
    const out: Record<string, Printable | undefined> = {}
    if (t.targets.length === 1) out.target = target(t.source, t.targets[0])
    else if (t.targets.length > 1) out.target = t.targets.map((id) => target(t.source, id))
    if (t.guard !== undefined) out.guard = guardCode(t.guard)
    if (t.actions.length > 0) out.actions = t.actions
    if (t.reenter) out.reenter = true
    return out
  }
  const group = (ts: ChartTransition[]): Printable => (ts.length === 1 ? transition(ts[0]) : ts.map(transition))
  const byKey = (ts: ChartTransition[], keyOf: (t: ChartTransition) => string): Record<string, Printable> => {
    const keys = [...new Set(ts.map(keyOf))]
    return Object.fromEntries(keys.map((k) => [k, group(ts.filter((t) => keyOf(t) === k))]))
  }

  const state = (s: ChartState): Printable => {
    const ts = bySource.get(s.id) ?? []
    const of = (kind: ChartTransition['kind']) => ts.filter((t) => t.kind === kind)
    const out: Record<string, Printable | undefined> = {}
    if (s === chart.root) out.id = chart.id
    else if (s.ownId) out.id = s.ownId
    if (s.type === 'parallel' || s.type === 'final' || s.type === 'history') out.type = s.type
    if (s.history === 'deep') out.history = 'deep'
    if (s.description) out.description = s.description
    if (s.tags.length > 0) out.tags = s.tags
    if (s.initial) out.initial = s.children.find((c) => c.id === s.initial)?.key ?? `#${s.initial}`
    if (s.entry.length > 0) out.entry = s.entry
    if (s.exit.length > 0) out.exit = s.exit
    if (s.invoke.length > 0) {
      out.invoke = s.invoke.map((inv) => {
        const done = ts.filter((t) => t.kind === 'invoke.done' && t.detail === inv.id)
        const error = ts.filter((t) => t.kind === 'invoke.error' && t.detail === inv.id)
        return { id: inv.id, src: inv.src, onDone: done.length ? group(done) : undefined, onError: error.length ? group(error) : undefined }
      })
    }
    if (of('on').length > 0) out.on = byKey(of('on'), (t) => t.event)
    if (of('after').length > 0) out.after = byKey(of('after'), (t) => String(t.detail))
    if (of('always').length > 0) out.always = group(of('always'))
    if (of('done').length > 0) out.onDone = group(of('done'))
    if (s.children.length > 0) out.states = Object.fromEntries(s.children.map((c) => [c.key, state(c)]))
    return out
  }

  const setupConfig: Record<string, Printable> = {}
  const stub = (names: string[], body: string): Printable | undefined =>
    names.length ? Object.fromEntries(names.map((n) => [n, new Code(body)])) : undefined
  const actions = stub(chart.names.actions, 'function () {}')
  const guards = stub(chart.names.guards, 'function () { return false }')
  if (actions) setupConfig.actions = actions
  if (guards) setupConfig.guards = guards
  if (chart.names.delays.length) {
    setupConfig.delays = Object.fromEntries(chart.names.delays.map((n) => [n, typeof delays[n] === 'number' ? (delays[n] as number) : new Code('function () { return 1000 /* computed at run time */ }')]))
  }
  if (chart.names.actors.length) {
    setupConfig.actors = Object.fromEntries(chart.names.actors.map((n) => [n, new Code(`createMachine({ id: ${JSON.stringify(n)} })`)]))
  }

  const body = print(state(chart.root), '')
  const uses = (name: string) => new RegExp(`\\b${name}\\(`).test(body)
  const imports = ['setup', ...(chart.names.actors.length ? ['createMachine'] : []), ...['and', 'not', 'or', 'stateIn'].filter(uses)].sort()
  const origin = options.origin ? ` from ${options.origin}` : ''
  return [
    '/**',
    ` * The ${chart.id} statechart, generated by \`xswarm export\`${origin}.`,
    ' * Open it in the Stately editor (Import from code). Actions, guards, delays and actors are',
    ' * listed by name with empty stand-ins: their implementations live in xswarm.',
    ' */',
    `import { ${imports.join(', ')} } from 'xstate'`,
    '',
    `export const ${options.exportName ?? 'machine'} = setup(${print(setupConfig, '')}).createMachine(${body})`,
    '',
  ].join('\n')
}
