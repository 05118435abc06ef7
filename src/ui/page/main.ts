/**
 * The live network page (bundled by src/ui/build.ts into dist/src/ui/page/app.js): draws what the hub
 * (src/ui/hub.ts) streams over `/events`: the nodes and their links as a graph (each topic's
 * mesh over it), the selected node's actors as statecharts with their active states
 * highlighted (the same SVG renderer as `xswarm export`), and the event log.
 *
 * Drawing is coalesced to one pass per animation frame, and an actor's chart is redrawn only
 * when its state value or status changed.
 * @module
 */
import { activeStates, valueText } from '../../charts/active.js'
import type { ChartLayout } from '../../charts/layout.js'
import { chartSvg } from '../../charts/svg.js'
import type { UiMessage } from '../hub.js'

type ActorMessage = Extract<UiMessage, { t: 'actor' }>

const nodes = new Map<string, string>() // name → peer id
const links = new Map<string, Set<string>>() // node → peer ids
const actors = new Map<string, Map<string, ActorMessage>>() // node → session → actor
const meshes = new Map<string, Map<string, string[]>>() // topic → node → peers
const charts = new Map<string, ChartLayout>()
const log: Extract<UiMessage, { t: 'event' }>[] = []
const MAX_LOG = 200
let selected: string | undefined
let topic: string | undefined
let dirty = false

const $ = (id: string): HTMLElement => document.getElementById(id)!
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const short = (peer: string): string => `${peer.slice(0, 6)}…`

function receive(m: UiMessage): void {
  switch (m.t) {
    case 'node':
      nodes.set(m.node, m.peerId)
      selected ??= m.node
      break
    case 'link': {
      const set = links.get(m.node) ?? new Set<string>()
      links.set(m.node, set)
      if (m.up) set.add(m.peer)
      else set.delete(m.peer)
      break
    }
    case 'chart':
      charts.set(m.key, m.layout)
      break
    case 'actor': {
      const map = actors.get(m.node) ?? new Map<string, ActorMessage>()
      actors.set(m.node, map)
      map.set(m.session, m)
      break
    }
    case 'mesh': {
      const map = meshes.get(m.topic) ?? new Map<string, string[]>()
      meshes.set(m.topic, map)
      map.set(m.node, m.peers)
      topic ??= m.topic
      break
    }
    case 'event':
      log.push(m)
      if (log.length > MAX_LOG) log.shift()
      break
  }
  if (!dirty) {
    dirty = true
    requestAnimationFrame(draw)
  }
}

function draw(): void {
  dirty = false
  drawNetwork()
  drawTopics()
  drawActors()
  drawLog()
}

function drawNetwork(): void {
  const names = [...nodes.keys()]
  const byPeer = new Map([...nodes].map(([name, peer]) => [peer, name]))
  const size = 360
  const r = names.length > 1 ? size / 2 - 40 : 0
  const at = new Map(names.map((name, i) => {
    const a = (2 * Math.PI * i) / names.length - Math.PI / 2
    return [name, { x: size / 2 + r * Math.cos(a), y: size / 2 + r * Math.sin(a) }]
  }))
  const lines: string[] = []
  const drawn = new Set<string>()
  for (const [node, peers] of links) {
    for (const peer of peers) {
      const other = byPeer.get(peer)
      if (!other || !at.has(node) || !at.has(other)) continue
      const key = [node, other].sort().join('|')
      if (drawn.has(key)) continue
      drawn.add(key)
      const a = at.get(node)!, b = at.get(other)!
      lines.push(`<line class="link" data-link="${esc(key)}" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}"/>`)
    }
  }
  for (const [node, peers] of (topic ? meshes.get(topic) : undefined) ?? []) {
    for (const peer of peers) {
      const other = byPeer.get(peer)
      if (!other || !at.has(node) || !at.has(other)) continue
      const a = at.get(node)!, b = at.get(other)!
      lines.push(`<line class="mesh" data-mesh="${esc(`${node}>${other}`)}" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}"/>`)
    }
  }
  const circles = names.map((name) => {
    const p = at.get(name)!
    return `<g class="node${name === selected ? ' selected' : ''}" data-node="${esc(name)}"><circle cx="${p.x}" cy="${p.y}" r="24"/><text x="${p.x}" y="${p.y + 4}">${esc(name)}</text></g>`
  })
  $('network').innerHTML = `<svg viewBox="0 0 ${size} ${size}" xmlns="http://www.w3.org/2000/svg">${lines.join('')}${circles.join('')}</svg>`
  $('status').textContent = `${names.length} nodes, ${drawn.size} links${topic ? `; mesh of ${topic} in orange` : ''}`
}

function drawTopics(): void {
  const topics = [...meshes.keys()].sort()
  const html = topics.map((t) => `<label><input type="radio" name="topic" value="${esc(t)}"${t === topic ? ' checked' : ''}> ${esc(t)}</label>`).join('')
  const el = $('topics')
  const text = topics.length ? `Mesh of topic: ${html}` : ''
  if (el.dataset.html !== text) {
    el.innerHTML = text
    el.dataset.html = text
  }
}

/** Cards of the selected node's actors; a card is redrawn only when what it shows changed. */
function drawActors(): void {
  const container = $('actors')
  const list = inOrder([...(selected ? actors.get(selected)?.values() ?? [] : [])])
  $('actors-title').textContent = selected ? `Actors of ${selected} (${short(nodes.get(selected) ?? '')})` : 'Actors'
  const keep = new Set<string>()
  for (const actor of list) {
    keep.add(actor.session)
    let card = container.querySelector<HTMLElement>(`[data-session="${CSS.escape(actor.session)}"]`)
    if (!card) {
      card = document.createElement('section')
      card.className = 'actor'
      card.dataset.session = actor.session
      container.appendChild(card)
    }
    const layout = actor.chart ? charts.get(actor.chart) : undefined
    const value = valueText(actor.value)
    const stamp = `${value}|${actor.status}|${layout ? 1 : 0}`
    if (card.dataset.stamp === stamp) continue
    card.dataset.stamp = stamp
    card.dataset.actor = actor.id
    card.dataset.value = value
    card.dataset.status = actor.status
    card.classList.toggle('stopped', actor.status !== 'active')
    const peer = typeof (actor.context as { peer?: unknown } | null)?.peer === 'string' ? ` → ${short((actor.context as { peer: string }).peer)}` : ''
    const svg = layout ? chartSvg(layout, { active: activeStates(layout.chart, actor.value), title: '' }) : ''
    card.innerHTML = `<h3>${esc(actor.systemId ?? actor.id)}${esc(peer)} <span class="value">${esc(value)}</span>${actor.status !== 'active' ? ` (${esc(actor.status)})` : ''}</h3>` +
      `<div class="chart">${svg}</div><details><summary>context</summary><pre>${esc(JSON.stringify(actor.context, null, 1))}</pre></details>`
  }
  for (const card of Array.from(container.querySelectorAll<HTMLElement>('.actor'))) if (!keep.has(card.dataset.session ?? '')) card.remove()
  // Keep the cards in order.
  for (const actor of list) {
    const card = container.querySelector(`[data-session="${CSS.escape(actor.session)}"]`)
    if (card) container.appendChild(card)
  }
}

/**
 * The root first, then protocol actors, then connections, then the rest; each actor's per-peer
 * chart cards (peer-cards.ts: a session of the form `<its session>/<path>`) right below it, by
 * chart and peer.
 */
function inOrder(all: ActorMessage[]): ActorMessage[] {
  const isCard = (a: ActorMessage): boolean => a.session.includes('/')
  const byRank = (a: ActorMessage, b: ActorMessage): number => order(a) - order(b) || a.id.localeCompare(b.id)
  const cards = all.filter(isCard).sort((a, b) => a.id.localeCompare(b.id) || a.session.localeCompare(b.session))
  const out: ActorMessage[] = []
  for (const actor of all.filter((a) => !isCard(a)).sort(byRank)) {
    out.push(actor, ...cards.filter((card) => card.parent === actor.session))
  }
  const placed = new Set(out)
  return out.concat(cards.filter((card) => !placed.has(card))) // a card whose actor is not shown (any more)
}

function order(a: ActorMessage): number {
  if (a.systemId === 'swarm') return 0
  if (a.systemId?.startsWith('protocol:')) return 1
  if (/^[cd]\d+$/.test(a.id)) return 2
  return 3
}

function drawLog(): void {
  $('log').innerHTML = log.slice(-80).reverse().map((e) =>
    `<div><span class="t">${(e.at / 1000).toFixed(3)}s</span> <span class="n">${esc(e.node)}</span> ${esc(e.actor)} ← ${esc(e.type)}</div>`).join('')
}

$('network').addEventListener('click', (ev) => {
  const node = (ev.target as Element).closest('[data-node]')?.getAttribute('data-node')
  if (node && node !== selected) {
    selected = node
    $('actors').innerHTML = ''
    draw()
  }
})
$('topics').addEventListener('change', (ev) => {
  topic = (ev.target as HTMLInputElement).value
  draw()
})

function connect(attempt: number): void {
  const socket = new WebSocket(`ws://${location.host}/events`)
  socket.onopen = () => { $('status').textContent = 'connected' }
  socket.onmessage = (ev) => receive(JSON.parse(String(ev.data)) as UiMessage)
  socket.onclose = () => {
    $('status').textContent = 'disconnected; retrying…'
    if (attempt < 60) setTimeout(() => connect(attempt + 1), 1000)
  }
}
connect(0)
