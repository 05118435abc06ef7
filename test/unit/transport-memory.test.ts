/**
 * Tests of src/transport/memory.ts: the compliance suite, then what only the simulated network
 * has — deterministic names, every delivery a scheduled task in FIFO order (same inputs, same
 * log), faults (`disconnect`, `kill`), bufferedAmount counting undelivered bytes.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createMemoryNetwork } from '../../src/transport/memory.js'
import { truncateReason, type Conn } from '../../src/transport/transport.js'
import { Recorder, numbered, runTransportSuite, waitUntil } from '../helpers/transport-suite.js'

const LIMIT = 64 * 1024

runTransportSuite('memory', () => {
  const network = createMemoryNetwork({ maxMessageBytes: LIMIT })
  const a = network.transport()
  const b = network.transport()
  return {
    a,
    b,
    listenAddress: 'memory://0',
    maxMessageBytes: LIMIT,
    crash: (side) => network.kill(side === 'a' ? a : b),
    cleanup: async () => {
      await Promise.all([a.close(), b.close()])
    },
  }
})

/** A scheduler the test drives by hand: tasks wait in FIFO order until `run`. */
function manualScheduler(): { schedule: (task: () => void) => void; run: (max?: number) => number; readonly size: number } {
  const tasks: Array<() => void> = []
  return {
    schedule: (task) => void tasks.push(task),
    run(max = 100_000) {
      let n = 0
      while (tasks.length > 0 && n < max) {
        ;(tasks.shift() as () => void)()
        n++
      }
      return n
    },
    get size() {
      return tasks.length
    },
  }
}

/** Run the scheduler and let promise continuations (dial results) happen, until quiet. */
async function drain(s: ReturnType<typeof manualScheduler>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    s.run()
    await new Promise((resolve) => setImmediate(resolve))
    if (s.size === 0) return
  }
  throw new Error('network did not go quiet')
}

describe('memory transport specifics', () => {
  it('truncateReason (shared by both transports) keeps whole characters', () => {
    expect(truncateReason('a'.repeat(130))).toBe('a'.repeat(120))
    expect(truncateReason('a'.repeat(118) + '😀')).toBe('a'.repeat(118)) // 4 bytes would make 122
    expect(truncateReason('a'.repeat(116) + '😀')).toBe('a'.repeat(116) + '😀')
    expect(truncateReason('ok')).toBe('ok')
  })

  it('hands out deterministic names in listen order and refuses a taken name', async () => {
    const network = createMemoryNetwork()
    const t = network.transport()
    const l1 = await t.listen('memory://0', () => {})
    const l2 = await t.listen('memory://', () => {})
    const named = await t.listen('memory://3', () => {})
    const l4 = await t.listen('memory://0', () => {})
    expect([l1, l2, named, l4].map((l) => l.addresses[0])).toEqual(['memory://1', 'memory://2', 'memory://3', 'memory://4'])
    await expect(t.listen('memory://2', () => {})).rejects.toThrow(/^address-in-use$/)
    expect(t.handles('memory://x')).toBe(true)
    expect(t.handles('ws://127.0.0.1:1')).toBe(false)
  })

  it('delivers nothing until the scheduler runs, then everything in FIFO order', async () => {
    const s = manualScheduler()
    const network = createMemoryNetwork({ schedule: s.schedule })
    const [a, b] = [network.transport(), network.transport()]
    const atServer = new Recorder()
    let server: Conn | null = null
    await a.listen('memory://0', (conn) => {
      conn.attach(atServer)
      server = conn
    })
    const dialing = b.dial('memory://1')
    expect(server).toBeNull() // the open is a task too
    s.run()
    const client = await dialing
    client.attach(new Recorder())
    for (let i = 0; i < 5; i++) client.send(numbered(i))
    expect(atServer.messages.length).toBe(0)
    expect(client.bufferedAmount).toBe(5 * 16)
    expect(s.run(2)).toBe(2)
    expect(atServer.messages.length).toBe(2)
    expect(client.bufferedAmount).toBe(3 * 16)
    s.run()
    expect(atServer.messages.map((m) => m[3])).toEqual([0, 1, 2, 3, 4])
    expect(client.bufferedAmount).toBe(0)
  })

  it('replays the same event log for the same inputs', async () => {
    async function scenario(): Promise<string[]> {
      const log: string[] = []
      const s = manualScheduler()
      const network = createMemoryNetwork({ schedule: s.schedule, maxMessageBytes: 100 })
      const ts = [network.transport(), network.transport(), network.transport()]
      const conns: Conn[] = []
      const handler = (tag: string) => ({
        data: (bytes: Uint8Array) => log.push(`${tag} data ${bytes.length}:${bytes[3]}`),
        closed: (reason: string, byRemote: boolean) => log.push(`${tag} closed ${reason} ${byRemote}`),
      })
      await ts[0].listen('memory://0', (conn) => {
        conn.attach(handler(`0<-${conn.remoteAddr}`))
        conns.push(conn)
      })
      const dials = [ts[1].dial('memory://1'), ts[2].dial('memory://1')]
      await drain(s)
      const clients = await Promise.all(dials)
      clients.forEach((c, i) => c.attach(handler(`${i + 1}->0`)))
      for (let i = 0; i < 4; i++) for (const c of [...clients, ...conns]) c.send(numbered(i, 10 + i))
      clients[0].send(new Uint8Array(101)) // too large: closes that conn
      conns[1].close('bye')
      await drain(s)
      return log
    }
    const first = await scenario()
    expect(first.length).toBe(20) // 16 messages, 4 closes
    expect(first).toContain('0<-memory://t2-1 closed frame-too-large false')
    expect(first).toContain('1->0 closed frame-too-large true')
    expect(first).toContain('2->0 closed bye true')
    expect(await scenario()).toEqual(first)
  })

  it("disconnect(name) ends that listener's conns with 'connection-lost' at both ends", async () => {
    const network = createMemoryNetwork()
    const [a, b, c] = [network.transport(), network.transport(), network.transport()]
    const inbound: Recorder[] = []
    await a.listen('memory://hub', (conn) => {
      const rec = new Recorder()
      conn.attach(rec)
      inbound.push(rec)
    })
    await c.listen('memory://other', (conn) => conn.attach(new Recorder()))
    const r1 = new Recorder()
    const r2 = new Recorder()
    ;(await b.dial('memory://hub')).attach(r1)
    ;(await b.dial('memory://other')).attach(r2)
    network.disconnect('memory://hub')
    await waitUntil(() => r1.isClosed && inbound[0].isClosed, 'hub conn closed')
    expect(r1.closes).toEqual([['connection-lost', true]])
    expect(inbound[0].closes).toEqual([['connection-lost', true]])
    expect(r2.isClosed).toBe(false)
    // The listener still accepts: a reconnect works.
    ;(await b.dial('memory://hub')).attach(new Recorder())
  })

  it('kill(transport) crashes it: far ends lose their conns, its names vanish, it refuses new work', async () => {
    const network = createMemoryNetwork()
    const [a, b] = [network.transport(), network.transport()]
    const atServer = new Recorder()
    const listener = await a.listen('memory://0', (conn) => conn.attach(atServer))
    const client = await b.dial(listener.addresses[0])
    const atClient = new Recorder()
    client.attach(atClient)
    client.send(numbered(0)) // in flight towards the dying side: dropped with it
    network.kill(a)
    await waitUntil(() => atServer.isClosed && atClient.isClosed, 'both closed')
    expect(atClient.closes).toEqual([['connection-lost', true]])
    expect(atServer.messages.length).toBe(0)
    await expect(b.dial(listener.addresses[0])).rejects.toThrow(/^connection-refused$/)
    await expect(a.dial('memory://1')).rejects.toThrow(/^transport-closed$/)
    expect(() => network.kill(createMemoryNetwork().transport())).toThrow(TypeError)
  })

  it("a paused end gets messages in order after resume, even across another pause", async () => {
    const s = manualScheduler()
    const network = createMemoryNetwork({ schedule: s.schedule })
    const [a, b] = [network.transport(), network.transport()]
    const atServer = new Recorder()
    let server: Conn | null = null
    await a.listen('memory://0', (conn) => {
      conn.attach(atServer)
      server = conn
    })
    const dialing = b.dial('memory://1')
    await drain(s)
    const client = await dialing
    client.attach(new Recorder())
    const srv = server as unknown as Conn
    srv.pause()
    for (let i = 0; i < 10; i++) client.send(numbered(i))
    s.run()
    expect(atServer.messages.length).toBe(0)
    srv.resume()
    s.run(3)
    srv.pause()
    s.run()
    expect(atServer.messages.length).toBe(3)
    srv.resume()
    s.run()
    expect(atServer.messages.map((m) => m[3])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })
})
