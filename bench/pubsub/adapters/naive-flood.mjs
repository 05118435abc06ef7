// naive-flood: the ceiling. Raw `ws` connections along the edges, msgpackr frames
// [origin, seq, topic, payload], flooding with a seen-set: a node delivers and forwards (the
// received bytes, not re-encoded) every frame it has not seen, to every neighbour but the one
// it came from. No security at all: no encryption, no signatures, no peer identity, no
// backpressure, no mesh management. Anything real should be slower than this.
//
// WebSocket client→server frames are masked as RFC 6455 requires, with `ws` defaults (random
// mask, applied in JavaScript since bufferutil is not installed — same as js-libp2p's and the
// root project's `ws`). adapters/naive-flood-nomask.mjs is the same flood with an all-zero mask,
// which `ws` skips entirely: at 64 KiB that alone is ~2.5-3x more throughput.

import { WebSocketServer, WebSocket } from 'ws'
import { Packr } from 'msgpackr'

const SEEN_CAP = 200_000
// socket messages and bytes received by every node of this process (read by the harness)
const wire = { framesIn: 0, bytesIn: 0 }
const packr = new Packr({ useRecords: false, moreTypes: false })

function once (emitter, ok, fail = 'error') {
  return new Promise((resolve, reject) => {
    const onOk = (...a) => { emitter.off(fail, onFail); resolve(a) }
    const onFail = (err) => { emitter.off(ok, onOk); reject(err) }
    emitter.once(ok, onOk)
    emitter.once(fail, onFail)
  })
}

class FloodNode {
  constructor (index, topic) {
    this.index = index
    this.topic = topic
    this.peers = new Set()
    this.seen = new Set()
    this.seq = 0
    this.cbs = []
    this.server = null
    this.port = 0
  }

  async listen () {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
    this.server.on('connection', (ws) => this.attach(ws))
    await once(this.server, 'listening')
    this.port = this.server.address().port
  }

  attach (ws) {
    ws.binaryType = 'nodebuffer'
    this.peers.add(ws)
    ws.on('message', (data) => this.onFrame(ws, data))
    ws.on('close', () => this.peers.delete(ws))
    ws.on('error', () => {})
  }

  markSeen (id) {
    if (this.seen.has(id)) return false
    this.seen.add(id)
    if (this.seen.size > SEEN_CAP) this.seen.delete(this.seen.values().next().value)
    return true
  }

  onFrame (from, data) {
    wire.framesIn++
    wire.bytesIn += data.length
    let msg
    try { msg = packr.unpack(data) } catch { return }
    if (!Array.isArray(msg) || msg.length !== 4) return
    const [origin, seq, topic, payload] = msg
    if (!this.markSeen(origin * 0x100000000 + seq)) return
    for (const p of this.peers) {
      if (p !== from && p.readyState === WebSocket.OPEN) p.send(data)
    }
    if (topic === this.topic) for (const cb of this.cbs) cb(payload)
  }

  publish (bytes) {
    const seq = ++this.seq
    this.markSeen(this.index * 0x100000000 + seq)
    const frame = packr.pack([this.index, seq, this.topic, bytes])
    for (const p of this.peers) if (p.readyState === WebSocket.OPEN) p.send(frame)
  }
}

export function makeNaiveFlood ({ name = 'naive-flood', zeroMask = false } = {}) {
  const clientOpts = { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, handshakeTimeout: 10_000 }
  if (zeroMask) clientOpts.generateMask = (mask) => { mask.fill(0) }
  return {
    name,
    async start ({ n, edges, topic, signing }) {
      const fl = []
      for (let i = 0; i < n; i++) { const f = new FloodNode(i, topic); await f.listen(); fl.push(f) }
      const want = new Array(n).fill(0)
      for (const [a, b] of edges) { want[a]++; want[b]++ }
      const stop = async () => {
        for (const f of fl) { for (const p of f.peers) p.terminate(); f.peers.clear() }
        await Promise.all(fl.map((f) => new Promise((resolve) => {
          for (const c of f.server.clients) c.terminate()
          f.server.close(() => resolve())
        })))
      }
      try {
        await Promise.all(edges.map(async ([a, b]) => {
          const ws = new WebSocket(`ws://127.0.0.1:${fl[b].port}`, clientOpts)
          await once(ws, 'open')
          fl[a].attach(ws)
        }))
        // the accepting side registers on 'connection'; wait (bounded) until every node has all its links
        const deadline = Date.now() + 10_000
        while (fl.some((f, i) => f.peers.size < want[i])) {
          if (Date.now() > deadline) throw new Error('naive-flood: links not up within 10 s')
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      } catch (err) {
        await stop()
        throw err
      }
      return {
        nodes: fl.map((f) => ({
          publish: (bytes) => f.publish(bytes),
          onMessage: (cb) => { f.cbs.push(cb) }
        })),
        stop,
        wire: () => ({ ...wire }),
        notes: [`no security (no encryption, no signatures${signing ? '; --signing ignored' : ''}), flood with seen-set, ws perMessageDeflate off, ${zeroMask ? 'ZERO ws mask (masking skipped)' : 'ws default random mask (JS masking)'}`]
      }
    }
  }
}

export default makeNaiveFlood()
