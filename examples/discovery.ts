/**
 * Discovery: six local nodes that only know the first one find each other, keep between the
 * low and high watermarks of connections, look a peer up by id, and save what they know.
 *   - node 0 listens; nodes 1..5 get node 0's address as their only bootstrap address;
 *   - peer exchange and lookups make them meet (`peer.discovered` events);
 *   - node 5 asks for the addresses of a node it is not connected to with `discovery.findPeer`;
 *   - node 5 protects node 2 from trimming (as pubsub does for its mesh peers);
 *   - on close every node emits `discovery.exported`; node 5's list is written atomically to a
 *     file that `knownPeers` can read on the next start.
 * Run: npx tsx examples/discovery.ts   (in your project: import from 'xswarm')
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSwarm, type Swarm } from '../src/index.js'

import { DISCOVERY_ID } from '../machines/discovery/discovery.machine.js'
import { loadPeerStore, savePeerStore } from '../src/discovery/peer-store-file.js'

const discovery = { lowWatermark: 3, highWatermark: 4, tickInterval: 1_000, gracePeriod: 2_000, refreshInterval: 10_000 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const nodes: Swarm[] = []
const name = new Map<string, string>()
const label = (peer: unknown): string => name.get(String(peer)) ?? String(peer).slice(0, 8)
const file = join(tmpdir(), `xswarm-example-peers-${process.pid}.json`)
let answered = false

// Taking events is what drives a swarm (and what makes `addresses`/`peers()` advance).
async function drive(swarm: Swarm, i: number): Promise<void> {
  for await (const e of swarm) {
    const ev = e as { type: string; [k: string]: unknown }
    if (ev.type === 'peer.discovered') console.log(`node${i} discovered ${label(ev.peer)}`)
    if (ev.type === 'discovery.peer.found') {
      console.log(`node${i} found ${label(ev.peer)} at ${(ev.addresses as string[]).join(', ')} in ${String(ev.rounds)} round(s)`)
      answered = true
    }
    if (ev.type === 'discovery.peer.notFound') { console.log(`node${i} did not find ${label(ev.peer)}: ${String(ev.reason)}`); answered = true }
    if (ev.type === 'discovery.exported' && i === 5) await savePeerStore(file, ev.peers as never)
  }
}

const loops: Promise<void>[] = []
for (let i = 0; i < 6; i++) {
  const swarm = await createSwarm({ listen: ['ws://127.0.0.1:0'], ...(i > 0 ? { bootstrap: [nodes[0].addresses[0]] } : {}), discovery })
  nodes.push(swarm)
  name.set(swarm.peerId, `node${i}`)
  loops.push(drive(swarm, i))
}

await sleep(4_000)
for (const [i, s] of nodes.entries()) console.log(`node${i} connected to ${s.peers().map(label).join(' ')}`)

nodes[5].command(DISCOVERY_ID, { type: 'discovery.protect', peer: nodes[2].peerId, tag: 'example' })
// look up a node that node 5 is not connected to (a lookup), else node 1 (answered at once)
const target = nodes.slice(0, 5).find((s) => !nodes[5].peers().includes(s.peerId)) ?? nodes[1]
nodes[5].command(DISCOVERY_ID, { type: 'discovery.findPeer', peer: target.peerId, queryId: 'lookup-1' })
for (let t = 0; t < 50 && !answered; t++) await sleep(100)

await Promise.all(nodes.map((s) => s.close()))
await Promise.all(loops)
console.log(`node5 saved ${(await loadPeerStore(file)).length} peers to ${file} (pass them as discovery.knownPeers next time)`)
