/**
 * Transport compliance suite: what every `Transport` (ws, memory) must do, as one set of tests.
 *
 * Why: the swarm relies on exact transport behaviour (messages in order, `closed` once with the
 * right reason, pause really holding messages), so both implementations are held to the same
 * tests. `runTransportSuite(name, make)` registers them; `make` builds two fresh transports.
 * Every wait has a timeout, so a broken transport fails a test instead of hanging the run.
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Conn, ConnHandler, Listener, Transport } from '../../src/transport/transport.js'

/** Two transports to test against each other. */
export interface TransportPair {
  a: Transport
  b: Transport
  /** Where `a` listens (port or name 0 picks a fresh one). */
  listenAddress: string
  /** The maxMessageBytes both transports were made with (kept small, e.g. 64 KiB). */
  maxMessageBytes: number
  /** End `conn` (of transport `side`) abruptly, as a crash of that side: no close handshake. */
  crash(side: 'a' | 'b', conn: Conn): void
  cleanup(): Promise<void>
}

/** Wait until `pred()` holds, checking every 5 ms; fail after `ms`. */
export function waitUntil(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const check = (): void => {
      if (pred()) return resolve()
      if (Date.now() - started > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
      setTimeout(check, 5)
    }
    check()
  })
}

/** Let the transport run for `ms` (to check that something does NOT happen). */
export const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Records what a connection reports. */
export class Recorder implements ConnHandler {
  readonly messages: Uint8Array[] = []
  readonly closes: Array<[reason: string, byRemote: boolean]> = []
  onData: ((bytes: Uint8Array, index: number) => void) | null = null
  data(bytes: Uint8Array): void {
    if (this.closes.length > 0) throw new Error('data after closed')
    this.messages.push(bytes)
    this.onData?.(bytes, this.messages.length - 1)
  }
  closed(reason: string, byRemote: boolean): void {
    this.closes.push([reason, byRemote])
  }
  get isClosed(): boolean {
    return this.closes.length > 0
  }
}

/** A message carrying its index (4 bytes, big-endian) and `size - 4` bytes derived from it. */
export function numbered(index: number, size = 16): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, 4))
  new DataView(bytes.buffer).setUint32(0, index)
  for (let i = 4; i < bytes.length; i++) bytes[i] = (index * 31 + i * 7) & 0xff
  return bytes
}

export const indexOf = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0)

/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandom(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed | 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** An open connection: `a` accepted `server`, `b` dialed `client`; both have recorders attached. */
export interface Connected {
  listener: Listener
  server: Conn
  client: Conn
  atServer: Recorder
  atClient: Recorder
}

export async function connect(pair: TransportPair, atServer = new Recorder(), atClient = new Recorder()): Promise<Connected> {
  let server: Conn | null = null
  const listener = await pair.a.listen(pair.listenAddress, (conn) => {
    conn.attach(atServer)
    server = conn
  })
  const client = await pair.b.dial(listener.addresses[0])
  client.attach(atClient)
  await waitUntil(() => server !== null, 'the inbound connection')
  return { listener, server: server as unknown as Conn, client, atServer, atClient }
}

const expectInOrder = (messages: Uint8Array[], count: number, size: number): void => {
  expect(messages.length).toBe(count)
  messages.forEach((m, i) => expect(Buffer.from(m).equals(Buffer.from(numbered(i, size)))).toBe(true))
}

export function runTransportSuite(name: string, makeTransports: () => TransportPair): void {
  describe(`transport compliance: ${name}`, () => {
    let pair: TransportPair
    beforeEach(() => {
      pair = makeTransports()
    })
    afterEach(async () => {
      await pair.cleanup()
    })

    it('listens and dials; both ends get an open connection', async () => {
      const c = await connect(pair)
      expect(c.listener.addresses.length).toBeGreaterThan(0)
      expect(pair.b.handles(c.listener.addresses[0])).toBe(true)
      expect(c.listener.addresses[0]).not.toMatch(/:0$/)
      expect(typeof c.server.remoteAddr).toBe('string')
      expect(c.client.remoteAddr).toBe(c.listener.addresses[0])
    })

    it('delivers what the acceptor sends at once, before the dialer has attached', async () => {
      const listener = await pair.a.listen(pair.listenAddress, (conn) => {
        conn.attach(new Recorder())
        for (let i = 0; i < 3; i++) conn.send(numbered(i))
        conn.close('hello and bye')
      })
      const client = await pair.b.dial(listener.addresses[0])
      await settle(20)
      const rec = new Recorder()
      client.attach(rec)
      await waitUntil(() => rec.isClosed, 'client closed')
      expectInOrder(rec.messages, 3, 16)
      expect(rec.closes).toEqual([['hello and bye', true]])
    })

    it('delivers 1000 messages each way in order', async () => {
      const c = await connect(pair)
      for (let i = 0; i < 1000; i++) {
        c.client.send(numbered(i, 64))
        c.server.send(numbered(i, 64))
      }
      await waitUntil(() => c.atServer.messages.length >= 1000 && c.atClient.messages.length >= 1000, '1000 messages')
      expectInOrder(c.atServer.messages, 1000, 64)
      expectInOrder(c.atClient.messages, 1000, 64)
    })

    it('keeps binary content intact at every size class up to the limit', async () => {
      const c = await connect(pair)
      const sizes = [0, 1, 125, 126, 127, 65535, 65536, pair.maxMessageBytes - 1, pair.maxMessageBytes]
      const sent = sizes.map((size, i) => pseudoRandom(size, i + 1))
      for (const bytes of sent) c.client.send(bytes)
      for (const bytes of sent) c.server.send(bytes)
      await waitUntil(() => c.atServer.messages.length === sizes.length && c.atClient.messages.length === sizes.length, 'all sizes')
      for (const rec of [c.atServer, c.atClient])
        rec.messages.forEach((m, i) => {
          expect(m).toBeInstanceOf(Uint8Array)
          expect(Buffer.from(m).equals(Buffer.from(sent[i]))).toBe(true)
        })
      expect(c.atServer.isClosed || c.atClient.isClosed).toBe(false)
    })

    it('sendParts (where the transport has it) delivers one message of the parts joined, in order with send', async () => {
      const c = await connect(pair)
      if (c.client.sendParts === undefined || c.server.sendParts === undefined) return
      // Each frame header length (ws: payload < 126, < 65536, and 65536 itself), an empty part,
      // and a last part of 16 bytes, as a large encrypted frame is sent (ciphertext, then tag).
      const shapes = [[0], [100, 16], [0, 125, 0, 1], [40_000, 16], [pair.maxMessageBytes - 16, 16]]
      const messages = shapes.map((sizes, i) => sizes.map((size, j) => pseudoRandom(size, 10 * i + j + 1)))
      for (const side of [c.client, c.server]) {
        messages.forEach((parts, i) => {
          side.send(numbered(i))
          side.sendParts!(parts)
        })
      }
      const expected = messages.flatMap((parts, i) => [Buffer.from(numbered(i)), Buffer.concat(parts)])
      await waitUntil(() => c.atServer.messages.length === expected.length && c.atClient.messages.length === expected.length, 'all messages')
      for (const rec of [c.atServer, c.atClient]) rec.messages.forEach((m, i) => expect(Buffer.from(m).equals(expected[i])).toBe(true))
      expect(c.atServer.isClosed || c.atClient.isClosed).toBe(false)
    })

    it('closes with a reason the other side reads', async () => {
      const c = await connect(pair)
      c.client.close('bye: shutting down')
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      expect(c.atServer.closes).toEqual([['bye: shutting down', true]])
      expect(c.atClient.closes).toEqual([['bye: shutting down', false]])
    })

    it('truncates a long reason to 120 bytes of UTF-8 without splitting a character', async () => {
      const c = await connect(pair)
      c.server.close('é'.repeat(100)) // 200 bytes
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      expect(c.atClient.closes).toEqual([['é'.repeat(60), true]])
    })

    it("reports an empty remote reason as 'closed-by-remote'", async () => {
      const c = await connect(pair)
      c.server.close('')
      await waitUntil(() => c.atClient.isClosed, 'client closed')
      expect(c.atClient.closes).toEqual([['closed-by-remote', true]])
    })

    it('calls closed exactly once on both sides, even when both close at once and twice', async () => {
      const c = await connect(pair)
      c.client.close('one')
      c.server.close('two')
      c.client.close('again')
      c.client.send(numbered(1)) // no-op, no throw
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      await settle(50)
      expect(c.atServer.closes.length).toBe(1)
      expect(c.atClient.closes.length).toBe(1)
      c.server.send(numbered(2))
      c.server.close('after')
      await settle(20)
      expect(c.atServer.closes.length).toBe(1)
    })

    it("rejects a dial nobody listens on with 'connection-refused'", async () => {
      const listener = await pair.a.listen(pair.listenAddress, () => {})
      const address = listener.addresses[0]
      await listener.close()
      await expect(pair.b.dial(address)).rejects.toThrow(/^connection-refused$/)
    })

    it("closes with 'frame-too-large' on the receiving side when a message exceeds the limit", async () => {
      const c = await connect(pair)
      c.client.send(pseudoRandom(pair.maxMessageBytes, 7)) // exactly the limit: fine
      c.client.send(pseudoRandom(pair.maxMessageBytes + 1, 8))
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      expect(c.atServer.messages.length).toBe(1)
      expect(c.atServer.closes).toEqual([['frame-too-large', false]])
      expect(c.atClient.closes).toEqual([['frame-too-large', true]])
    })

    it('pause holds messages; resume delivers all of them in order', async () => {
      const c = await connect(pair)
      c.server.pause()
      for (let i = 0; i < 100; i++) c.client.send(numbered(i))
      await settle(100)
      expect(c.atServer.messages.length).toBe(0)
      c.server.resume()
      await waitUntil(() => c.atServer.messages.length === 100, '100 messages after resume')
      expectInOrder(c.atServer.messages, 100, 16)
    })

    it('pause from inside data stops delivery at once', async () => {
      const c = await connect(pair)
      c.atServer.onData = (_bytes, i) => {
        if (i === 9) c.server.pause()
      }
      for (let i = 0; i < 100; i++) c.client.send(numbered(i))
      await settle(100)
      expect(c.atServer.messages.length).toBe(10)
      c.atServer.onData = null
      c.server.resume()
      c.server.resume() // idempotent
      await waitUntil(() => c.atServer.messages.length === 100, '100 messages')
      expectInOrder(c.atServer.messages, 100, 16)
    })

    it('reports closed after the messages held by a pause', async () => {
      const c = await connect(pair)
      c.server.pause()
      for (let i = 0; i < 20; i++) c.client.send(numbered(i))
      c.client.close('done')
      await settle(100)
      expect(c.atServer.messages.length).toBe(0)
      c.server.resume()
      await waitUntil(() => c.atServer.isClosed, 'server closed')
      expectInOrder(c.atServer.messages, 20, 16)
      expect(c.atServer.closes).toEqual([['done', true]])
    })

    it('loses no message sent before a close, in either direction', async () => {
      const c = await connect(pair)
      for (let i = 0; i < 500; i++) c.client.send(numbered(i, 256))
      c.client.close('done')
      // The server has not seen the close yet: what it sends now must still reach the client.
      for (let i = 0; i < 200; i++) c.server.send(numbered(i, 256))
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      expectInOrder(c.atServer.messages, 500, 256)
      expect(c.atServer.closes).toEqual([['done', true]])
      expectInOrder(c.atClient.messages, 200, 256)
      expect(c.atClient.closes).toEqual([['done', false]])
    })

    it("reports 'connection-lost' at the far end of an abrupt end", async () => {
      const c = await connect(pair)
      pair.crash('b', c.client)
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      expect(c.atServer.closes).toEqual([['connection-lost', true]])
      await settle(20)
      expect(c.atClient.closes.length).toBe(1)
    })

    it('bufferedAmount falls back to 0 once everything is delivered', async () => {
      const c = await connect(pair)
      for (let i = 0; i < 50; i++) c.client.send(numbered(i, 1000))
      expect(c.client.bufferedAmount).toBeGreaterThanOrEqual(0)
      await waitUntil(() => c.atServer.messages.length === 50, '50 messages')
      await waitUntil(() => c.client.bufferedAmount === 0, 'bufferedAmount 0')
    })

    it('transport.close closes its listeners and connections', async () => {
      const c = await connect(pair)
      const address = c.listener.addresses[0]
      await pair.a.close()
      await waitUntil(() => c.atServer.isClosed && c.atClient.isClosed, 'both closed')
      expect(c.atClient.closes).toEqual([['transport-closed', true]])
      await expect(pair.b.dial(address)).rejects.toThrow(/^connection-refused$/)
    })

    it('a closed listener leaves open connections alone', async () => {
      const c = await connect(pair)
      await c.listener.close()
      c.client.send(numbered(0))
      await waitUntil(() => c.atServer.messages.length === 1, 'one message')
      expect(c.atServer.isClosed).toBe(false)
    })
  })
}
