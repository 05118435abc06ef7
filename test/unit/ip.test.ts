/**
 * Tests of machines/lib/ip.ts: sources (an IPv4 address, an IPv6 /64) and allowlist matching.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { isAllowlisted, parseAllowlist, parseIp, sourceOf } from '../../machines/lib/ip.js'

describe('sources', () => {
  it('an IPv4 address is its own source; IPv4-mapped IPv6 is the IPv4 address', () => {
    expect(sourceOf('ws://127.0.0.2:4001')).toBe('127.0.0.2')
    expect(sourceOf('ws://[::ffff:10.1.2.3]:80')).toBe('10.1.2.3')
  })

  it('IPv6 addresses are counted per /64', () => {
    expect(sourceOf('ws://[2001:db8:0:1::5]:4001')).toBe('2001:db8:0:1::/64')
    expect(sourceOf('ws://[2001:db8:0:1:ffff:1:2:3]:4001')).toBe('2001:db8:0:1::/64')
    expect(sourceOf('ws://[2001:db8:0:2::5]:4001')).toBe('2001:db8:0:2::/64')
    expect(sourceOf('ws://[fe80::1%eth0]:1')).toBe('fe80:0:0:0::/64')
  })

  it('an address without an IP has no source', () => {
    expect(sourceOf('memory://3')).toBeNull()
    expect(sourceOf('ws://example.org:80')).toBeNull()
  })

  it('rejects malformed literals', () => {
    for (const bad of ['1.2.3', '1.2.3.256', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '']) expect(parseIp(bad)).toBeNull()
    expect(parseIp('::')).toEqual(new Array(16).fill(0))
  })
})

describe('allowlist', () => {
  const list = parseAllowlist(['127.0.0.0/8', '::1', '10.1.0.0/17', '2001:db8::/32'])

  it('matches addresses and prefixes', () => {
    expect(isAllowlisted('ws://127.9.9.9:1', list)).toBe(true)
    expect(isAllowlisted('ws://[::1]:1', list)).toBe(true)
    expect(isAllowlisted('ws://10.1.127.255:1', list)).toBe(true)
    expect(isAllowlisted('ws://10.1.128.0:1', list)).toBe(false)
    expect(isAllowlisted('ws://[2001:db8:ffff::1]:1', list)).toBe(true)
    expect(isAllowlisted('ws://[2001:db9::1]:1', list)).toBe(false)
    expect(isAllowlisted('ws://[::ffff:127.0.0.1]:1', list)).toBe(true)
    expect(isAllowlisted('memory://1', list)).toBe(false)
  })

  it('a bad entry is a RangeError naming it', () => {
    expect(() => parseAllowlist(['10.0.0.0/33'])).toThrow(/"10.0.0.0\/33"/)
    expect(() => parseAllowlist(['localhost'])).toThrow(RangeError)
  })
})
