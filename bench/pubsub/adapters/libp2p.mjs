// libp2p: js-libp2p 2.10 on Node 20 — @libp2p/websockets + noise + yamux + identify +
// @chainsafe/libp2p-gossipsub 14 (versions and overrides: bench/pubsub/package.json, after
// shared/notes/js-libp2p-on-node20.md).
//
// - signing on  → globalSignaturePolicy 'StrictSign' (gossipsub's default: every message signed
//   by its publisher and verified by every receiver); signing off → 'StrictNoSign'.
// - connectionMonitor disabled: its 10 s pings abort connections whose ping is late, which under
//   a saturated event loop (all nodes in one process) drops links mid-run.
// - the per-host inbound connection rate limit is raised (all nodes share 127.0.0.1).
// - listens on /ip4/127.0.0.1/tcp/0/ws; node a dials node b for every edge [a, b].
// - deliveries: the pubsub 'message' event (emitted after validation); emitSelf is false and a
//   message whose `from` is the node itself is dropped as well, so only the other n-1 count.

import { createLibp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import * as wsFilters from '@libp2p/websockets/filters'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor (what, cond, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`libp2p: ${what} not reached within ${timeoutMs} ms`)
    await sleep(stepMs)
  }
}

async function makeNode (signing) {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    // filters.all: allow plain ws:// (the 9.x default on Node is the same; stated for clarity)
    transports: [webSockets({ filter: wsFilters.all })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: {
      inboundConnectionThreshold: 10_000,
      maxIncomingPendingConnections: 1_000
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: signing ? 'StrictSign' : 'StrictNoSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: false
      })
    }
  })
}

export default {
  name: 'libp2p',
  async start ({ n, edges, topic, signing }) {
    const libs = []
    const cbs = []
    const stop = async () => {
      await Promise.all(libs.map((l) => Promise.race([l.stop().catch(() => {}), sleep(5_000)])))
    }
    try {
      for (let i = 0; i < n; i++) { libs.push(await makeNode(signing)); cbs.push([]) }
      const want = new Array(n).fill(0)
      for (const [a, b] of edges) { want[a]++; want[b]++ }

      libs.forEach((l, i) => {
        const self = l.peerId
        l.services.pubsub.addEventListener('message', (evt) => {
          const m = evt.detail
          if (m.topic !== topic) return
          if (m.type === 'signed' && self.equals(m.from)) return
          for (const cb of cbs[i]) cb(m.data)
        })
        l.services.pubsub.subscribe(topic)
      })

      // dial along the edges (a few at a time so the one event loop is not swamped)
      const addrs = libs.map((l) => l.getMultiaddrs().find((ma) => ma.toString().includes('/ws')))
      if (addrs.some((a) => a == null)) throw new Error('libp2p: a node has no ws listen address')
      const queue = edges.slice()
      await Promise.all(Array.from({ length: Math.min(8, queue.length) }, async () => {
        while (queue.length) {
          const [a, b] = queue.shift()
          await libs[a].dial(addrs[b], { signal: AbortSignal.timeout(15_000) })
        }
      }))

      // bounded waits: every node connected to all its neighbours, sees >= 1 subscribed peer,
      // and has >= 1 peer in its gossipsub mesh for the topic (mesh is built on heartbeats, 1 s)
      await waitFor('all edges connected', () => libs.every((l, i) => l.getPeers().length >= want[i]), 20_000)
      await waitFor('every node sees a subscribed peer', () => libs.every((l) => l.services.pubsub.getSubscribers(topic).length >= 1), 20_000)
      await waitFor('every node has a mesh peer', () => libs.every((l) => l.services.pubsub.getMeshPeers(topic).length >= 1), 20_000)
      // and subscriptions of all neighbours are known (so floodPublish reaches every neighbour)
      await waitFor('every node sees all neighbours subscribed', () => libs.every((l, i) => l.services.pubsub.getSubscribers(topic).length >= want[i]), 20_000)
      // soft: with D=6 >= every node's degree, the mesh ends up holding all neighbours; give the
      // heartbeats up to 5 s to get there (not fatal: the harness warm-up is the real check)
      await waitFor('full mesh', () => libs.every((l, i) => l.services.pubsub.getMeshPeers(topic).length >= Math.min(want[i], 6)), 5_000).catch(() => {})
    } catch (err) {
      await stop()
      throw err
    }

    return {
      nodes: libs.map((l, i) => ({
        publish: (bytes) => l.services.pubsub.publish(topic, bytes),
        onMessage: (cb) => { cbs[i].push(cb) }
      })),
      stop,
      notes: [
        `js-libp2p 2.10.0, ws+noise+yamux+identify, gossipsub 14.1.2 ${signing ? 'StrictSign (signed+verified)' : 'StrictNoSign'}`,
        'connectionMonitor DISABLED (enabled: false)',
        'gossipsub defaults otherwise (D=6, Dlo=4, Dhi=12, floodPublish on, heartbeat 1 s)'
      ]
    }
  }
}
