/**
 * A node for the open network: limits per source address, an allowlist, reserved slots.
 *
 * Each IPv4 address (each IPv6 /64) may hold `maxConnectionsPerIp` connections, of which
 * `maxPendingPerIp` still handshaking, and open `connectionsPerIpPerSecond` new ones (burst
 * `connectionBurstPerIp`); `reservedConnections` slots are kept for the node's own dials and
 * for allowlisted sources. Loopback is allowlisted by default, so here `allowlist: []` makes
 * the three local clients count as one source limited to two connections.
 *
 * Run: npx tsx examples/public-node.ts
 * In your own project, import from 'xswarm' instead of '../src/index.js'.
 */
import { createSwarm, type Swarm } from '../src/index.js'

const node = await createSwarm({
  listen: ['ws://127.0.0.1:0'],
  allowlist: [], // e.g. ['10.0.0.0/8'] for your own machines; [] limits every source
  limits: { maxConnectionsPerIp: 2 },
})
const clients = await Promise.all([1, 2, 3].map(() => createSwarm({})))

/** Take a swarm's events until `until` says stop (a swarm only moves while its events are taken). */
async function take(swarm: Swarm, until: (e: { type: string; reason?: string }) => boolean): Promise<{ type: string; reason?: string }> {
  for await (const event of swarm) if (until(event)) return event
  throw new Error('stream ended')
}

const timeout = setTimeout(() => { console.error('timed out'); process.exit(1) }, 10_000)
void take(node, () => false).catch(() => undefined) // the node just serves
for (const [i, client] of clients.entries()) {
  client.dial(node.addresses[0])
  const outcome = await take(client, (e) => e.type === 'peer.connected' || e.type === 'dial.failed')
  console.log(`client ${i + 1}: ${outcome.type}${outcome.reason ? ` (${outcome.reason})` : ''}`)
}
clearTimeout(timeout)
await Promise.all([...clients, node].map((s) => s.close()))
console.log('public node: done')
