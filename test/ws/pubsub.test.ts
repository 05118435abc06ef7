/**
 * Pubsub between real swarms over WebSockets on 127.0.0.1: a line a — b — c, so c only gets
 * a's messages through b's mesh forwarding. Exercises the whole path: facade command, root
 * routing, the codec (msgpack bodies through parseRpc), Noise, and the validator round trip.
 */
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupSwarms, connect, createTestSwarm, drive, eventsOf } from '../helpers/swarm-test.js'
import { pubsubProtocol } from '../../machines/pubsub/pubsub.machine.js'
import type { Swarm } from '../../src/swarm.js'

afterEach(() => cleanupSwarms())

type Ev = { type: string; [key: string]: any }
const events = (s: Swarm, type: string): Ev[] => (eventsOf(s) as Ev[]).filter((e) => e.type === type)

async function line(validate?: (args: { data: Uint8Array }) => 'accept' | 'reject' | 'ignore'): Promise<Swarm[]> {
  const swarms = await Promise.all([0, 1, 2].map(() => createTestSwarm({
    discovery: false,
    protocols: [pubsubProtocol(validate ? { validate, heartbeatInterval: 200 } : { heartbeatInterval: 200 })],
  })))
  await connect(swarms[0], swarms[1])
  await connect(swarms[1], swarms[2])
  for (const s of swarms) s.subscribe('chat')
  // Each sees its neighbours' subscriptions and a heartbeat builds the meshes.
  await drive(swarms, () => events(swarms[1], 'pubsub.peer.subscribed').length >= 2
    && events(swarms[0], 'pubsub.peer.subscribed').length >= 1 && events(swarms[2], 'pubsub.peer.subscribed').length >= 1,
  { what: 'subscriptions seen' })
  return swarms
}

describe('pubsub over WebSockets', () => {
  it('delivers a message across a line of three swarms, once each', async () => {
    const [a, b, c] = await line()
    const data = new TextEncoder().encode('hello over ws')
    a.publish('chat', data)
    await drive([a, b, c], () => events(c, 'pubsub.message').length === 1, { what: 'c receives' })
    await drive([a, b, c], () => events(b, 'pubsub.message').length === 1, { what: 'b receives' })
    // A second message: once it has reached both, a late duplicate of the first would have too.
    a.publish('chat', new TextEncoder().encode('marker'))
    await drive([a, b, c], () => events(c, 'pubsub.message').length === 2 && events(b, 'pubsub.message').length === 2, { what: 'the marker' })
    for (const s of [b, c]) expect(events(s, 'pubsub.message').map((e) => new TextDecoder().decode(e.data))).toEqual(['hello over ws', 'marker'])
    const [got] = events(c, 'pubsub.message')
    expect(got.topic).toBe('chat')
    expect(got.from).toBe(a.peerId)
    expect(new TextDecoder().decode(got.data)).toBe('hello over ws')
    expect(events(a, 'pubsub.published')[0]).toMatchObject({ topic: 'chat', id: got.id })
    expect(events(a, 'pubsub.message')).toHaveLength(0)
  })

  it('large messages arrive intact and stay intact while later frames arrive (large frames sent as ciphertext and tag apart)', async () => {
    const [a, b, c] = await line()
    // Large frames go out as ciphertext and tag apart (written by hand after a ws header);
    // published in one turn, several share a socket read.
    const sizes = [9_000, 20_000, 100, 65_536, 12_000, 200_000, 8_192, 300]
    const sent = sizes.map((size, i) => Uint8Array.from({ length: size }, (_, j) => (i * 131 + j * 7 + (j >> 8)) & 0xff))
    for (const data of sent) a.publish('chat', data)
    await drive([a, b, c], () => events(c, 'pubsub.message').length === sizes.length && events(b, 'pubsub.message').length === sizes.length, {
      what: 'all sizes at b and c',
    })
    // More frames after the first ones were delivered: what was delivered (and what the message
    // cache keeps, asked for again below) must not change.
    for (const data of sent.slice(0, 3)) a.publish('chat', data.slice().reverse())
    await drive([a, b, c], () => events(c, 'pubsub.message').length === sizes.length + 3, { what: 'the later ones' })
    // (Order is not promised: a small message may overtake a large one that is pulled.)
    const digest = (d: Uint8Array): string => `${d.length}:${createHash('sha256').update(d).digest('hex')}`
    const expected = [...sent, ...sent.slice(0, 3).map((d) => d.slice().reverse())].map(digest).sort()
    for (const s of [b, c]) expect(events(s, 'pubsub.message').map((e) => digest(e.data as Uint8Array)).sort()).toEqual(expected)
  })

  it('runs the validator through the shell and drops rejected messages', async () => {
    const [a, b, c] = await line(({ data }) => (data[0] === 0 ? 'reject' : 'accept'))
    a.publish('chat', new Uint8Array([0, 1]))
    a.publish('chat', new Uint8Array([1, 1]))
    await drive([a, b, c], () => events(c, 'pubsub.message').length === 1, { what: 'c receives the accepted one' })
    expect(events(c, 'pubsub.message')[0].data[0]).toBe(1)
    expect(events(b, 'pubsub.message')).toHaveLength(1)
  })

  it('fails a publish with no subscribed peer, and one over the size limit', async () => {
    const solo = await createTestSwarm({ discovery: false, protocols: [pubsubProtocol({ maxMessageSize: 64 })] })
    solo.publish('nobody', new Uint8Array(4))
    solo.publish('nobody', new Uint8Array(65))
    await drive([solo], () => events(solo, 'pubsub.publish.failed').length === 2, { what: 'two failures' })
    expect(events(solo, 'pubsub.publish.failed').map((e) => e.reason)).toEqual(['no-peers', 'too-large'])
  })
})
