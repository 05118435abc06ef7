/**
 * Embed a swarm in a web service: the swarm shares the service's own node:http server (its
 * port, on the path /swarm) while the service keeps its routes:
 *   GET /peers            → { peerId, addresses, peers }
 *   GET /dial?addr=ADDR   → 202 (the outcome arrives later as an event), 400 for a bad address
 *   GET /metrics          → the swarm's Prometheus metrics (createSwarm({ metrics: true }))
 * then the same over TLS: a node:https server (a self-signed certificate made here; use your
 * real one) gives wss:// addresses, and a second node that trusts the certificate dials it.
 * A self-test dials through the API, checks /peers, and shuts everything down.
 * Run: npx tsx examples/embed-in-http-server.ts   (in your project: import from 'xswarm')
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { generate } from 'selfsigned'
import { createSwarm, METRICS_CONTENT_TYPE, metricsText, type Swarm } from '../src/index.js'

/** The service's routes, given the swarm they report on. */
function routes(swarm: () => Swarm) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n')
    }
    if (req.method === 'GET' && url.pathname === '/peers') {
      return reply(200, { peerId: swarm().peerId, addresses: swarm().addresses, peers: swarm().peers() })
    }
    if (req.method === 'GET' && url.pathname === '/dial') {
      try {
        swarm().dial(url.searchParams.get('addr') ?? '') // throws AddressError for a bad address
        return reply(202, { dialing: url.searchParams.get('addr') })
      } catch (error) {
        return reply(400, { error: (error as Error).message })
      }
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      return res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(metricsText(swarm()))
    }
    reply(404, { error: 'try /peers, /dial?addr= or /metrics' })
  }
}

/** Keep taking events: that is what drives a swarm (`peers()` is up to date with what was taken). */
const drive = (name: string, swarm: Swarm) =>
  (async () => {
    for await (const e of swarm) if (e.type !== 'ping.rtt') console.log(`[${name}] ${e.type} ${'peer' in e ? e.peer : ''}`)
  })()

// --- 1. plain http: the service's server, listening first, then the swarm on its /swarm path ---
let swarm!: Swarm
const server = createServer(routes(() => swarm))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
swarm = await createSwarm({ listen: [{ server, path: '/swarm' }], metrics: true })
const events = drive('http', swarm)
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
console.log(`http api on ${base}; swarm at ${swarm.addresses[0]}`)

const other = await createSwarm({ listen: ['ws://127.0.0.1:0'] })
const otherEvents = drive('other', other)
console.log('GET /dial?addr=nonsense →', (await fetch(`${base}/dial?addr=nonsense`)).status)
const dial = await fetch(`${base}/dial?addr=${encodeURIComponent(other.addresses[0])}`)
console.log('GET /dial →', dial.status, (await dial.text()).trim())
let peers: string[] = []
for (let i = 0; i < 100 && !peers.includes(other.peerId); i++) {
  await new Promise((r) => setTimeout(r, 20))
  peers = ((await (await fetch(`${base}/peers`)).json()) as { peers: string[] }).peers
}
const metrics = await (await fetch(`${base}/metrics`)).text()
const connections = /^xswarm_connections\{[^}]*direction="outbound"\} (\d+)$/m.exec(metrics)?.[1]
console.log(`GET /metrics → xswarm_connections{direction="outbound"} ${connections}`)
const plainOk = peers.includes(other.peerId) && connections === '1'
console.log(plainOk ? `self-test ok: /peers lists ${other.peerId}` : 'self-test FAILED')

// --- 2. https: the same with TLS; peers dial wss://…, trusting the certificate ---
const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
  keyType: 'ec', curve: 'P-256',
  extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
})
let tlsSwarm!: Swarm
const tlsServer = createHttpsServer({ key: pems.private, cert: pems.cert }, routes(() => tlsSwarm))
await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
tlsSwarm = await createSwarm({ listen: [{ server: tlsServer, path: '/swarm' }] })
const tlsEvents = drive('https', tlsSwarm)
console.log(`https swarm at ${tlsSwarm.addresses[0]}`)
const dialer = await createSwarm({ listen: [], tls: { ca: pems.cert } }) // trusts our certificate for wss dials
const dialerEvents = drive('dialer', dialer)
dialer.dial(tlsSwarm.addresses[0])
for (let i = 0; i < 100 && !tlsSwarm.isConnected(dialer.peerId); i++) await new Promise((r) => setTimeout(r, 20))
const tlsOk = tlsSwarm.isConnected(dialer.peerId)
console.log(tlsOk ? `wss self-test ok: ${dialer.peerId} connected over TLS` : 'wss self-test FAILED')

// --- shut down cleanly: the swarms first (their sockets hold the servers), then the servers ---
for (const s of [swarm, other, tlsSwarm, dialer]) await s.close()
await Promise.all([events, otherEvents, tlsEvents, dialerEvents])
for (const s of [server, tlsServer]) {
  s.closeAllConnections() // fetch keeps connections alive; drop them so close() returns
  await new Promise((resolve) => s.close(resolve))
}
process.exitCode = plainOk && tlsOk ? 0 : 1
