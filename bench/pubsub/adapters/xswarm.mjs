// xswarm adapter for the side-by-side pubsub benchmark (interface: top of ../harness.mjs).
// Uses the built package (run `npm run build` at the repository root first): n swarms in this
// process on 127.0.0.1, each driven by its own `for await` loop, dialing along the edges.
// Signing is always on in xswarm (every message signed by its author, verified once per node
// after deduplication), so it compares with libp2p's StrictSign.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const entry = resolve(root, 'dist', 'src', 'index.js')

/** An adapter running the xswarm build whose entry module is `entry` (see xswarm-dist.mjs). */
export function xswarmAdapter (name, entry) {
  return {
  name,
  async start ({ n, edges, topic, signing }) {
    if (!existsSync(entry)) throw new Error(`${name}: ${entry} not found: run "npm run build" at the repository root first`)
    const { createSwarm } = await import(pathToFileURL(entry).href)
    // The per-connection inbound rate limits (5,000 frames/s, 64 MiB/s by default) are raised so
    // that they do not cap a benchmark whose point is throughput; everything else is default.
    const options = { listen: ['ws://127.0.0.1:0'], ping: false, discovery: false, limits: { maxFramesPerSecond: 1e6, maxBytesPerSecond: 4 * 1024 ** 3 } }
    const swarms = []
    for (let i = 0; i < n; i++) swarms.push(await createSwarm(options))
    const cbs = swarms.map(() => [])
    const connected = swarms.map(() => new Set())
    const subscribedPeers = swarms.map(() => new Set())
    const loops = swarms.map(async (swarm, i) => {
      for await (const event of swarm) {
        if (event.type === 'pubsub.message') { for (const cb of cbs[i]) cb(event.data) }
        else if (event.type === 'peer.connected') connected[i].add(event.peer)
        else if (event.type === 'peer.disconnected') connected[i].delete(event.peer)
        else if (event.type === 'pubsub.peer.subscribed' && event.topic === topic) subscribedPeers[i].add(event.peer)
      }
    })
    const stop = async () => {
      await Promise.all(swarms.map((s) => s.close()))
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))])
    }
    try {
      for (const s of swarms) s.subscribe(topic)
      const want = new Array(n).fill(0)
      for (const [a, b] of edges) { want[a]++; want[b]++; swarms[a].dial(swarms[b].addresses[0]) }
      const deadline = Date.now() + 20_000
      while (connected.some((c, i) => c.size < want[i]) || subscribedPeers.some((p, i) => p.size < want[i])) {
        if (Date.now() > deadline) throw new Error('xswarm: links or subscriptions not up within 20 s')
        await new Promise((r) => setTimeout(r, 20))
      }
      await new Promise((r) => setTimeout(r, 1200)) // one heartbeat: meshes settle
    } catch (err) {
      await stop()
      throw err
    }
    return {
      nodes: swarms.map((s, i) => ({
        publish: (bytes) => { s.publish(topic, bytes) },
        onMessage: (cb) => { cbs[i].push(cb) },
      })),
      stop,
      wire: () => {
        let framesIn = 0, bytesIn = 0
        for (const s of swarms) { const st = s.stats(); framesIn += st.framesIn; bytesIn += st.bytesIn }
        return { framesIn, bytesIn }
      },
      notes: [`${name}: Noise XX + ChaCha20-Poly1305 (native), every message signed (ed25519) and verified once per node${signing ? '' : ' (--signing off ignored: always signed)'}; inbound rate limits raised`],
    }
  },
}
}

export default xswarmAdapter('xswarm', entry)
