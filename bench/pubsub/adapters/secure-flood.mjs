// secure-flood: the floor of a signed, encrypted pubsub on Node + node:crypto + ws + msgpackr.
//
// What it does, per message, and nothing else:
//   - links: raw `ws` along the harness's edges (as naive-flood), ws perMessageDeflate off, the
//     default random client mask (masked in JavaScript, as for every system here);
//   - encryption: every WebSocket frame is ChaCha20-Poly1305 (node:crypto), a new cipher object
//     per frame, nonce = 4 zero bytes ‖ 64-bit little-endian counter and ciphertext ‖ 16-byte tag,
//     as Noise transport messages are; one key per direction, sha256 of the two ends' indices.
//     The receiver decrypts and checks the tag of every frame (a bad tag drops the link);
//   - signatures: the author signs every message with ed25519 (node:crypto, its private
//     KeyObject made once) over a domain tag ‖ author public key ‖ seq ‖ topic ‖ payload, about
//     the bytes xswarm signs; every node verifies each message the first time it sees it, after
//     deduplication by (origin, seq) as xswarm and js-libp2p do, with a public KeyObject made
//     once per (node, author);
//   - batching: everything a node sends to one neighbour in one event-loop turn leaves as ONE
//     encrypted frame, flushed on setImmediate (as xswarm's src/runtime/conn-edge.ts write/flush);
//     a frame is a msgpackr array of messages [origin, seq, topic, payload, signature];
//   - flood: a new, valid message is delivered and forwarded to every neighbour but the one it
//     came from. (adapters/secure-tree.mjs instead forwards along the author's breadth-first
//     tree of the edges, so every node receives every message exactly once: no duplicate copy
//     crosses a socket, the least any dissemination can send; no redundancy either.)
//
// What it leaves out: any handshake (keys are derived, not agreed: setup is not measured), peer
// ids on the wire (the author is a small index into this process's key table, where a real
// message carries a 32-byte key or a peer id), a mesh, peer scoring, IHAVE/IWANT gossip,
// subscriptions, backpressure and rate limits, stream multiplexing, replay and size checks.
//
// Why it is a floor: a pubsub that encrypts its links with Noise and whose messages are signed
// and verified per node (xswarm; js-libp2p gossipsub with StrictSign) does at least this work
// per message on this stack: one signature per message, one verification per message per node,
// one AEAD seal and open per frame, one msgpackr encode per frame sent and decode per frame
// received, the `ws` framing and masking, and the socket writes. Whatever else it does (ids,
// meshes, scores, control traffic, flow control) comes on top. The flood pushes every message
// over every link, as a gossipsub mesh does where every link is in the mesh (this topology:
// about 4 links per node, D = 6); a design that sends fewer duplicate copies (pulling large
// messages, IDONTWANT) can do less per copy than the flood, never less than the tree.

import { createCipheriv, createDecipheriv, createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { Packr } from 'msgpackr'
import { FloodNodeBase, WebSocket, clientOptions, connectEdges, listen, messageId, stopAll } from '../ws-links.mjs'

const TAG_LENGTH = 16
/** A batch frame is flushed early once its messages reach this many bytes (xswarm: 256 KiB). */
const BATCH_BYTES = 256 * 1024
const DOMAIN = Buffer.from('secure-flood/1\n')

// socket messages and bytes received by every node of this process (read by the harness)
const wire = { framesIn: 0, bytesIn: 0 }
const packr = new Packr({ useRecords: false, moreTypes: false })
/** Raw 32-byte ed25519 public key of every author in this process, by node index. */
const authorKeys = []

/** The key for frames from node `from` to node `to`. */
const directionKey = (from, to) => createHash('sha256').update(`secure-flood key ${from}->${to}`).digest()

/** Noise's transport nonce for counter `n`: 4 zero bytes ‖ n as 64-bit little-endian. */
const nonceBytes = Buffer.alloc(12)
function nonce (n) {
  nonceBytes.writeUInt32LE(n >>> 0, 4)
  nonceBytes.writeUInt32LE(Math.floor(n / 0x100000000), 8)
  return nonceBytes
}

function seal (link, plaintext) {
  const cipher = createCipheriv('chacha20-poly1305', link.sendKey, nonce(link.sendN++), { authTagLength: TAG_LENGTH })
  const body = cipher.update(plaintext)
  cipher.final()
  const out = Buffer.allocUnsafe(body.length + TAG_LENGTH)
  out.set(body, 0)
  out.set(cipher.getAuthTag(), body.length)
  return out
}

/** The plaintext of `frame`, or null when its tag does not check. */
function open (link, frame) {
  if (frame.length < TAG_LENGTH) return null
  const bodyLength = frame.length - TAG_LENGTH
  try {
    const decipher = createDecipheriv('chacha20-poly1305', link.recvKey, nonce(link.recvN++), { authTagLength: TAG_LENGTH })
    decipher.setAuthTag(frame.subarray(bodyLength))
    const body = decipher.update(frame.subarray(0, bodyLength))
    decipher.final()
    return body
  } catch {
    return null
  }
}

/** What an author signs: domain ‖ author public key ‖ u32 seq hi ‖ u32 seq lo ‖ u16 |topic| ‖ topic ‖ payload. */
function signedBytes (authorKey, seq, topic, payload) {
  const topicLength = Buffer.byteLength(topic)
  const out = Buffer.allocUnsafe(DOMAIN.length + 32 + 8 + 2 + topicLength + payload.length)
  let at = DOMAIN.copy(out, 0)
  out.set(authorKey, at); at += 32
  out.writeUInt32BE(Math.floor(seq / 0x100000000), at)
  out.writeUInt32BE(seq >>> 0, at + 4); at += 8
  out.writeUInt16BE(topicLength, at); at += 2
  at += out.write(topic, at)
  out.set(payload, at)
  return out
}

/**
 * Tree mode: for every author o and node i, the neighbours j of i whose parent is i in the
 * breadth-first tree of `edges` from o (author o's message goes from i on to exactly these).
 */
function treeChildren (n, edges) {
  const adjacent = Array.from({ length: n }, () => [])
  for (const [a, b] of edges) { adjacent[a].push(b); adjacent[b].push(a) }
  const children = Array.from({ length: n }, () => Array.from({ length: n }, () => []))
  for (let o = 0; o < n; o++) {
    const reached = new Uint8Array(n)
    reached[o] = 1
    const queue = [o]
    for (let k = 0; k < queue.length; k++) {
      const i = queue[k]
      for (const j of adjacent[i]) if (!reached[j]) { reached[j] = 1; children[i][o].push(j); queue.push(j) }
    }
  }
  return children
}

class SecureFloodNode extends FloodNodeBase {
  /** `forwardTo`: null to flood, or (tree mode) author index → neighbour indices to forward to. */
  constructor (index, topic, forwardTo) {
    // peers: socket → link { ws, remote, sendKey, recvKey, sendN, recvN, pending, pendingBytes }
    super(index, topic, new Map())
    this.forwardTo = forwardTo
    /** neighbour index → link */
    this.links = new Map()
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    this.privateKey = privateKey
    authorKeys[index] = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url')
    /** author index → public KeyObject, made the first time this node verifies that author */
    this.verifyKeys = new Map()
    /** links with messages waiting for this turn's flush */
    this.holding = []
    this.flushAll = () => {
      const links = this.holding
      this.holding = []
      for (const link of links) this.flush(link)
    }
  }

  attach (ws, remote) {
    ws.binaryType = 'nodebuffer'
    const link = { ws, remote, sendKey: directionKey(this.index, remote), recvKey: directionKey(remote, this.index), sendN: 0, recvN: 0, pending: [], pendingBytes: 0 }
    this.peers.set(ws, link)
    this.links.set(remote, link)
    ws.on('message', (data) => this.onFrame(link, data))
    ws.on('close', () => this.peers.delete(ws))
    ws.on('error', () => {})
  }

  queue (link, msg) {
    link.pending.push(msg)
    link.pendingBytes += msg[3].length + msg[4].length
    if (link.pending.length === 1) {
      if (this.holding.length === 0) setImmediate(this.flushAll)
      this.holding.push(link)
    }
    if (link.pendingBytes >= BATCH_BYTES) this.flush(link)
  }

  flush (link) {
    if (link.pending.length === 0) return
    const batch = link.pending
    link.pending = []
    link.pendingBytes = 0
    if (link.ws.readyState === WebSocket.OPEN) link.ws.send(seal(link, packr.pack(batch)))
  }

  verifyKey (origin) {
    let key = this.verifyKeys.get(origin)
    if (key === undefined) {
      const raw = authorKeys[origin]
      key = raw === undefined ? null : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
      this.verifyKeys.set(origin, key)
    }
    return key
  }

  onFrame (from, data) {
    wire.framesIn++
    wire.bytesIn += data.length
    const plaintext = open(from, data)
    if (plaintext === null) { from.ws.terminate(); return }
    let batch
    try { batch = packr.unpack(plaintext) } catch { return }
    if (!Array.isArray(batch)) return
    for (const msg of batch) this.receive(from, msg)
  }

  receive (from, msg) {
    if (!Array.isArray(msg) || msg.length !== 5) return
    const [origin, seq, topic, payload, signature] = msg
    if (!Number.isInteger(origin) || !Number.isInteger(seq) || typeof topic !== 'string' || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) return
    if (!this.seen.mark(messageId(origin, seq))) return
    const key = this.verifyKey(origin)
    if (key === null || !verify(null, signedBytes(authorKeys[origin], seq, topic, payload), key, signature)) return
    if (this.forwardTo === null) {
      for (const link of this.peers.values()) if (link !== from) this.queue(link, msg)
    } else {
      for (const j of this.forwardTo[origin]) { const link = this.links.get(j); if (link !== undefined) this.queue(link, msg) }
    }
    if (topic === this.topic) for (const cb of this.cbs) cb(payload)
  }

  publish (bytes) {
    const seq = ++this.seq
    this.seen.mark(messageId(this.index, seq))
    const signature = sign(null, signedBytes(authorKeys[this.index], seq, this.topic, bytes), this.privateKey)
    const msg = [this.index, seq, this.topic, bytes, signature]
    for (const link of this.peers.values()) this.queue(link, msg)
  }
}

export function makeSecureFlood ({ name = 'secure-flood', tree = false } = {}) {
  const forwarding = tree ? "forwarded along the author's breadth-first tree (each node receives each message once)" : 'flood'
  return {
    name,
    async start ({ n, edges, topic, signing }) {
      const children = tree ? treeChildren(n, edges) : null
      const fl = []
      for (let i = 0; i < n; i++) { const f = new SecureFloodNode(i, topic, tree ? children[i] : null); await listen(f); fl.push(f) }
      await connectEdges(name, fl, edges, clientOptions())
      return {
        nodes: fl.map((f) => ({
          publish: (bytes) => f.publish(bytes),
          onMessage: (cb) => { f.cbs.push(cb) }
        })),
        stop: () => stopAll(fl),
        wire: () => ({ ...wire }),
        notes: [`ChaCha20-Poly1305 per ws frame (node:crypto, derived keys, no handshake), every message signed (ed25519) and verified once per node after dedupe${signing ? '' : ' (--signing off ignored: always signed)'}, one frame per neighbour per event-loop turn, ${forwarding}; no mesh, scoring, gossip or backpressure`]
      }
    }
  }
}

export default makeSecureFlood()
