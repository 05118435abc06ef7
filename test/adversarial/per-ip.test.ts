/**
 * Limits per source against a live node (issue 14, items 2 and 3), attackers on 127.0.0.2 ...
 * 127.0.0.9 (eight IPv4 hosts on loopback; the node's allowlist is emptied so loopback counts):
 * one address cannot take more than its share of connections, pending slots or connection
 * rate; the reserved slots stay open to the node's own dials and to allowlisted sources; and
 * while eight sources keep every pending slot busy with silent upgrades, honest newcomers get
 * in every time (the oldest silent pending connection is shed). The honest witness keeps full
 * pubsub delivery throughout.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '../../machines/lib/limits.js'
import { RawPeer, Target, rawIdentity, sleep, useFaultRecorder, type CloseInfo } from '../helpers/raw-peer.js'
import { SOURCES, Witness, tally } from '../helpers/attack.js'

let target: Target | undefined
useFaultRecorder(() => target)

/** Open a WebSocket from `source` and complete the handshake; resolves with how it ended up. */
async function authenticated(t: Target, source: string): Promise<{ peer: RawPeer; id: string; connected: boolean }> {
  const peer = await RawPeer.connect(t.address, 5000, source)
  const identity = rawIdentity()
  const since = performance.now()
  await peer.handshake({ identity }).catch(() => undefined)
  const connected = await t.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 2000, since)
    .then(() => true, () => false)
  return { peer, id: identity.peerId, connected }
}

describe('one address', () => {
  beforeAll(async () => {
    target = await Target.start({ node: { allowlist: [] } })
  })
  afterAll(async () => {
    await target?.close()
    target = undefined
  })

  it('150 silent connections at full speed from one address: 4 held pending, the rest refused with a per-IP reason', async () => {
    const t = target!
    const witness = await Witness.start(t)
    const opened = await Promise.allSettled(Array.from({ length: 150 }, () => RawPeer.connect(t.address, 5000, SOURCES[0])))
    const peers = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const ends = await Promise.all(peers.map((p) => p.waitClosed(1500).then((c: CloseInfo) => c.readable, () => 'held')))
    const { sent, delivered } = await witness.stop()
    console.log(`150 from one address: ${JSON.stringify(tally(ends))}; witness ${delivered}/${sent}`)
    expect(peers.length).toBe(150)
    const got = tally(ends)
    expect(got.held).toBe(DEFAULT_LIMITS.maxPendingPerIp)
    expect((got['too-many-pending-connections-per-ip'] ?? 0) + (got['connection-rate-limit'] ?? 0)).toBe(150 - DEFAULT_LIMITS.maxPendingPerIp)
    expect(got['connection-rate-limit']).toBeGreaterThan(100) // the burst is 16
    expect(delivered).toBe(sent)
    for (const p of peers) p.terminate()
  }, 30_000)

  it('authenticated peers from one address: 8 connected, the 9th refused with too-many-connections-per-ip', async () => {
    const t = target!
    const results = []
    for (let i = 0; i < 10; i++) results.push(await authenticated(t, SOURCES[1]))
    const connected = results.filter((r) => r.connected).length
    const refusals = await Promise.all(results.filter((r) => !r.connected).map((r) => r.peer.waitClosed(2000).then((c) => c.readable, () => 'held')))
    console.log(`10 peers from one address: ${connected} connected, refused ${JSON.stringify(tally(refusals))}`)
    expect(connected).toBe(DEFAULT_LIMITS.maxConnectionsPerIp)
    expect(tally(refusals)).toEqual({ 'too-many-connections-per-ip': 10 - DEFAULT_LIMITS.maxConnectionsPerIp })
    // Another address is not affected.
    const other = await authenticated(t, SOURCES[2])
    expect(other.connected).toBe(true)
    for (const r of [...results, other]) r.peer.terminate()
    await t.assertHonestAlive()
  }, 30_000)
})

describe('reserved slots', () => {
  const MAX = 40 // reserved: min(16, 40 / 4) = 10, so 30 inbound slots for sources not allowlisted
  let dialTarget: Target | undefined
  beforeAll(async () => {
    target = await Target.start({ limits: { maxConnections: MAX }, node: { allowlist: [SOURCES[7]] } })
    dialTarget = await Target.start({})
  })
  afterAll(async () => {
    await dialTarget?.close()
    await target?.close()
    target = undefined
  })

  it('when sources fill the unreserved slots, the node still dials out and an allowlisted source still gets in', async () => {
    const t = target!
    // 1 honest connection (127.0.0.1) + 29 from seven sources (at most 8 each) = 30 slots.
    const fillers = []
    for (let i = 0; i < 29; i++) fillers.push(await authenticated(t, SOURCES[i % 7]))
    expect(fillers.filter((f) => !f.connected).length).toBe(0)
    const refused = await authenticated(t, SOURCES[6])
    expect(refused.connected).toBe(false)
    expect((await refused.peer.waitClosed(2000)).readable).toBe('too-many-connections')
    const since = performance.now()
    t.node.swarm.dial(dialTarget!.address)
    await t.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === dialTarget!.node.swarm.peerId, 3000, since, 'the outbound dial')
    const allowed = await authenticated(t, SOURCES[7])
    expect(allowed.connected).toBe(true)
    for (const f of [...fillers, refused, allowed]) f.peer.terminate()
  }, 30_000)
})

describe('pending slots held by silent upgrades', () => {
  const PENDING = 16 // eight sources x 4 pending each = 32 > 16: the global pending limit is hit
  beforeAll(async () => {
    target = await Target.start({
      limits: { maxPendingConnections: PENDING },
      node: { allowlist: ['127.0.0.1'] }, // the newcomers' host: not rate-limited, but pending like anyone
    })
  })
  afterAll(async () => {
    await target?.close()
    target = undefined
  })

  it('while eight sources keep opening silent WebSockets, 20 of 20 honest newcomers get in', async () => {
    const t = target!
    const witness = await Witness.start(t)
    let attacking = true
    let opened = 0
    const held: RawPeer[] = []
    // Each source opens silent WebSockets one after the other, as soon as the last one opened
    // (about 250 a second in all), and keeps every one the node does not close.
    const attackers = SOURCES.map(async (source) => {
      while (attacking && opened < 3000) {
        const p = await RawPeer.connect(t.address, 3000, source).catch(() => null)
        if (p === null) continue
        opened++
        held.push(p)
        await sleep(30)
      }
    })
    await sleep(300) // the pending slots are full by now
    let admitted = 0
    for (let i = 0; i < 20; i++) {
      const newcomer = await authenticated(t, '127.0.0.1')
      if (newcomer.connected) admitted++
      newcomer.peer.terminate()
    }
    attacking = false
    await Promise.all(attackers)
    const { sent, delivered } = await witness.stop()
    const reasons = await Promise.all(held.map((p) => p.waitClosed(50).then((c) => c.readable, () => 'held')))
    console.log(`silent upgrades: ${opened} opened by the attackers (${JSON.stringify(tally(reasons))}); newcomers admitted ${admitted}/20; witness ${delivered}/${sent}`)
    for (const p of held) p.terminate()
    expect(admitted).toBe(20)
    expect(delivered).toBe(sent)
  }, 60_000)
})
