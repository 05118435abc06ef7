/**
 * IP addresses as the admission limits see them: which source a connection comes from, and
 * whether it is in an allowlist of addresses and CIDR prefixes. Pure string arithmetic (the
 * machines run in browsers too, so no node:net).
 *
 * A source is one IPv4 address, or one IPv6 /64 (a home or a server usually gets a whole /64,
 * so counting single IPv6 addresses would count nothing). IPv4-mapped IPv6 (`::ffff:1.2.3.4`)
 * is the IPv4 address.
 * @module
 */

/** An address as bytes: 4 (IPv4) or 16 (IPv6). */
type Bytes = number[]

/** Parse an IPv4 or IPv6 literal (brackets and a zone id allowed), or null. */
export function parseIp(text: string): Bytes | null {
  const host = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '')
  if (!host.includes(':')) return parseIpv4(host)
  const halves = host.split('::')
  if (halves.length > 2) return null
  const groups = (part: string): number[] | null => {
    if (part === '') return []
    const out: number[] = []
    const items = part.split(':')
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item)
        if (!v4) return null
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3])
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16))
      } else return null
    }
    return out
  }
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  if (!head || !tail) return null
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  return all.flatMap((g) => [g >> 8, g & 0xff])
}

function parseIpv4(text: string): Bytes | null {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null
  return parts.map(Number)
}

/** IPv4-mapped IPv6 as the IPv4 address it maps. */
function unmap(ip: Bytes): Bytes {
  const mapped = ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff
  return mapped ? ip.slice(12) : ip
}

/** The host of `ws://host:port` (or any `scheme://host:port/...`), or null. */
export function hostOf(remoteAddr: string): string | null {
  const m = /^[a-z]+:\/\/(\[[^\]]+\]|[^/:]+)(?::\d+)?/i.exec(remoteAddr)
  return m ? m[1] : null
}

/**
 * The source a connection from `remoteAddr` is counted under: `1.2.3.4`, or the /64 as
 * `2001:db8:0:1::/64`; null when the address has no IP (an in-memory transport).
 */
export function sourceOf(remoteAddr: string): string | null {
  const host = hostOf(remoteAddr)
  const ip = host === null ? null : parseIp(host)
  if (ip === null) return null
  const v = unmap(ip)
  if (v.length === 4) return v.join('.')
  const groups = [0, 2, 4, 6].map((i) => ((v[i] << 8) | v[i + 1]).toString(16))
  return `${groups.join(':')}::/64`
}

/**
 * The network a peer's address is in, for diversity bounds: the /24 of an IPv4 address, the
 * /48 of an IPv6 one; null without an IP.
 */
export function subnetOf(remoteAddr: string): string | null {
  const host = hostOf(remoteAddr)
  const ip = host === null ? null : parseIp(host)
  if (ip === null) return null
  const v = unmap(ip)
  if (v.length === 4) return `${v.slice(0, 3).join('.')}.0/24`
  return `${[0, 2, 4].map((i) => ((v[i] << 8) | v[i + 1]).toString(16)).join(':')}::/48`
}

/** One allowlist entry: an address, or `address/prefixLength`. */
interface Prefix { bytes: Bytes; bits: number }

/** Parse allowlist entries; throws a RangeError naming the first bad one. */
export function parseAllowlist(entries: readonly string[]): Prefix[] {
  return entries.map((entry) => {
    const [addr, len, extra] = entry.split('/')
    const ip = parseIp(addr)
    const max = ip ? ip.length * 8 : 0
    const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN
    if (!ip || extra !== undefined || !(bits >= 0 && bits <= max)) {
      throw new RangeError(`"allowlist" entry ${JSON.stringify(entry)} is not an IP address or CIDR prefix (e.g. 10.0.0.0/8, 2001:db8::/32)`)
    }
    const v = unmap(ip)
    return { bytes: v, bits: v.length === ip.length ? bits : Math.max(0, bits - 96) }
  })
}

/** Whether the host of `remoteAddr` falls in one of `prefixes`. */
export function isAllowlisted(remoteAddr: string, prefixes: readonly Prefix[]): boolean {
  if (prefixes.length === 0) return false
  const host = hostOf(remoteAddr)
  const raw = host === null ? null : parseIp(host)
  if (raw === null) return false
  const ip = unmap(raw)
  return prefixes.some((p) => p.bytes.length === ip.length && samePrefix(p.bytes, ip, p.bits))
}

function samePrefix(a: Bytes, b: Bytes, bits: number): boolean {
  const whole = bits >> 3
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false
  const rest = bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[whole] & mask) === (b[whole] & mask)
}
