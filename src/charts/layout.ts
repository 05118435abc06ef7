/**
 * `layoutChart(chart, elk)`: positions for a chart's states and transitions, computed by elkjs
 * (the Eclipse Layout Kernel, which Stately's own visualizer uses) with its layered algorithm
 * over the nested states (`hierarchyHandling: INCLUDE_CHILDREN`, so transitions between
 * states of different parents are routed too).
 *
 * What is drawn where: transitions with a target are arrows labelled `event [guard]` (those
 * between the same two states share one arrow, their labels stacked);
 * transitions without a target (they only run actions) and transitions between a state and its
 * own ancestor or descendant are listed as lines inside the state's box, under its name, so a
 * root that reacts to many events stays readable. Text is measured with a fixed width per
 * character (no DOM needed: the same layout runs in Node for `xswarm export` and in the page).
 * @module
 */
import type { ELK, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js'
import { guardLabel, type Chart, type ChartState, type ChartTransition } from './chart.js'

export const CHAR_WIDTH = 6.6
export const LINE_HEIGHT = 14
export const TITLE_HEIGHT = 26

export interface StateBox {
  state: ChartState
  x: number
  y: number
  width: number
  height: number
  /** Lines listed inside the box: targetless transitions, `entry`/`exit`, invoked actors. */
  notes: string[]
  depth: number
  /** The state is a region of a parallel state. */
  region: boolean
}

/** One drawn arrow: every transition from one state to another, their labels stacked. */
export interface EdgePath {
  transitions: ChartTransition[]
  points: { x: number; y: number }[]
  label?: { x: number; y: number; lines: string[] }
}

export interface ChartLayout {
  chart: Chart
  width: number
  height: number
  boxes: StateBox[]
  edges: EdgePath[]
}

/** The text of a transition: `event [guard]`, with delays and eventless ones spelled out. */
export function transitionLabel(t: ChartTransition): string {
  const event =
    t.kind === 'after' ? `after ${t.detail}` :
    t.kind === 'always' ? 'always' :
    t.kind === 'done' ? 'done' :
    t.kind === 'invoke.done' ? `done: ${t.detail}` :
    t.kind === 'invoke.error' ? `error: ${t.detail}` : t.event
  return t.guard === undefined ? event : `${event} [${guardLabel(t.guard)}]`
}

const textWidth = (s: string): number => Math.ceil(s.length * CHAR_WIDTH)

/** Lay `chart` out with `elk` (an `new ELK()` from `elkjs/lib/elk.bundled.js`). */
export async function layoutChart(chart: Chart, elk: ELK): Promise<ChartLayout> {
  const parentOf = new Map<string, ChartState>()
  const byId = new Map<string, ChartState>()
  const walk = (s: ChartState): void => {
    byId.set(s.id, s)
    s.children.forEach((c) => { parentOf.set(c.id, s); walk(c) })
  }
  walk(chart.root)
  const isAncestor = (a: string, b: string): boolean => {
    for (let p = parentOf.get(b); p; p = parentOf.get(p.id)) if (p.id === a) return true
    return false
  }
  const notes = new Map<string, string[]>()
  const note = (id: string, text: string): void => { notes.set(id, [...(notes.get(id) ?? []), text]) }
  const edges: ElkExtendedEdge[] = []
  const grouped = new Map<string, { transitions: ChartTransition[]; lines: string[] }>()
  for (const s of byId.values()) {
    if (s.entry.length) note(s.id, `entry / ${s.entry.join(', ')}`)
    if (s.exit.length) note(s.id, `exit / ${s.exit.join(', ')}`)
    for (const inv of s.invoke) note(s.id, `invoke ${inv.src}`)
  }
  for (const t of chart.transitions) {
    const label = transitionLabel(t)
    if (t.targets.length === 0) {
      note(t.source, t.actions.length ? `${label} / ${t.actions.join(', ')}` : label)
      continue
    }
    for (const target of t.targets) {
      if (target !== t.source && (isAncestor(t.source, target) || isAncestor(target, t.source))) {
        note(t.source, `${label} → ${byId.get(target)?.key ?? target}`)
        continue
      }
      // Transitions between the same two states share one arrow (their labels stacked).
      const key = `${t.source}\n${target}`
      const group = grouped.get(key) ?? { transitions: [], lines: [] }
      grouped.set(key, group)
      group.transitions.push(t)
      if (!group.lines.includes(label)) group.lines.push(label)
    }
  }
  const edgeOf = new Map<string, { transitions: ChartTransition[]; lines: string[] }>()
  let seq = 0
  for (const [key, group] of grouped) {
    const [source, target] = key.split('\n')
    const id = `e${seq++}`
    edgeOf.set(id, group)
    const width = Math.max(...group.lines.map(textWidth))
    edges.push({ id, sources: [source], targets: [target], labels: [{ text: group.lines.join('\n'), width, height: group.lines.length * LINE_HEIGHT }] })
  }

  const node = (s: ChartState): ElkNode => {
    const lines = notes.get(s.id) ?? []
    const width = Math.max(Math.ceil(s.key.length * 7.8) + 24, ...lines.map((l) => textWidth(l) + 24), 60)
    const top = TITLE_HEIGHT + lines.length * LINE_HEIGHT
    if (s.children.length === 0) return { id: s.id, width, height: top + 6 }
    return {
      id: s.id,
      layoutOptions: {
        'elk.padding': `[top=${top + 8},left=14,bottom=14,right=14]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${width}, ${top + 20})`,
        ...(s.type === 'parallel' ? { 'elk.direction': 'DOWN' } : {}),
      },
      children: s.children.map(node),
    }
  }
  const graph: ElkNode = {
    id: '__graph',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '50',
      'elk.spacing.nodeNode': '24',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.json.edgeCoords': 'ROOT',
      'elk.json.shapeCoords': 'ROOT',
      'elk.padding': '[top=10,left=10,bottom=10,right=10]',
    },
    children: [node(chart.root)],
    edges,
  }
  const laid = await elk.layout(graph)

  const boxes: StateBox[] = []
  const collect = (n: ElkNode, depth: number): void => {
    const state = byId.get(n.id)
    if (state) {
      const parent = parentOf.get(state.id)
      boxes.push({ state, x: n.x ?? 0, y: n.y ?? 0, width: n.width ?? 0, height: n.height ?? 0, notes: notes.get(state.id) ?? [], depth, region: parent?.type === 'parallel' })
    }
    for (const c of n.children ?? []) collect(c, state ? depth + 1 : depth)
  }
  collect(laid, 0)
  const paths: EdgePath[] = []
  const gather = (n: ElkNode): void => {
    for (const e of (n.edges ?? []) as ElkExtendedEdge[]) {
      const group = edgeOf.get(e.id)
      if (!group) continue
      const points = (e.sections ?? []).flatMap((sec) => [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint])
      const l = e.labels?.[0]
      const path: EdgePath = { transitions: group.transitions, points }
      if (l) path.label = { x: l.x ?? 0, y: l.y ?? 0, lines: group.lines }
      paths.push(path)
    }
    for (const c of n.children ?? []) gather(c)
  }
  gather(laid)
  return { chart, width: laid.width ?? 0, height: laid.height ?? 0, boxes, edges: paths }
}
