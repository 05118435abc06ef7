/**
 * The live network page for your own swarms: three nodes on 127.0.0.1, each handing its
 * inspection stream and its events to the page's hub; open the printed URL to watch them
 * (the nodes, their links, the mesh of topic `example`, each node's actors as statecharts).
 *
 * Run: npm run build && npx tsx examples/live-page.ts [seconds]   (default 3; in your project:
 * import { startUi } from 'xswarm/ui' and createSwarm from 'xswarm')
 * It checks itself: the page is served, and its WebSocket sends the nodes and links.
 */
import WebSocket from 'ws'
import { createSwarm, type Swarm } from '../src/index.js'
import { startUi } from '../src/ui/server.js'

const seconds = Number(process.argv[2] ?? 3)
const ui = await startUi({ port: 0 })
const names = ['alice', 'bob', 'carol']
const swarms: Swarm[] = []
const loops: Promise<void>[] = []
for (const name of names) {
  const node = ui.hub.node(name)
  const swarm = await createSwarm({ listen: ['ws://127.0.0.1:0'], discovery: false, inspect: node.inspect })
  node.peerId(swarm.peerId)
  swarm.subscribe('example')
  loops.push((async () => { for await (const event of swarm) node.event(event) })())
  swarms.push(swarm)
}
swarms[1].dial(swarms[0].addresses[0])
swarms[2].dial(swarms[1].addresses[0])
console.log(`live page: ${ui.url}  (open it in a browser; running ${seconds} s)`)

// Self-test: the page is there, and a client of /events is told about the nodes and links.
const page = await fetch(ui.url)
console.log(`GET / → ${page.status}`)
const seen = { node: 0, link: 0, actor: 0 }
const socket = new WebSocket(`${ui.url.replace('http', 'ws')}events`)
socket.on('message', (data) => {
  const m = JSON.parse(String(data)) as { t: keyof typeof seen }
  if (m.t in seen) seen[m.t]++
})
await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
console.log(`/events sent ${seen.node} nodes, ${seen.link} link changes, ${seen.actor} actor updates`)
socket.close()
for (const swarm of swarms) await swarm.close()
await Promise.all(loops)
await ui.close()
console.log(seen.node === 3 && seen.link >= 4 ? 'live page: ok' : 'live page: FAILED')
if (!(seen.node === 3 && seen.link >= 4)) process.exitCode = 1
