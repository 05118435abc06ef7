/**
 * `chartSvg(layout, options)`: an SVG picture of a laid-out chart (layout.ts): states as
 * rounded boxes with their name on top and their listed lines under it, regions of a parallel
 * state dashed, final states with a double border, the initial child of each state marked by a
 * dot and an arrow, transitions as arrows labelled `event [guard]`. With `active` (state ids),
 * those states are highlighted: the live page draws a running actor this way.
 *
 * A string builder with no DOM and no dependencies, so `xswarm export` (Node) and the live page
 * (browser) draw the same picture.
 * @module
 */
import { CHAR_WIDTH, LINE_HEIGHT, TITLE_HEIGHT, type ChartLayout } from './layout.js'

export interface SvgOptions {
  /** Ids of the states to highlight (an actor's active states). */
  active?: ReadonlySet<string>
  /** Title above the chart (default: the chart's id; '' for none). */
  title?: string
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const n = (v: number): string => String(Math.round(v * 10) / 10)

const STYLE = `
  .st rect.box { fill: #fff; stroke: #3b4252; stroke-width: 1.2; }
  .st.region > rect.box { fill: none; stroke: #8a93a6; stroke-dasharray: 5 4; }
  .st.nested > rect.box { fill: #f6f7fb; }
  .st.active > rect.box { fill: #e3f2ff; stroke: #1c7ed6; stroke-width: 2.4; }
  .st.region.active > rect.box { fill: none; }
  .st text.name { font: 600 12px ui-sans-serif, system-ui, sans-serif; fill: #1f2430; }
  .st text.note { font: 10.5px ui-monospace, Menlo, monospace; fill: #505a6e; }
  .st line.sep { stroke: #d0d5e0; }
  .tr path { fill: none; stroke: #5c6578; stroke-width: 1.1; marker-end: url(#arrow); }
  .tr text { font: 10.5px ui-monospace, Menlo, monospace; fill: #2d3345; }
  .tr rect { fill: #fff; opacity: 0.85; }
  .init { fill: #3b4252; stroke: #3b4252; }
  text.title { font: 600 14px ui-sans-serif, system-ui, sans-serif; fill: #1f2430; }
`

/** The SVG text of `layout` (see the module comment). */
export function chartSvg(layout: ChartLayout, options: SvgOptions = {}): string {
  const active = options.active ?? new Set<string>()
  const title = options.title ?? layout.chart.id
  const top = title ? 24 : 0
  const width = Math.max(layout.width, title.length * 8 + 20)
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(layout.height + top)}" viewBox="0 0 ${n(width)} ${n(layout.height + top)}" data-chart="${esc(layout.chart.id)}">`)
  out.push(`<style>${STYLE}</style>`)
  out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5c6578"/></marker></defs>')
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`)
  if (title) out.push(`<text class="title" x="10" y="17">${esc(title)}</text>`)
  out.push(`<g transform="translate(0 ${top})">`)
  const byId = new Map(layout.boxes.map((b) => [b.state.id, b]))
  for (const box of layout.boxes) {
    const s = box.state
    const cls = ['st', box.region ? 'region' : '', box.depth > 0 && s.children.length > 0 ? 'nested' : '', active.has(s.id) ? 'active' : ''].filter(Boolean).join(' ')
    out.push(`<g class="${cls}" data-state="${esc(s.id)}">`)
    out.push(`<rect class="box" x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="8"/>`)
    if (s.type === 'final') out.push(`<rect class="box" x="${n(box.x + 3)}" y="${n(box.y + 3)}" width="${n(box.width - 6)}" height="${n(box.height - 6)}" rx="6"/>`)
    const name = s.type === 'history' ? `${s.key} (H${s.history === 'deep' ? '*' : ''})` : s.key
    out.push(`<text class="name" x="${n(box.x + 10)}" y="${n(box.y + 17)}">${esc(name)}</text>`)
    if (box.notes.length) out.push(`<line class="sep" x1="${n(box.x)}" x2="${n(box.x + box.width)}" y1="${n(box.y + TITLE_HEIGHT - 4)}" y2="${n(box.y + TITLE_HEIGHT - 4)}"/>`)
    box.notes.forEach((line, i) => {
      const max = Math.floor((box.width - 12) / CHAR_WIDTH)
      const text = line.length > max ? `${line.slice(0, Math.max(0, max - 1))}…` : line
      out.push(`<text class="note" x="${n(box.x + 8)}" y="${n(box.y + TITLE_HEIGHT + 8 + i * LINE_HEIGHT)}">${esc(text)}</text>`)
    })
    out.push('</g>')
    if (s.initial) {
      const child = byId.get(s.initial)
      if (child) {
        const cx = child.x - 12
        const cy = child.y + 13
        out.push(`<circle class="init" cx="${n(cx)}" cy="${n(cy)}" r="3.5"/><path class="init" d="M${n(cx + 3)},${n(cy)} L${n(child.x - 1)},${n(cy)}" stroke-width="1.2"/>`)
      }
    }
  }
  for (const edge of layout.edges) {
    if (edge.points.length < 2) continue
    const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join(' ')
    out.push(`<g class="tr" data-event="${esc(edge.transitions.map((t) => t.event).join(' '))}"><path d="${d}"/>`)
    if (edge.label) {
      const { x, y, lines } = edge.label
      const w = Math.max(...lines.map((l) => l.length)) * CHAR_WIDTH
      out.push(`<rect x="${n(x - 1)}" y="${n(y)}" width="${n(w + 2)}" height="${lines.length * LINE_HEIGHT}"/>`)
      lines.forEach((line, i) => out.push(`<text x="${n(x)}" y="${n(y + 10.5 + i * LINE_HEIGHT)}">${esc(line)}</text>`))
    }
    out.push('</g>')
  }
  out.push('</g></svg>')
  return out.join('\n')
}
