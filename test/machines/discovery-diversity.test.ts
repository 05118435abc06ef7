/**
 * Address diversity in discovery (machines/discovery/diversity.ts): a lookup's shortlist keeps
 * at most `maxPeersPerIp` candidates of one IP and `maxPeersPerSubnet` of one /24, however many
 * ids one host names; allowlisted and IP-less addresses are not bounded.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { parseAllowlist } from '../../machines/lib/ip.js'
import { keyToPeerId } from '../../machines/discovery/kbucket.js'
import { createShortlist, addContacts } from '../../machines/discovery/lookup.js'
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
