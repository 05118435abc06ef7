/**
 * Address diversity in discovery (machines/discovery/diversity.ts): a lookup's shortlist keeps
 * at most `maxPeersPerIp` candidates of one IP and `maxPeersPerSubnet` of one /24, however many
 * ids one host names; allowlisted and IP-less addresses are not bounded. And every round asks at
 * least one peer that answered before (a routing table peer), when one is left.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { parseAllowlist } from '../../machines/lib/ip.js'
import { commonPrefixLength, keyToPeerId, peerKey } from '../../machines/discovery/kbucket.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'
import { createShortlist, addContacts, takeNext } from '../../machines/discovery/lookup.js'
import { fits, groupOf, type Diversity } from '../../machines/discovery/diversity.js'

const diversity: Diversity = { maxPeersPerIp: 2, maxPeersPerSubnet: 4, allowlist: parseAllowlist(['10.0.0.0/8']) }
const target = new Uint8Array(32)

function contact(n: number, host: string) {
  const key = new Uint8Array(32)
  key[31] = n
  const peer = keyToPeerId(key)
  return { peer, key, addresses: [`ws://${host}:4001/p2p/${peer}`] }
}

describe('diversity', () => {
  it('a lookup keeps two candidates of one IP, four of one /24', () => {
    const oneHost = Array.from({ length: 10 }, (_, i) => contact(i + 1, '203.0.113.7'))
    expect(createShortlist(target, 60, oneHost, diversity).entries.length).toBe(2)
    const oneNet = Array.from({ length: 10 }, (_, i) => contact(i + 1, `203.0.113.${i + 1}`))
    expect(createShortlist(target, 60, oneNet, diversity).entries.length).toBe(4)
    const spread = Array.from({ length: 10 }, (_, i) => contact(i + 1, `198.51.${i}.1`))
    expect(createShortlist(target, 60, spread, diversity).entries.length).toBe(10)
  })

  it('allowlisted and IP-less addresses are not bounded; without bounds nothing is', () => {
    const allowed = Array.from({ length: 10 }, (_, i) => contact(i + 1, '10.1.2.3'))
    expect(createShortlist(target, 60, allowed, diversity).entries.length).toBe(10)
    const named = Array.from({ length: 10 }, (_, i) => contact(i + 1, 'node.example'))
    expect(addContacts(createShortlist(target, 60, [], diversity), named).entries.length).toBe(10)
    const oneHost = Array.from({ length: 10 }, (_, i) => contact(i + 1, '203.0.113.7'))
    expect(createShortlist(target, 60, oneHost).entries.length).toBe(10)
  })

  it('groups: IPv4 address and /24, IPv6 /64 and /48', () => {
    expect(groupOf(['ws://203.0.113.7:1'], diversity)).toEqual({ ip: '203.0.113.7', subnet: '203.0.113.0/24' })
    expect(groupOf(['ws://[2001:db8:1:2::9]:1'], diversity)).toEqual({ ip: '2001:db8:1:2::/64', subnet: '2001:db8:1::/48' })
    const g = groupOf(['ws://203.0.113.7:1'], diversity)
    expect(fits([g, g], g, diversity)).toBe(false)
    expect(fits([g], g, diversity)).toBe(true)
  })
})

describe('peers that answered before', () => {
  it('a round of fake closer contacts still asks one proven peer', () => {
    const fakes = [1, 2, 3].map((n) => contact(n, `198.51.${n}.1`))
    const proven = { ...contact(9, '198.51.9.1'), proven: true }
    const { peers } = takeNext(createShortlist(target, 60, [...fakes, proven], diversity), 3)
    expect(peers).toEqual([fakes[0].peer, fakes[1].peer, proven.peer])
  })

  it('no change when a proven peer is among the closest, or none is left', () => {
    const list = [{ ...contact(1, '198.51.1.1'), proven: true }, contact(2, '198.51.2.1'), contact(3, '198.51.3.1'), contact(4, '198.51.4.1')]
    expect(takeNext(createShortlist(target, 60, list, diversity), 3).peers).toEqual(list.slice(0, 3).map((c) => c.peer))
    const none = [1, 2, 3, 4].map((n) => contact(n, `198.51.${n}.1`))
    expect(takeNext(createShortlist(target, 60, none, diversity), 3).peers).toEqual(none.slice(0, 3).map((c) => c.peer))
  })
})

describe('k-buckets', () => {
  it('a bucket admits two peers of one IP and four of one /24, grouped by the address their connection runs over', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, highWatermark: 64, refreshInterval: 0, diversityAllowlist: [] })
    const self = peerKey(probe.peerId)!
    // peers of one bucket: their keys differ from ours in the first bit
    const peers = Array.from({ length: 200 }, (_, i) => simPeerId(`bucket/${i}`)).filter((p) => commonPrefixLength(self, peerKey(p)!) === 0).slice(0, 8)
    expect(peers).toHaveLength(8)
    const inTable = (ids: string[]) => ids.filter((p) => probe.context.table.byPeer.has(p))
    const hello = (peer: string, host: string) =>
      probe.send({ type: 'message', peer, body: { t: 'hello', addrs: [`ws://${host}:4001/p2p/${peer}`], peers: [] } } as never)
    // three dialed on one IP
    for (const p of peers.slice(0, 3)) probe.send({ type: 'peer.connected', peer: p, direction: 'outbound', address: `ws://203.0.113.7:4001/p2p/${p}` })
    expect(inTable(peers.slice(0, 3))).toHaveLength(2)
    // three more on other IPs of the same /24: the network takes four in all
    for (const [i, p] of peers.slice(3, 6).entries()) probe.send({ type: 'peer.connected', peer: p, direction: 'outbound', address: `ws://203.0.113.${20 + i}:4001/p2p/${p}` })
    expect(inTable(peers.slice(0, 6))).toHaveLength(4)
    // an inbound peer from that /24 claiming an address elsewhere is grouped by its connection
    probe.send({ type: 'peer.connected', peer: peers[6], direction: 'inbound', address: 'ws://203.0.113.99:50000' })
    hello(peers[6], '198.51.100.1')
    expect(inTable([peers[6]])).toEqual([])
    // another network still gets in
    probe.send({ type: 'peer.connected', peer: peers[7], direction: 'outbound', address: `ws://198.51.100.2:4001/p2p/${peers[7]}` })
    expect(inTable([peers[7]])).toEqual([peers[7]])
    probe.stop()
  })
})
