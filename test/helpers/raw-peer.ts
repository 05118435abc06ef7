/**
 * An attacker's toolkit against a LIVE swarm over real sockets, plus the harness the
 * adversarial tests share (a target node with an honest peer whose pings must keep flowing).
 *
 * Why raw: the swarm's own code always sends well-formed frames, so it cannot test what a
 * stranger can do. `RawPeer` is built on the `ws` package directly and sends whatever it is
 * told: arbitrary bytes before the handshake, a correct Noise XX / XXpsk3 initiator handshake
 * with the identity binding of machines/handshake.machine.ts (so post-handshake attacks carry
 * valid encrypted frames), encrypted frames of any plaintext, and it can stop reading (pause
 * its socket) to play a slow reader. `RawListener` turns it around: a hostile WebSocket server
 * the node dials, whose peers can run the responder's side of the handshake. `RawSocket` is
 * `node:net` with a hand-made WebSocket upgrade, for bytes `ws` would refuse to send (lying
 * length headers, garbage instead of HTTP, half-sent requests). The harness part: `Target`
 * (the node under attack plus an honest peer, with `assertHonestAlive`), `Driven` (a pumped
 * swarm with bounded waits on its events, and `stall` to play a busy consumer), the fault
 * recorder and a forced-GC heap probe. One file because the brief allows one helper file.
 * Every wait is bounded: a broken node fails a test, never hangs it. Only 127.0.0.1 is used.
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { WebSocket, WebSocketServer } from 'ws'
import { afterAll, afterEach, expect } from 'vitest'
import {
  createHandshakeContext,
  HANDSHAKE_PROLOGUE,
  HANDSHAKE_PROTOCOL,
  identityBindingMessage,
  writeStep,
} from '../../machines/handshake.machine.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { decryptWithAd, encryptWithAd, type CipherState } from '../../machines/secure/cipher-state.js'
import { initHandshake, readMessage, writeMessage } from '../../machines/secure/noise.js'
import { decodeFrame, encodeFrame } from '../../src/codec/frame.js'
import { BATCH_PROTOCOL } from '../../src/codec/batch.js'
import { nativeSuite } from '../../src/crypto/native.js'
import { createSwarm, type SwarmOptions } from '../../src/create-swarm.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'
import { seal } from '../../machines/lib/secret.js'

const suite = nativeSuite
const EMPTY = new Uint8Array(0)
const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n))

/** Readable names for close codes that come without a reason text (same table as src/transport/ws.ts). */
const CODE_REASONS: Record<number, string> = {
  1002: 'protocol-error', 1003: 'unsupported-data', 1006: 'connection-lost', 1007: 'invalid-payload',
  1008: 'policy-violation', 1009: 'frame-too-large', 1011: 'internal-error',
}

/** How a connection ended, as the attacker saw it. */
export interface CloseInfo {
  code: number
  /** The close frame's reason text ('' if none). */
  reason: string
  /** `reason`, or a name for `code` when the reason is empty. */
  readable: string
}

function closeInfo(code: number, reason: string): CloseInfo {
  return { code, reason, readable: reason || CODE_REASONS[code] || `code-${code}` }
}

/** Resolve `promise`, or reject after `ms` naming `what`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** An identity for a raw peer: ed25519 identity key, Noise static key, and the binding signature. */
export interface RawIdentity {
  secretKey: Uint8Array
  identityKey: Uint8Array
  staticKey: { privateKey: Uint8Array; publicKey: Uint8Array }
  signature: Uint8Array
  peerId: string
}

export function rawIdentity(secretKey = random(32)): RawIdentity {
  const identityKey = suite.ed25519PublicKey(secretKey)
  const staticPrivate = random(32)
  const staticKey = { privateKey: staticPrivate, publicKey: suite.x25519PublicKey(staticPrivate) }
  const signature = suite.ed25519Sign(secretKey, identityBindingMessage(staticKey.publicKey))
  return { secretKey, identityKey, staticKey, signature, peerId: peerIdFromPublicKey(suite.sha256, identityKey) }
}

const prologues = new Map<number, Uint8Array>()

/**
 * The Noise prologue the node uses for a given flags byte: `xswarm/1`, or `xswarm/1 ‖ flags`
 * (the flags byte mixed into the transcript). Found once per flags value by comparing what the
 * node's handshake step writes as message 1 with both candidates (same keys), so this
 * attacker follows the wire of the code under test instead of a copy of it.
 */
function prologueFor(flags: number): Uint8Array {
  const known = prologues.get(flags)
  if (known) return known
  const versioned = [HANDSHAKE_PROLOGUE, concatBytes(HANDSHAKE_PROLOGUE, Uint8Array.of(flags))]
  if (!(flags & 1)) {
    // XX message 1 carries no tag, so both candidates write the same bytes: follow XXpsk3's answer.
    const choice = prologueFor(flags | 1).length === HANDSHAKE_PROLOGUE.length ? versioned[0] : versioned[1]
    prologues.set(flags, choice)
    return choice
  }
  const id = rawIdentity()
  const ephemeralPrivateKey = random(32)
  const psk = random(32)
  // Message 1 as the connection's handshake region writes it (its `writeHandshake` runs this step).
  const written = writeStep(createHandshakeContext({
    suite, initiator: true, identityKey: id.identityKey,
    keys: seal({ staticKey: id.staticKey, ephemeralPrivateKey, identitySignature: id.signature, psk }),
  })).outbox
  for (const candidate of versioned) {
    const hs = initHandshake({ suite, pattern: 'XXpsk3', initiator: true, prologue: candidate, staticKey: id.staticKey, ephemeralPrivateKey, psk })
    const w = writeMessage(hs, EMPTY)
    if (!('error' in w) && written && equalBytes(withFlags(flags, w.message), written)) {
      prologues.set(flags, candidate)
      return candidate
    }
  }
  throw new Error('cannot tell which prologue the handshake uses')
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export interface HandshakeOptions {
  identity?: RawIdentity
  /** 32-byte swarm key: speak XXpsk3 and set the private flag. */
  psk?: Uint8Array
  /** Change the frame bytes of message 1 or 3 before they are sent (mutation, truncation, replay). */
  mutate1?: (frame: Uint8Array) => Uint8Array
  mutate3?: (frame: Uint8Array) => Uint8Array
  timeoutMs?: number
}

/** The three handshake frames (whole WebSocket messages) of one session, for replays. */
export interface HandshakeRecord {
  msg1: Uint8Array
  msg2: Uint8Array
  msg3: Uint8Array
  /** The node's peer id, proven by its identity payload. */
  remotePeer: string
}

/** A raw WebSocket client: it sends whatever it is told and records how it was closed. */
export class RawPeer {
  readonly ws: WebSocket
  /** Messages received and not yet taken. */
  private readonly inbox: Uint8Array[] = []
  private waiter: (() => void) | null = null
  closeInfo: CloseInfo | null = null
  readonly closed: Promise<CloseInfo>
  send: CipherState | null = null
  recv: CipherState | null = null
  identity: RawIdentity | null = null
  /** Drop incoming messages instead of keeping them (a peer that reads but does not care). */
  discard = false
  /** Messages received in all (a batch of frames is one message). */
  receivedCount = 0
  /** Bytes of the messages received in all. */
  receivedBytes = 0

  private constructor(ws: WebSocket) {
    this.ws = ws
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = closeInfo(code, reason.toString())
        resolve(this.closeInfo)
        this.wake()
      })
    })
    ws.on('message', (data: Buffer) => {
      this.receivedCount++
      this.receivedBytes += data.byteLength
      if (this.discard) return
      this.inbox.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      this.wake()
    })
  }

  /** Open a WebSocket to `url` (ws://127.0.0.1:port, with or without /p2p/...), from `localAddress` if given (127.0.0.2...). */
  static connect(url: string, timeoutMs = 5000, localAddress?: string): Promise<RawPeer> {
    const ws = new WebSocket(url.replace(/\/p2p\/.*$/, ''), { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, localAddress })
    ws.on('error', () => {}) // the close event carries what we assert on
    const peer = new RawPeer(ws)
    return within(
      new Promise<RawPeer>((resolve, reject) => {
        ws.once('open', () => resolve(peer))
        ws.once('close', (code: number) => reject(new Error(`closed before open (${code})`)))
      }),
      timeoutMs,
      `connect ${url}`,
    )
  }

  /** Wrap a socket accepted by a `RawListener`. */
  static fromSocket(ws: WebSocket): RawPeer {
    ws.on('error', () => {})
    return new RawPeer(ws)
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = null
    w?.()
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /** Write bytes straight to the TCP socket, under the WebSocket layer (hand-made frames, see RawSocket.frame). */
  writeWire(bytes: Uint8Array): void {
    ;(this.ws as unknown as { _socket: Socket })._socket.write(bytes)
  }

  /** Send one WebSocket message of arbitrary bytes (no encryption). */
  sendRaw(bytes: Uint8Array): void {
    if (this.isOpen) this.ws.send(bytes, { binary: true })
  }

  /** The next message received (raw bytes); rejects when the connection closes or after `ms`. */
  async nextRaw(ms = 3000): Promise<Uint8Array> {
    const deadline = Date.now() + ms
    for (;;) {
      const next = this.inbox.shift()
      if (next) return next
      if (this.closeInfo) throw new Error(`connection closed: ${this.closeInfo.readable}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no message within ${ms} ms`)
      await within(new Promise<void>((resolve) => (this.waiter = resolve)), left, 'next message').catch(() => {})
    }
  }

  /** Wait for the node to close this connection (bounded); returns how. */
  waitClosed(ms = 5000): Promise<CloseInfo> {
    return within(this.closed, ms, 'the node to close the attacker connection')
  }

  /**
   * A correct Noise XX (or XXpsk3) initiator handshake with the identity binding. After it,
   * `sendFrame`/`sendPlaintext` send valid encrypted frames.
   */
  async handshake(options: HandshakeOptions = {}): Promise<HandshakeRecord> {
    const identity = options.identity ?? rawIdentity()
    this.identity = identity
    const psk = options.psk
    const flags = psk ? 1 : 0
    let hs = initHandshake({
      suite, pattern: psk ? 'XXpsk3' : 'XX', initiator: true, prologue: prologueFor(flags),
      staticKey: identity.staticKey, ephemeralPrivateKey: random(32), psk,
    })
    const w1 = writeMessage(hs, EMPTY)
    if ('error' in w1) throw new Error(`write 1: ${w1.error}`)
    hs = w1.state
    let msg1 = encodeFrame(HANDSHAKE_PROTOCOL, withFlags(flags, w1.message))
    if (options.mutate1) msg1 = options.mutate1(msg1)
    this.sendRaw(msg1)
    const msg2 = await this.nextRaw(options.timeoutMs ?? 3000)
    const frame = decodeFrame(msg2)
    if (frame.protocol !== HANDSHAKE_PROTOCOL || !(frame.body instanceof Uint8Array)) throw new Error('message 2 is not a handshake frame')
    const r2 = readMessage(hs, frame.body.subarray(1))
    if ('error' in r2) throw new Error(`read 2: ${r2.error}`)
    hs = r2.state
    const remoteKey = r2.payload.slice(0, 32)
    if (!suite.ed25519Verify(r2.payload.subarray(32, 96), identityBindingMessage(hs.remoteStatic!), remoteKey)) {
      throw new Error('message 2: bad identity signature')
    }
    const payload = new Uint8Array(96)
    payload.set(identity.identityKey, 0)
    payload.set(identity.signature, 32)
    const w3 = writeMessage(hs, payload)
    if ('error' in w3 || !w3.split) throw new Error('write 3 failed')
    let msg3 = encodeFrame(HANDSHAKE_PROTOCOL, withFlags(flags, w3.message))
    if (options.mutate3) msg3 = options.mutate3(msg3)
    this.sendRaw(msg3)
    this.send = { ...w3.split.send }
    this.recv = { ...w3.split.recv }
    return { msg1, msg2, msg3, remotePeer: peerIdFromPublicKey(suite.sha256, remoteKey) }
  }

  /**
   * The responder's side of the handshake (for a `RawListener` posing as a node): read message 1,
   * answer with message 2 carrying `identity`, then (unless `readFinish` is false) read message 3.
   * Without `readFinish` it never learns whether the dialer had the psk: that is the point.
   * After message 3 it sends the `ready` control frame `[2, 0]` (key confirmation) unless
   * `ready` is false.
   */
  async respond(options: HandshakeOptions & { readFinish?: boolean; ready?: boolean } = {}): Promise<{ remotePeer?: string }> {
    const identity = options.identity ?? rawIdentity()
    this.identity = identity
    const psk = options.psk
    let hs = initHandshake({
      suite, pattern: psk ? 'XXpsk3' : 'XX', initiator: false, prologue: prologueFor(psk ? 1 : 0),
      staticKey: identity.staticKey, ephemeralPrivateKey: random(32), psk,
    })
    const m1 = decodeFrame(await this.nextRaw(options.timeoutMs ?? 3000))
    if (!(m1.body instanceof Uint8Array)) throw new Error('message 1 is not bytes')
    const r1 = readMessage(hs, m1.body.subarray(1))
    if ('error' in r1) throw new Error(`read 1: ${r1.error}`)
    hs = r1.state
    const payload = new Uint8Array(96)
    payload.set(identity.identityKey, 0)
    payload.set(identity.signature, 32)
    const w2 = writeMessage(hs, payload)
    if ('error' in w2) throw new Error(`write 2: ${w2.error}`)
    hs = w2.state
    this.sendRaw(encodeFrame(HANDSHAKE_PROTOCOL, withFlags(psk ? 1 : 0, w2.message)))
    if (options.readFinish === false) return {}
    const m3 = decodeFrame(await this.nextRaw(options.timeoutMs ?? 3000))
    const r3 = readMessage(hs, (m3.body as Uint8Array).subarray(1))
    if ('error' in r3 || !r3.split) throw new Error(`read 3: ${'error' in r3 ? r3.error : 'no split'}`)
    this.send = { ...r3.split.send }
    this.recv = { ...r3.split.recv }
    // Key confirmation: a node as initiator waits for the responder's `ready` control frame.
    if (options.ready !== false) this.sendFrame('/xswarm/conn/1', [2, 0])
    return { remotePeer: peerIdFromPublicKey(suite.sha256, r3.payload.slice(0, 32)) }
  }

  /** Encrypt arbitrary plaintext bytes with the session key and send them as one message. */
  sendPlaintext(plaintext: Uint8Array): void {
    if (!this.send) throw new Error('no session: handshake first')
    this.sendRaw(encryptWithAd(suite, this.send, EMPTY, plaintext)!)
  }

  /** Send a valid encrypted frame `[protocol, body]`. */
  sendFrame(protocol: string, body: unknown): void {
    this.sendPlaintext(encodeFrame(protocol, body, { maxFrameBytes: 2 ** 32 - 1 }))
  }

  /** The next decrypted frame from the node (pings, pongs...; a batch's parts one by one), bounded. */
  async nextFrame(ms = 3000): Promise<{ protocol: string; body: unknown }> {
    if (!this.recv) throw new Error('no session: handshake first')
    const held = this.batched.shift()
    if (held) return held
    const bytes = decryptWithAd(suite, this.recv, EMPTY, await this.nextRaw(ms))
    if (bytes === null) throw new Error('the node sent a frame that does not decrypt')
    const frame = decodeFrame(bytes, { maxFrameBytes: 2 ** 32 - 1 })
    if (frame.protocol !== BATCH_PROTOCOL) return frame
    for (const part of frame.body as Uint8Array[]) this.batched.push(decodeFrame(part, { maxFrameBytes: 2 ** 32 - 1 }))
    return this.batched.shift()!
  }

  /** Frames of a batch from the node not handed out yet. */
  private readonly batched: Array<{ protocol: string; body: unknown }> = []

  /** Wait for a frame matching `pred` (skipping others), bounded. */
  async expectFrame(pred: (f: { protocol: string; body: unknown }) => boolean, ms = 3000): Promise<{ protocol: string; body: unknown }> {
    const deadline = Date.now() + ms
    for (;;) {
      const frame = await this.nextFrame(Math.max(1, deadline - Date.now()))
      if (pred(frame)) return frame
    }
  }

  /** Stop reading (the TCP window fills, and the node's send buffer with it). */
  pause(): void {
    this.ws.pause()
  }

  resume(): void {
    this.ws.resume()
  }

  /** Drop the socket without a close handshake. */
  terminate(): void {
    this.ws.terminate()
  }
}

function withFlags(flags: number, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message.length)
  out[0] = flags
  out.set(message, 1)
  return out
}

// ---------------------------------------------------------------------------------------------
// Raw msgpack, for frames the codec would refuse to encode.

/** msgpack str (fixstr/str8/str16). */
export function mpStr(s: string): Uint8Array {
  const b = new TextEncoder().encode(s)
  if (b.length < 32) return Uint8Array.of(0xa0 | b.length, ...b)
  if (b.length < 256) return Uint8Array.of(0xd9, b.length, ...b)
  return Uint8Array.of(0xda, b.length >> 8, b.length & 0xff, ...b)
}

/** A frame `[protocol, <raw body bytes>]`. */
export function rawFrame(protocol: string, body: Uint8Array): Uint8Array {
  const p = mpStr(protocol)
  const out = new Uint8Array(1 + p.length + body.length)
  out[0] = 0x92
  out.set(p, 1)
  out.set(body, 1 + p.length)
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** A hostile WebSocket listener on 127.0.0.1, or `host` (a node's dial target): `onPeer` plays the attacker. */
export class RawListener {
  readonly peers: RawPeer[] = []
  private constructor(readonly wss: WebSocketServer, readonly url: string) {}

  static async start(onPeer: (peer: RawPeer) => void | Promise<void>, host = '127.0.0.1'): Promise<RawListener> {
    const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
    wss.on('error', () => {})
    await new Promise<void>((resolve) => wss.once('listening', resolve))
    const listener = new RawListener(wss, `ws://${host}:${(wss.address() as { port: number }).port}`)
    wss.on('connection', (ws) => {
      const peer = RawPeer.fromSocket(ws)
      listener.peers.push(peer)
      void Promise.resolve().then(() => onPeer(peer)).catch(() => peer.terminate())
    })
    return listener
  }

  /** The dialable address of this listener claiming to be `identity`. */
  address(identity: RawIdentity): string {
    return `${this.url}/p2p/${identity.peerId}`
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.terminate()
    await within(new Promise<void>((resolve) => this.wss.close(() => resolve())), 3000, 'closing the raw listener')
  }
}

// ---------------------------------------------------------------------------------------------
// node:net with a hand-made upgrade.

/** A TCP socket that speaks just enough WebSocket to lie in frame headers. */
export class RawSocket {
  readonly socket: Socket
  /** Bytes received after the HTTP head. */
  received = Buffer.alloc(0)
  head = ''
  ended = false
  readonly ended$: Promise<void>

  private constructor(socket: Socket) {
    this.socket = socket
    this.ended$ = new Promise((resolve) => socket.once('close', () => {
      this.ended = true
      resolve()
    }))
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk])
    })
  }

  /** Connect by TCP; with `upgrade`, perform the WebSocket upgrade by hand first. */
  static async connect(port: number, upgrade = true, localAddress?: string): Promise<RawSocket> {
    const socket = netConnect({ port, host: '127.0.0.1', localAddress })
    socket.on('error', () => {})
    const raw = new RawSocket(socket)
    await within(new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    }), 3000, 'tcp connect')
    if (!upgrade) return raw
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${Buffer.from(random(16)).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    const deadline = Date.now() + 3000
    while (raw.received.indexOf('\r\n\r\n') < 0) {
      if (Date.now() > deadline || raw.ended) throw new Error('no upgrade response')
      await sleep(5)
    }
    const end = raw.received.indexOf('\r\n\r\n')
    raw.head = raw.received.subarray(0, end).toString()
    raw.received = raw.received.subarray(end + 4)
    return raw
  }

  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** A masked binary frame header declaring `length` payload bytes, followed by `payload` (maybe shorter); `fin` false: a fragment. */
  static frame(payload: Uint8Array, length = payload.length, opcode = 0x2, fin = true): Buffer {
    const mask = random(4)
    const first = (fin ? 0x80 : 0) | opcode
    let header: number[]
    if (length < 126) header = [first, 0x80 | length]
    else if (length < 65536) header = [first, 0x80 | 126, length >> 8, length & 0xff]
    else {
      header = [first, 0x80 | 127]
      for (let i = 7; i >= 0; i--) header.push(Math.floor(length / 2 ** (8 * i)) & 0xff)
    }
    const body = Buffer.from(payload)
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3]
    return Buffer.concat([Buffer.from(header), Buffer.from(mask), body])
  }

  /** The close frame the server sent, if any: code and reason. */
  closeFrame(): CloseInfo | null {
    let b = this.received
    while (b.length >= 2) {
      const opcode = b[0] & 0x0f
      let len = b[1] & 0x7f
      let off = 2
      if (len === 126) { len = b.readUInt16BE(2); off = 4 } else if (len === 127) { len = Number(b.readBigUInt64BE(2)); off = 10 }
      if (b.length < off + len) return null
      if (opcode === 0x8) {
        const code = len >= 2 ? b.readUInt16BE(off) : 1005
        return closeInfo(code, b.subarray(off + 2, off + len).toString())
      }
      b = b.subarray(off + len)
    }
    return null
  }

  waitEnded(ms = 5000): Promise<void> {
    return within(this.ended$, ms, 'the node to end the raw socket')
  }

  destroy(): void {
    this.socket.destroy()
  }
}

// ---------------------------------------------------------------------------------------------
// The shared harness: a live target node, an honest peer, faults and memory.

/** Records unhandled rejections and uncaught exceptions while installed. */
/**
 * Record unhandled rejections and uncaught exceptions for a whole test file, and fail the
 * test (afterEach) and the file (afterAll) that saw one. With `target`, also check after each
 * test that its node's pump never failed, and close it after the file.
 */
export function useFaultRecorder(target?: () => Target | undefined): { faults: unknown[]; uninstall: () => void } {
  const recorder = installFaultRecorder()
  afterEach(() => {
    expect(recorder.faults).toEqual([])
    const t = target?.()
    if (t) expect(t.node.pumpError).toBeNull()
  })
  afterAll(async () => {
    await target?.()?.close()
    recorder.uninstall()
    expect(recorder.faults).toEqual([])
  })
  return recorder
}

export function installFaultRecorder(): { faults: unknown[]; uninstall: () => void } {
  const faults: unknown[] = []
  const onRejection = (reason: unknown): void => { faults.push(reason) }
  const onException = (error: unknown): void => { faults.push(error) }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return {
    faults,
    uninstall: () => {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
    },
  }
}

let gcFn: (() => void) | null | undefined
/** A full garbage collection (enables --expose-gc at run time if the process was not started with it). */
export function forceGc(): boolean {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: () => void }).gc
    if (typeof g === 'function') gcFn = g
    else {
      try {
        setFlagsFromString('--expose-gc')
        gcFn = runInNewContext('gc') as () => void
      } catch {
        gcFn = null
      }
    }
  }
  if (!gcFn) return false
  for (let i = 0; i < 3; i++) gcFn()
  return true
}

/** Heap in use after a full collection (MiB). */
export async function settledHeapMiB(): Promise<number> {
  await sleep(20)
  forceGc()
  await sleep(20)
  forceGc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

/** The `peer` field of an event, if it has one. */
export function peerOf(event: { type: string }): string | undefined {
  return (event as unknown as { peer?: string }).peer
}

/** A swarm whose events are pumped and recorded, with bounded waits on them. */
export class Driven {
  readonly events: Array<SwarmEvent & { at: number }> = []
  readonly done: Promise<void>
  pumpError: unknown = null
  private waiters = new Set<() => void>()
  /** While set, the consumer does not take events (a user busy in its loop body): the swarm does not advance. */
  private gate: Promise<void> | null = null

  constructor(readonly swarm: Swarm) {
    this.done = (async () => {
      try {
        for await (const event of swarm) {
          this.events.push({ ...event, at: performance.now() } as SwarmEvent & { at: number })
          if (this.events.length > 20_000) this.events.splice(0, 10_000)
          for (const w of this.waiters) w()
          if (this.gate) await this.gate
        }
      } catch (error) {
        this.pumpError = error
      }
    })()
  }

  /** The first event (recorded at or after `since`) matching `pred`, within `ms`. */
  async waitFor(pred: (e: SwarmEvent) => boolean, ms = 5000, since = 0, what = 'an event'): Promise<SwarmEvent> {
    const find = () => this.events.find((e) => e.at >= since && pred(e))
    const found = find()
    if (found) return found
    let wake!: () => void
    const result = new Promise<SwarmEvent>((resolve) => {
      wake = () => {
        const e = find()
        if (e) resolve(e)
      }
      this.waiters.add(wake)
    })
    try {
      return await within(result, ms, `${what} on ${this.swarm.peerId.slice(0, 8)}`)
    } finally {
      this.waiters.delete(wake)
    }
  }

  /** Stop taking events (after the next one) until the returned function is called. */
  stall(): () => void {
    let release!: () => void
    this.gate = new Promise<void>((resolve) => (release = resolve))
    return () => {
      this.gate = null
      release()
    }
  }

  count(pred: (e: SwarmEvent & { at: number }) => boolean): number {
    return this.events.filter(pred).length
  }
}

export interface TargetOptions {
  limits?: SwarmOptions['limits']
  timeouts?: SwarmOptions['timeouts']
  swarmKey?: Uint8Array
  protocols?: SwarmOptions['protocols']
  /** More options of the node under attack (e.g. `crypto: 'noble'`). */
  node?: Partial<SwarmOptions>
  /** Options of the honest peer (same swarmKey by default). */
  honest?: Partial<SwarmOptions>
  pingInterval?: number
}

/**
 * The node under attack and an honest peer connected to it, both pinging every `pingInterval`
 * ms, so `assertHonestAlive` can prove the node kept serving during and after an attack.
 */
export class Target {
  private constructor(readonly node: Driven, readonly honest: Driven, readonly address: string, readonly port: number) {}

  static async start(options: TargetOptions = {}): Promise<Target> {
    const ping = { interval: options.pingInterval ?? 100 }
    const node = new Driven(await createSwarm({
      listen: ['ws://127.0.0.1:0'], ping, limits: options.limits, timeouts: options.timeouts,
      swarmKey: options.swarmKey, protocols: options.protocols, ...options.node,
    }))
    const address = (await node.waitFor((e) => e.type === 'swarm.listening', 5000, 0, 'swarm.listening') as { addresses: string[] }).addresses[0]
    const honest = new Driven(await createSwarm({ ping, swarmKey: options.swarmKey, ...options.honest }))
    const target = new Target(node, honest, address, Number(new URL(address).port))
    honest.swarm.dial(address)
    await honest.waitFor((e) => e.type === 'peer.connected', 5000, 0, 'the honest peer to connect')
    await target.assertHonestAlive()
    return target
  }

  /** Both sides measure a fresh ping RTT to each other within `ms`. */
  async assertHonestAlive(ms = 5000): Promise<void> {
    const since = performance.now()
    const honestId = this.honest.swarm.peerId
    const nodeId = this.node.swarm.peerId
    await Promise.all([
      this.node.waitFor((e) => e.type === 'ping.rtt' && peerOf(e) === honestId, ms, since, 'ping.rtt to the honest peer'),
      this.honest.waitFor((e) => e.type === 'ping.rtt' && peerOf(e) === nodeId, ms, since, 'ping.rtt to the node'),
    ])
    if (!this.node.swarm.isConnected(honestId)) throw new Error('the node lost the honest peer')
  }

  /** The node's `peer.disconnected` reason for `peer`, within `ms`. */
  async disconnectReason(peer: string, ms = 5000): Promise<string> {
    const e = await this.node.waitFor((x) => x.type === 'peer.disconnected' && (x as { peer: string }).peer === peer, ms, 0, `peer.disconnected of ${peer.slice(0, 8)}`)
    return (e as { reason: string }).reason
  }

  /** Close both swarms, bounded. */
  async close(): Promise<void> {
    await within(Promise.all([this.honest.swarm.close(), this.node.swarm.close()]), 10_000, 'closing the swarms')
    await within(Promise.all([this.honest.done, this.node.done]), 5000, 'the event streams to end')
  }
}
