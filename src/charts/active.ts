/**
 * `activeStates(chart, value)`: the ids of the states an XState state value names (the value's
 * states and all their ancestors), for highlighting a running actor's chart.
 * @module
 */
import type { Chart, ChartState } from './chart.js'

/** Ids of the active states of `chart` for a state value (`'a'`, `{ a: 'b' }`, `{ p: { r1: 'x', r2: 'y' } }`). */
export function activeStates(chart: Chart, value: unknown): Set<string> {
  const active = new Set<string>([chart.root.id])
  const walk = (state: ChartState, v: unknown): void => {
    if (typeof v === 'string') {
      const child = state.children.find((c) => c.key === v)
      if (child) active.add(child.id)
      return
    }
    if (typeof v !== 'object' || v === null) return
    for (const [key, sub] of Object.entries(v as Record<string, unknown>)) {
      const child = state.children.find((c) => c.key === key)
      if (!child) continue
      active.add(child.id)
      walk(child, sub)
    }
  }
  walk(chart.root, value)
  return active
}

/** A state value as text: `open.idle`, `running.(a, b.c)`. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value !== 'object' || value === null) return String(value)
  const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
    const inner = valueText(v)
    return typeof v === 'object' && v !== null && Object.keys(v).length === 0 ? k : `${k}.${inner}`
  })
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`
}
