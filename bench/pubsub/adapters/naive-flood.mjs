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

import { Packr } from 'msgpackr'
import { FloodNodeBase, WebSocket, clientOptions, connectEdges, listen, messageId, stopAll } from '../ws-links.mjs'

// socket messages and bytes received by every node of this process (read by the harness)
const wire = { framesIn: 0, bytesIn: 0 }
const packr = new Packr({ useRecords: false, moreTypes: false })

class FloodNode extends FloodNodeBase {
  constructor (index, topic) { super(index, topic, new Set()) }

  attach (ws) {
    ws.binaryType = 'nodebuffer'
    this.peers.add(ws)
    ws.on('message', (data) => this.onFrame(ws, data))
    ws.on('close', () => this.peers.delete(ws))
    ws.on('error', () => {})
  }

  onFrame (from, data) {
    wire.framesIn++
    wire.bytesIn += data.length
    let msg
    try { msg = packr.unpack(data) } catch { return }
    if (!Array.isArray(msg) || msg.length !== 4) return
    const [origin, seq, topic, payload] = msg
    if (!this.seen.mark(messageId(origin, seq))) return
    for (const p of this.peers) {
      if (p !== from && p.readyState === WebSocket.OPEN) p.send(data)
    }
    if (topic === this.topic) for (const cb of this.cbs) cb(payload)
  }

  publish (bytes) {
    const seq = ++this.seq
    this.seen.mark(messageId(this.index, seq))
    const frame = packr.pack([this.index, seq, this.topic, bytes])
    for (const p of this.peers) if (p.readyState === WebSocket.OPEN) p.send(frame)
  }
}

export function makeNaiveFlood ({ name = 'naive-flood', zeroMask = false } = {}) {
  const clientOpts = clientOptions({ zeroMask })
  return {
    name,
    async start ({ n, edges, topic, signing }) {
      const fl = []
      for (let i = 0; i < n; i++) { const f = new FloodNode(i, topic); await listen(f); fl.push(f) }
      await connectEdges(name, fl, edges, clientOpts)
      const stop = () => stopAll(fl)
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
