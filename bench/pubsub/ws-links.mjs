// Shared by the flood adapters (adapters/naive-flood.mjs, adapters/secure-flood.mjs): raw `ws`
// servers on 127.0.0.1, the links dialled along the harness's edges, a bounded seen-set, and
// the stop. A node here is any object with `server`, `port`, `peers` (a Set or a Map keyed by
// socket) and `attach(ws, remoteIndex)`; the dialler tells its index in the URL path, so the
// accepting side knows who is at the other end without a message of its own.

import { WebSocketServer, WebSocket } from 'ws'

const SEEN_CAP = 200_000
const MAX_PAYLOAD = 64 * 1024 * 1024

export function once (emitter, ok, fail = 'error') {
  return new Promise((resolve, reject) => {
    const onOk = (...a) => { emitter.off(fail, onFail); resolve(a) }
    const onFail = (err) => { emitter.off(ok, onOk); reject(err) }
    emitter.once(ok, onOk)
    emitter.once(fail, onFail)
  })
}

/** Message ids (numbers) seen by one node, the oldest dropped beyond SEEN_CAP. */
export class SeenSet {
  constructor () { this.ids = new Set() }

  /** True the first time `id` is marked, false after. */
  mark (id) {
    if (this.ids.has(id)) return false
    this.ids.add(id)
    if (this.ids.size > SEEN_CAP) this.ids.delete(this.ids.values().next().value)
    return true
  }
}

/** What every flood node holds: its index, topic, links (`peers`), seen-set, last seq, callbacks, server. */
export class FloodNodeBase {
  constructor (index, topic, peers) {
    this.index = index
    this.topic = topic
    this.peers = peers
    this.seen = new SeenSet()
    this.seq = 0
    this.cbs = []
    this.server = null
    this.port = 0
  }
}

/** The id of message `seq` of author `origin` (both below 2^32 here). */
export const messageId = (origin, seq) => origin * 0x100000000 + seq

/** Start `node.server` on 127.0.0.1 (any port); each accepted socket goes to `node.attach`. */
export async function listen (node) {
  node.server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: MAX_PAYLOAD })
  node.server.on('connection', (ws, req) => node.attach(ws, Number(req.url.slice(1))))
  await once(node.server, 'listening')
  node.port = node.server.address().port
}

/** Client options of `ws`; `zeroMask` makes every mask all-zero, which `ws` skips. */
export function clientOptions ({ zeroMask = false } = {}) {
  const opts = { perMessageDeflate: false, maxPayload: MAX_PAYLOAD, handshakeTimeout: 10_000 }
  if (zeroMask) opts.generateMask = (mask) => { mask.fill(0) }
  return opts
}

/** Terminate every socket and close every server of `nodes`. */
export async function stopAll (nodes) {
  for (const f of nodes) { for (const p of f.peers.keys()) p.terminate(); f.peers.clear() }
  await Promise.all(nodes.map((f) => new Promise((resolve) => {
    for (const c of f.server.clients) c.terminate()
    f.server.close(() => resolve())
  })))
}

/**
 * Dial every edge [a, b] (a dials b) and wait, bounded, until every node holds all its links
 * (the accepting side registers them on 'connection'). Stops everything and throws on failure.
 */
export async function connectEdges (name, nodes, edges, clientOpts) {
  const want = new Array(nodes.length).fill(0)
  for (const [a, b] of edges) { want[a]++; want[b]++ }
  try {
    await Promise.all(edges.map(async ([a, b]) => {
      const ws = new WebSocket(`ws://127.0.0.1:${nodes[b].port}/${a}`, clientOpts)
      await once(ws, 'open')
      nodes[a].attach(ws, b)
    }))
    const deadline = Date.now() + 10_000
    while (nodes.some((f, i) => f.peers.size < want[i])) {
      if (Date.now() > deadline) throw new Error(`${name}: links not up within 10 s`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } catch (err) {
    await stopAll(nodes)
    throw err
  }
}

export { WebSocket }
