/**
 * The swarm facade's promises to its user, over real WebSockets (issue 8 items 4 and 5):
 * the addresses are known as soon as `createSwarm` resolves, and a swarm has one reader.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createSwarm } from '../../src/create-swarm.js'
import { XswarmError } from '../../src/errors.js'
import type { AnySwarmEvent } from '../../src/swarm.js'
import { connect, createTestSwarm, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

describe('ws: addresses', () => {
  it('are known when createSwarm resolves; swarm.listening is still the first event, with the same addresses', async () => {
    const swarm = await createSwarm({ listen: ['ws://127.0.0.1:0', 'ws://127.0.0.1:0'], discovery: false })
    try {
      expect(swarm.addresses).toHaveLength(2)
      for (const address of swarm.addresses) expect(address).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/p2p/${swarm.peerId}$`))
      const first = await swarm.next()
      expect(first).toEqual({ type: 'swarm.listening', addresses: swarm.addresses })
    } finally {
      await swarm.close()
    }
  })
})

describe('ws: one reader', () => {
  it('a second concurrent for-await loop gets a clear error at once; the first keeps every event', async () => {
    const a = await createTestSwarm({ ping: { interval: 50 } })
    const b = await createTestSwarm({ ping: { interval: 50 } })
    await connect(a, b)
    const first: AnySwarmEvent[] = []
    const reading = (async () => {
      for await (const event of a) {
        first.push(event)
        if (event.type === 'ping.rtt' && first.filter((e) => e.type === 'ping.rtt').length >= 3) break
      }
    })()
    let error: unknown
    try {
      for await (const event of a) throw new Error(`the second reader got ${event.type}`)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(XswarmError)
    expect((error as XswarmError).code).toBe('reader-busy')
    expect(String((error as Error).message)).toMatch(/one reader/)
    // B must answer pings for A's reader to see them: drive B meanwhile.
    const drivingB = (async () => {
      for await (const event of b) if (event.type === 'swarm.closed') break
    })()
    await reading
    expect(first.filter((e) => e.type === 'ping.rtt').length).toBe(3)
    // Once the first loop has ended, a new reader may take over.
    const next = await a.next()
    expect(next).toBeDefined()
    await b.close()
    await drivingB
  })

  it('a next() while another next() is waiting is refused at once', async () => {
    const a = await createTestSwarm({ ping: false })
    const waiting = a.next()
    await expect(a.next()).rejects.toMatchObject({ code: 'reader-busy' })
    expect(() => a.take()).toThrow(/one reader/)
    void a.close()
    expect(await waiting).toMatchObject({ type: 'swarm.closed' })
  })

  it("an iterator's next() refused as reader-busy rejects its promise, never throws", async () => {
    const a = await createTestSwarm({ ping: false })
    const waiting = a.next()
    const iterator = a[Symbol.asyncIterator]()
    let refused: Promise<unknown> | undefined
    expect(() => { refused = iterator.next() }).not.toThrow()
    await expect(refused).rejects.toMatchObject({ code: 'reader-busy' })
    void a.close()
    expect(await waiting).toMatchObject({ type: 'swarm.closed' })
  })
})
