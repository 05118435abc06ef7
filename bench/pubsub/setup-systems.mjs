// The systems of the side-by-side setup benchmark (setup.mjs says what a setup is and what each
// system runs). Each factory creates one listener and `count` dialers, all started and idle, and
// returns { setup(i): Promise (dialer i dials the listener; resolves when both ends have
// reported the connection), stop(), note }.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Keys seen so far, with promises that resolve when a key is seen. */
class Seen {
  keys = new Set()
  waiters = new Map()
  add (key) {
    this.keys.add(key)
    const wake = this.waiters.get(key)
    if (wake) { this.waiters.delete(key); wake() }
  }

  when (key) {
    if (this.keys.has(key)) return Promise.resolve()
    return new Promise((r) => this.waiters.set(key, r))
  }
}

/** xswarm from the build whose entry module is `entry`. */
function xswarmSystem (entry, name, extra = {}) {
  return async ({ count }) => {
    if (!existsSync(entry)) throw new Error(`${name}: ${entry} not found: run "npm run build" at the repository root first`)
    const { createSwarm } = await import(pathToFileURL(entry).href)
    const options = {
      ping: false,
      discovery: false,
      limits: { maxFramesPerSecond: 1e6, maxBytesPerSecond: 4 * 1024 ** 3, maxConnections: 4096, maxPendingConnections: 1024 },
      ...extra,
    }
    /** A started swarm whose events are taken by its own loop; `seen` holds its connected peers. */
    const start = async (opts) => {
      const swarm = await createSwarm(opts)
      const seen = new Seen()
      const loop = (async () => { for await (const e of swarm) if (e.type === 'peer.connected') seen.add(e.peer) })()
      return { swarm, seen, loop }
    }
    const listener = await start({ ...options, listen: ['ws://127.0.0.1:0'] })
    const address = listener.swarm.addresses[0]
    const dialers = []
    for (let i = 0; i < count; i++) dialers.push(await start(options))
    return {
      note: `${name}: ws, Noise XX (native crypto), ping off, discovery ${options.discovery ? 'on (default options)' : 'off'} (pubsub and actors on, no subscription)`,
      setup (i) {
        const d = dialers[i]
        const both = Promise.all([d.seen.when(listener.swarm.peerId), listener.seen.when(d.swarm.peerId)])
        d.swarm.dial(address)
        return both
      },
      async stop () {
        const all = [listener, ...dialers]
        await Promise.race([Promise.all(all.map((n) => n.swarm.close().catch(() => {}))), sleep(10_000)])
        await Promise.race([Promise.all(all.map((n) => n.loop)), sleep(5_000)])
      },
    }
  }
}

/** js-libp2p 2.10 (versions and overrides: package.json, after shared/notes/js-libp2p-on-node20.md). */
/** js-libp2p as `libp2pSystem`, with `services` (e.g. identify). */
const libp2pWith = (services, note) => (opts) => libp2pSystem(opts, services, note)

async function libp2pSystem ({ count }, services = async () => ({}), note = 'js-libp2p 2.10.0: ws + noise + yamux, no services, connection monitor off') {
  const { createLibp2p } = await import('libp2p')
  const { webSockets } = await import('@libp2p/websockets')
  const wsFilters = await import('@libp2p/websockets/filters')
  const { noise } = await import('@chainsafe/libp2p-noise')
  const { yamux } = await import('@chainsafe/libp2p-yamux')
  const make = async (listen) => {
    const node = await createLibp2p({
      addresses: { listen },
      transports: [webSockets({ filter: wsFilters.all })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
      connectionManager: { maxConnections: 4096, maxIncomingPendingConnections: 1024, inboundConnectionThreshold: 10_000 },
      services: await services(),
    })
    const seen = new Seen()
    node.addEventListener('connection:open', (evt) => seen.add(evt.detail.remotePeer.toString()))
    return { node, seen }
  }
  const listener = await make(['/ip4/127.0.0.1/tcp/0/ws'])
  const address = listener.node.getMultiaddrs().find((ma) => ma.toString().includes('/ws'))
  if (address == null) throw new Error('libp2p: the listener has no ws address')
  const dialers = []
  for (let i = 0; i < count; i++) dialers.push(await make([]))
  return {
    note,
    setup (i) {
      const d = dialers[i]
      const atListener = listener.seen.when(d.node.peerId.toString())
      return Promise.all([d.node.dial(address, { signal: AbortSignal.timeout(60_000) }), atListener])
    },
    async stop () {
      await Promise.race([Promise.all([listener, ...dialers].map((n) => n.node.stop().catch(() => {}))), sleep(10_000)])
    },
  }
}

/**
 * The socket floor: the `ws` package alone (the version bench/pubsub installs), client connect +
 * `open` on the dialer and `connection` on the listener, no handshake, nothing on top.
 */
async function rawWsSystem ({ count }) {
  const { WebSocket, WebSocketServer } = await import('ws')
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise((r) => wss.once('listening', r))
  const url = `ws://127.0.0.1:${wss.address().port}`
  const opened = new Seen()
  let accepted = 0
  wss.on('connection', () => opened.add(++accepted))
  const clients = []
  return {
    note: 'ws 8.23 alone: connect + open at both ends, no handshake (the socket floor)',
    setup (i) {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      clients.push(ws)
      // connections are accepted in order only with 1 in flight: wait for the i-th acceptance
      return Promise.all([new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) }), opened.when(i + 1)])
    },
    async stop () {
      for (const ws of clients) ws.terminate()
      for (const ws of wss.clients) ws.terminate()
      await Promise.race([new Promise((r) => wss.close(r)), sleep(5_000)])
    },
  }
}

/**
 * The crypto floor: xswarm's Noise XX with the identity payloads verified both ways, both sides
 * in memory, fresh ephemeral keys each time (bench/core/handshake.ts from the build), no sockets
 * and no XState. One handshake per setup, run synchronously.
 */
async function noiseSystem () {
  const handshake = resolve(root, 'dist', 'bench', 'core', 'handshake.js')
  if (!existsSync(handshake)) throw new Error(`noise: ${handshake} not found: run "npm run build" at the repository root first`)
  const { handshaker } = await import(pathToFileURL(handshake).href)
  const { nativeSuite } = await import(pathToFileURL(resolve(root, 'dist', 'src', 'crypto', 'native.js')).href)
  const once = handshaker(nativeSuite, true)
  return {
    note: 'xswarm Noise XX + identity payloads verified both ways, in memory, both sides (the crypto floor)',
    setup () { once(); return Promise.resolve() },
    async stop () {},
  }
}

export const setupSystems = {
  xswarm: xswarmSystem(resolve(root, 'dist', 'src', 'index.js'), 'xswarm'),
  'xswarm-dist': (opts) => {
    const dist = process.env.XSWARM_DIST
    if (!dist) throw new Error('xswarm-dist: set XSWARM_DIST to the dist directory of the build to compare')
    return xswarmSystem(resolve(dist, 'src', 'index.js'), 'xswarm-dist')(opts)
  },
  libp2p: (opts) => libp2pSystem(opts),
  // With what each runtime runs on every connection by default: js-libp2p's identify, xswarm's discovery.
  'libp2p-identify': libp2pWith(async () => ({ identify: (await import('@libp2p/identify')).identify() }), 'js-libp2p 2.10.0: ws + noise + yamux + identify, connection monitor off'),
  'xswarm-discovery': xswarmSystem(resolve(root, 'dist', 'src', 'index.js'), 'xswarm-discovery', { discovery: true }),
  'raw-ws': rawWsSystem,
  noise: noiseSystem,
}
