/**
 * 50 pubsub actors in one simulated network, at machine level: a tiny in-test router delivers
 * every `effect.send` as a `message` input to the addressed actor, in FIFO order, after the
 * protocol's `parse` (as the shell does); one SimulatedClock drives every heartbeat. The
 * topology is random and sparse (every node has at least 6 neighbours), seeded.
 *
 * Checked: every message reaches every other subscriber exactly once; mesh degrees stay within
 * [D_lo, D_hi] after a few heartbeats; with 20% of the nodes removed mid-run (their neighbours
 * get `peer.disconnected`) at least 99% of deliveries still happen; the same seed gives the
 * same event log, byte for byte. With large messages (announced and pulled between mesh peers,
 * announce.ts) every message still reaches every other subscriber exactly once, also when the
 * node first asked for one and half of the publisher's neighbours, having announced it (an
 * announce implies IDONTWANT), disconnect before answering; and so it does when each node
 * pushes them until its push budget is spent and announces the rest.
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock, type AnyActorRef } from 'xstate'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base58 } from '@scure/base'
import { nativeSuite } from '../../src/crypto/native.js'
import { createRng, nextInt, type Rng } from '../../machines/lib/rng.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { pubsubProtocol, PUBSUB_ID } from '../../machines/pubsub/pubsub.machine.js'
import type { PubsubContext } from '../../machines/pubsub/state.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'

const N = 50
const MIN_DEGREE = 6
const TOPIC = 'news'

interface SimNode {
  peerId: string
  actor: AnyActorRef
  alive: boolean
  links: Set<number>
  parse: (body: unknown) => unknown
}

interface Delivery { from: number; to: number; body: unknown }

/**
 * `size`: message data bytes (default: a few); `pushBudget`: pubsub's (default its default). A
 * large run that always announces (pushBudget 0) removes half the publisher's neighbours mid-flight.
 */
function simulate(seed: number, size = 0, pushBudget?: number) {
  const pulled = size > 0 && pushBudget === 0
  const clock = new SimulatedClock()
  const rng: Rng = createRng(seed)
  const queue: Delivery[] = []
  let head = 0
  const log: string[] = []
  /** message id → receiving node → times delivered */
  const received = new Map<string, Map<number, number>>()
  const published: Array<{ id: string; from: number; atRemoval: boolean }> = []
  let removed = false
  const index = new Map<string, number>()
  /**
   * Frames carrying an announce, and frames carrying IDONTWANT: a node sends IDONTWANT for a large
   * message only when it will push it on, not announce it.
   */
  let announces = 0
  let idontwants = 0

  const nodes: SimNode[] = Array.from({ length: N }, (_, i) => {
    const secretKey = sha256(new TextEncoder().encode(`sim-${seed}-${i}`))
    const publicKey = ed25519.getPublicKey(secretKey)
    const peerId = base58.encode(sha256(publicKey))
    index.set(peerId, i)
    const protocol = pubsubProtocol(pushBudget === undefined ? {} : { pushBudget })
    const actor = createActor(protocol.machine, {
      clock,
      input: {
        peerId, protocol: PUBSUB_ID, seed: sha256(new TextEncoder().encode(`seed-${seed}-${i}`)),
        options: protocol.options, addresses: [], crypto: nativeSuite, publicKey,
        signer: createSignerIssuer(nativeSuite, secretKey).issue(PUBSUB_ID),
      },
    } as never) as AnyActorRef
    bindRuntime(actor, { sink: () => {}, now: () => clock.now() })
    actor.on('*', (e: { type: string; [k: string]: any }) => {
      if (e.type === 'effect.send') {
        if (e.body.ctl?.iann) announces++
        if (e.body.ctl?.idw) idontwants++
        queue.push({ from: i, to: index.get(e.peer) as number, body: e.body })
        log.push(`${clock.now()} ${i}>${index.get(e.peer)} ${Object.keys(e.body).join(',')}`)
        return
      }
      log.push(`${clock.now()} ${i} ${e.type} ${e.id ?? ''} ${e.topic ?? ''} ${e.peer ? index.get(e.peer) : ''}`)
      if (e.type === 'pubsub.message') {
        let byNode = received.get(e.id)
        if (!byNode) received.set(e.id, (byNode = new Map()))
        byNode.set(i, (byNode.get(i) ?? 0) + 1)
      } else if (e.type === 'pubsub.published') {
        published.push({ id: e.id, from: i, atRemoval: removed })
      }
    })
    return { peerId, actor, alive: true, links: new Set<number>(), parse: protocol.parse as (b: unknown) => unknown }
  })
  for (const node of nodes) node.actor.start()

  /** Deliver what is queued (and what that sends), or up to the first delivery `stop` picks. */
  const drain = (stop?: (d: Delivery) => boolean): void => {
    while (head < queue.length) {
      if (stop?.(queue[head])) return
      const { from, to, body } = queue[head++]
      const target = nodes[to]
      if (!target.alive || !nodes[from].alive || !target.links.has(from)) continue
      const parsed = target.parse(body)
      if (parsed === undefined) throw new Error(`node ${from} sent an RPC that does not parse`)
      target.actor.send({ type: 'message', peer: nodes[from].peerId, body: parsed })
    }
    queue.length = 0
    head = 0
  }
  const advance = (ms: number): void => {
    for (let t = 0; t < ms; t += 100) {
      clock.increment(100)
      drain()
    }
  }
  const link = (a: number, b: number): void => {
    if (a === b || nodes[a].links.has(b)) return
    nodes[a].links.add(b)
    nodes[b].links.add(a)
    nodes[a].actor.send({ type: 'peer.connected', peer: nodes[b].peerId, direction: 'outbound', address: '' })
    nodes[b].actor.send({ type: 'peer.connected', peer: nodes[a].peerId, direction: 'inbound', address: '' })
  }

  // Sparse random topology: a ring, then random links until every node has MIN_DEGREE.
  for (let i = 0; i < N; i++) link(i, (i + 1) % N)
  for (let i = 0; i < N; i++) while (nodes[i].links.size < MIN_DEGREE) link(i, nextInt(rng, N))
  drain()
  for (const node of nodes) node.actor.send({ type: 'pubsub.subscribe', topic: TOPIC })
  drain()
  advance(3_000)

  const meshDegrees = (): number[] => nodes.filter((n) => n.alive).map((n) =>
    (n.actor.getSnapshot().context as PubsubContext).s.topics.get(TOPIC)?.mesh.size ?? 0)
  const degreesBefore = meshDegrees()

  const publishFrom = (count: number): void => {
    for (let k = 0; k < count; k++) {
      const alive = nodes.map((n, i) => (n.alive ? i : -1)).filter((i) => i >= 0)
      const from = alive[nextInt(rng, alive.length)]
      const data = new TextEncoder().encode(`m${k}-${seed}`)
      nodes[from].actor.send({ type: 'pubsub.publish', topic: TOPIC, data: size ? Uint8Array.from({ length: size }, (_, j) => data[j % data.length]) : data })
      drain()
      advance(200)
    }
  }
  publishFrom(20)
  advance(2_000)

  const victims = new Set<number>()
  let midFlight: string | undefined
  // Large messages: one more, delivered until the first request (INEED) reaches its first hop
  // (which has it and announced it); then that node and half of the first hop disconnect before
  // answering. The rest at random.
  if (pulled) {
    const from = nextInt(rng, N)
    const firstHop = [...nodes[from].links]
    nodes[from].actor.send({ type: 'pubsub.publish', topic: TOPIC, data: new Uint8Array(size).fill(9) })
    drain((next) => firstHop.includes(next.to) && (next.body as { ctl?: { ineed?: unknown } }).ctl?.ineed !== undefined)
    midFlight = published.pop()!.id
    victims.add(queue[head].to)
    for (const i of firstHop.slice(0, Math.ceil(firstHop.length / 2))) victims.add(i)
  }
  // Remove 20% of the nodes at once; their neighbours see peer.disconnected.
  removed = true
  while (victims.size < N / 5) victims.add(nextInt(rng, N))
  for (const v of victims) {
    nodes[v].alive = false
    nodes[v].actor.stop()
    for (const nb of nodes[v].links) {
      nodes[nb].links.delete(v)
      if (nodes[nb].alive) nodes[nb].actor.send({ type: 'peer.disconnected', peer: nodes[v].peerId, reason: 'connection-lost' })
    }
  }
  drain()
  publishFrom(20)
  advance(5_000)
  const degreesAfter = meshDegrees()
  for (const node of nodes) if (node.alive) node.actor.stop()
  return { log, received, published, victims, degreesBefore, degreesAfter, midFlight, announces, idontwants }
}

// Large messages: always announced and pulled (pushBudget 0), and with the default budget, which
// 20 KB messages at 5 per second spend within each heartbeat, so some are pushed, some announced.
for (const [name, size, pushBudget] of [['', 0, undefined], [' of large messages, pulled', 20_000, 0], [' of large messages, pushed until the budget is spent', 20_000, undefined]] as const) {
  describe(`pubsub: a 50-node simulated network${name}`, () => {
    const run = simulate(42, size, pushBudget)

    it('delivers every message to every other subscriber exactly once', () => {
      const before = run.published.filter((p) => !p.atRemoval)
      expect(before).toHaveLength(20)
      for (const { id, from } of before) {
        const byNode = run.received.get(id) ?? new Map()
        for (let i = 0; i < N; i++) {
          // Nodes removed later may have received it too; each at most once.
          if (i === from) expect(byNode.get(i)).toBeUndefined()
          else expect(byNode.get(i), `node ${i} message ${id}`).toBe(1)
        }
      }
    })

    it('keeps mesh degrees within [D_lo, D_hi]', () => {
      for (const d of run.degreesBefore) { expect(d).toBeGreaterThanOrEqual(4); expect(d).toBeLessThanOrEqual(12) }
      for (const d of run.degreesAfter) expect(d).toBeLessThanOrEqual(12)
    })

    it('delivers at least 99% after 20% of the nodes are removed, never twice', () => {
      const after = run.published.filter((p) => p.atRemoval)
      expect(after).toHaveLength(20)
      let expected = 0
      let got = 0
      for (const { id, from } of after) {
        const byNode = run.received.get(id) ?? new Map()
        for (let i = 0; i < N; i++) {
          if (i === from || run.victims.has(i)) continue
          expected++
          const times = byNode.get(i) ?? 0
          expect(times).toBeLessThanOrEqual(1)
          got += times
        }
      }
      expect(got / expected).toBeGreaterThanOrEqual(0.99)
    })

    it('gives the same event log for the same seed', () => {
      const again = simulate(42, size, pushBudget)
      expect(again.log.length).toBe(run.log.length)
      expect(again.log).toEqual(run.log)
      expect(simulate(7, size, pushBudget).log).not.toEqual(run.log)
    })

    it.runIf(size > 0)('forwards large messages as announces only, or pushed within the budget and announced beyond it', () => {
      expect(run.announces).toBeGreaterThan(0)
      if (pushBudget === 0) expect(run.idontwants).toBe(0)
      else expect(run.idontwants).toBeGreaterThan(0)
    })

    it.runIf(size > 0 && pushBudget === 0)('a large message reaches every node still there when its announcers leave before answering', () => {
      const byNode = run.received.get(run.midFlight!) ?? new Map()
      const from = run.log.find((line) => line.includes(`pubsub.published ${run.midFlight}`))!.split(' ')[1]
      for (let i = 0; i < N; i++) {
        if (String(i) === from || run.victims.has(i)) continue
        expect(byNode.get(i), `node ${i}`).toBe(1)
      }
    })
  })
}
