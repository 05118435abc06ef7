/**
 * Address diversity: how many peers of one IP address (IPv6: one /64) and of one network
 * (IPv4 /24, IPv6 /48) a k-bucket or a lookup may hold. The defence against one host posing as
 * many peers close to a key (a Sybil set from one address, or fake "closer peers" all pointing
 * at one host), as in S/Kademlia and the libp2p DHT's diversity filter: whatever ids such a
 * host mints, it gets `maxPeersPerIp` places. A peer's group is read from the first address it
 * claims; addresses without an IP (DNS names, memory://) and allowlisted ones are not bounded
 * (loopback by default, so one machine can run a whole test network).
 * @module
 */
import { isAllowlisted, parseAllowlist, sourceOf, subnetOf } from '../lib/ip.js'

/** The bounds, resolved from discovery's options. */
export interface Diversity {
  maxPeersPerIp: number
  maxPeersPerSubnet: number
  allowlist: ReturnType<typeof parseAllowlist>
}

/** Where a peer is on the network, for the bounds; null when not bounded. */
export interface Group { ip: string; subnet: string }

export function groupOf(addresses: readonly string[] | undefined, diversity: Diversity): Group | null {
  const address = addresses?.[0]
  if (address === undefined || isAllowlisted(address, diversity.allowlist)) return null
  const ip = sourceOf(address)
  const subnet = subnetOf(address)
  return ip === null || subnet === null ? null : { ip, subnet }
}

/** Whether one more peer of `group` fits next to `members` (the groups already there). */
export function fits(members: Iterable<Group | null | undefined>, group: Group | null, diversity: Diversity): boolean {
  if (group === null) return true
  let sameIp = 0
  let sameSubnet = 0
  for (const m of members) {
    if (!m) continue
    if (m.ip === group.ip) sameIp++
    if (m.subnet === group.subnet) sameSubnet++
  }
  return sameIp < diversity.maxPeersPerIp && sameSubnet < diversity.maxPeersPerSubnet
}
