/**
 * Embed a swarm in a web server: node:http on 127.0.0.1 with two routes,
 *   GET /peers            → { peerId, addresses, peers }
 *   GET /dial?addr=ADDR   → 202 (the outcome arrives later as an event), 400 for a bad address
 * then a self-test: dial a second local node through the API, see it in /peers, shut down.
 * Run: npx tsx examples/embed-in-http-server.ts   (in your project: import from 'xswarm')
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSwarm } from '../src/index.js'

const swarm = await createSwarm({ listen: ['ws://127.0.0.1:0'] })

// Keep taking events: that is what drives the swarm. `peers()` is up to date with what was taken.
const events = (async () => {
  for await (const e of swarm) if (e.type !== 'ping.rtt') console.log(`[swarm] ${e.type} ${'peer' in e ? e.peer : ''}`)
})()

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n')
  }
  if (req.method === 'GET' && url.pathname === '/peers') {
    return reply(200, { peerId: swarm.peerId, addresses: swarm.addresses, peers: swarm.peers() })
  }
  if (req.method === 'GET' && url.pathname === '/dial') {
    try {
      swarm.dial(url.searchParams.get('addr') ?? '') // throws AddressError for a bad address
      return reply(202, { dialing: url.searchParams.get('addr') })
    } catch (error) {
      return reply(400, { error: (error as Error).message })
    }
  }
  reply(404, { error: 'try /peers or /dial?addr=' })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
console.log(`http api on ${base}`)

// --- self-test: another node, dialed through the API ---
const other = await createSwarm({ listen: ['ws://127.0.0.1:0'] })
const otherEvents = (async () => { for await (const _ of other) { /* drive it */ } })()

console.log('GET /dial?addr=nonsense →', (await fetch(`${base}/dial?addr=nonsense`)).status)
const dial = await fetch(`${base}/dial?addr=${encodeURIComponent(other.addresses[0])}`)
console.log('GET /dial →', dial.status, (await dial.text()).trim())
let peers: string[] = []
for (let i = 0; i < 100 && !peers.includes(other.peerId); i++) {
  await new Promise((r) => setTimeout(r, 20))
  peers = ((await (await fetch(`${base}/peers`)).json()) as { peers: string[] }).peers
}
console.log(peers.includes(other.peerId) ? `self-test ok: /peers lists ${other.peerId}` : 'self-test FAILED')

// --- shut down cleanly: stop accepting requests, then close the swarms ---
server.closeAllConnections() // fetch keeps connections alive; drop them so close() returns
await new Promise((resolve) => server.close(resolve))
await swarm.close()
await other.close()
await Promise.all([events, otherEvents])
process.exitCode = peers.includes(other.peerId) ? 0 : 1
