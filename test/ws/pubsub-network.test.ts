/**
 * A 10-node pubsub network over real WebSockets on 127.0.0.1: a sparse random topology (a ring
 * plus seeded chords, about 4 peers a node), everybody subscribed to one topic, every swarm
 * pumped all the time (`Driven`) as a user's `for await` loop would.
 *
 * One `it` walks the network through its life, in order, so the network is built once:
 *  1. 50 messages from random nodes, 128 B and 64 KiB (= maxMessageSize, the bound itself),
 *     reach every other subscriber exactly once, with the right topic, bytes, author and id;
 *  2. meshes after several heartbeats: no connection dropped, each mesh = the node's
 *     neighbours (degree <= D, so pruning has nothing to cut) and unchanged between samples;
 *  3. publish failures are never silent: `no-peers` (a topic nobody else is on), `too-large`;
 *  4. one node unsubscribes: it gets nothing more, everybody else still gets everything;
 *  5. two nodes are closed while messages flow: the survivors get >= 99% of the messages
 *     published after the kill (the kill set is chosen so the rest stays connected);
 *  6. the node that left subscribes again (within the unsubscribe backoff): it gets every
 *     message again, exactly once.
 * Every wait is bounded; only 127.0.0.1 is used.
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { AnyActorRef } from 'xstate'
import { createSwarm } from '../../src/create-swarm.js'
import type { SwarmEvent } from '../../src/swarm.js'
import { Driven, sleep, within } from '../helpers/raw-peer.js'

const N = 10
const TOPIC = 'net'
const HEARTBEAT = 100
const MAX_SIZE = 64 * 1024
const SEED = 0x5eed_2026
/** The pubsub actor's id (= `protocolSystemId(PUBSUB_ID)`), found through the `inspect` observer. */
const PUBSUB_ACTOR = 'protocol:/xswarm/pubsub/1'

type Ev = SwarmEvent & { [key: string]: any }

/** mulberry32: a small seeded generator for the topology, publishers and payloads. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = rng(SEED)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]

/** Ring plus chords until 2N edges (mean degree 4), no node above degree 6 (= D). */
function topology(): Set<number>[] {
  const adj = Array.from({ length: N }, () => new Set<number>())
  const link = (a: number, b: number) => { adj[a].add(b); adj[b].add(a) }
  for (let i = 0; i < N; i++) link(i, (i + 1) % N)
  let edges = N
  for (let guard = 0; edges < 2 * N && guard < 10_000; guard++) {
    const a = Math.floor(random() * N)
    const b = Math.floor(random() * N)
    if (a === b || adj[a].has(b) || adj[a].size >= 6 || adj[b].size >= 6) continue
    link(a, b)
    edges++
  }
  return adj
}

/** Whether the nodes not in `removed` form one connected component. */
function connectedWithout(adj: Set<number>[], removed: Set<number>): boolean {
  const alive = [...adj.keys()].filter((i) => !removed.has(i))
  const seen = new Set([alive[0]])
  const todo = [alive[0]]
  while (todo.length > 0) {
    for (const j of adj[todo.pop()!]) if (!removed.has(j) && !seen.has(j)) { seen.add(j); todo.push(j) }
  }
  return seen.size === alive.length
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`)
    await sleep(5)
  }
}

interface Node {
  i: number
  d: Driven
  id: string
  pubsub: AnyActorRef | undefined
  closed: boolean
}
const nodes: Node[] = []

afterAll(async () => {
  await within(Promise.all(nodes.map((n) => n.d.swarm.close())), 10_000, 'closing the swarms')
  await within(Promise.all(nodes.map((n) => n.d.done)), 5000, 'the event streams to end')
  for (const n of nodes) expect(n.d.pumpError).toBeNull()
}, 20_000)

/** The mesh of TOPIC as the node's pubsub actor holds it (read through the inspection API). */
function meshOf(n: Node): string[] {
  const s = (n.pubsub!.getSnapshot() as { context: { s: { topics: Map<string, { mesh: Set<string> }> } } }).context.s
  return [...(s.topics.get(TOPIC)?.mesh ?? [])].sort()
}

const messages = (n: Node): Ev[] => (n.d.events as Ev[]).filter((e) => e.type === 'pubsub.message' && e.topic === TOPIC)

/** A payload whose first 4 bytes are its index (the rest seeded noise). */
function payload(index: number, size: number): Uint8Array {
  const data = new Uint8Array(size)
  for (let i = 4; i < size; i++) data[i] = (random() * 256) | 0
  new DataView(data.buffer).setUint32(0, index)
  return data
}
const indexOf = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0)

interface Sent { index: number; from: Node; data: Uint8Array; publishId: number }
const sent: Sent[] = []

function publish(from: Node, size: number): Sent {
  const index = sent.length
  const data = payload(index, size)
  const publishId = from.d.swarm.publish(TOPIC, data)
  const s = { index, from, data, publishId }
  sent.push(s)
  return s
}

/** The id `pubsub.published` gave a message (throws if it was not published). */
function publishedId(s: Sent): string {
  const e = (s.from.d.events as Ev[]).find((x) => x.type === 'pubsub.published' && x.publishId === s.publishId)
  if (!e) {
    const failed = (s.from.d.events as Ev[]).find((x) => x.type === 'pubsub.publish.failed' && x.publishId === s.publishId)
    throw new Error(`message ${s.index} not published${failed ? `: ${failed.reason}` : ''}`)
  }
  return e.id
}

/** Copies of message `index` that node `n` has received. */
const copies = (n: Node, index: number): number => messages(n).filter((e) => indexOf(e.data) === index).length

describe('pubsub network of 10 swarms over WebSockets', () => {
  it('delivers exactly once, keeps stable meshes, fails loudly, honours unsubscribe, survives two nodes dying, takes a returning subscriber back', async () => {
    const adj = topology()
    // Node U unsubscribes in step 4, the nodes of K are closed in step 5: chosen so that the
    // subscribers left (all but U, then all but U and K) stay connected.
    let U = -1
    let K: number[] = []
    for (let tries = 0; tries < 1000 && U < 0; tries++) {
      const u = Math.floor(random() * N)
      const k1 = Math.floor(random() * N)
      const k2 = Math.floor(random() * N)
      if (new Set([u, k1, k2]).size < 3) continue
      if (!connectedWithout(adj, new Set([u])) || !connectedWithout(adj, new Set([u, k1, k2]))) continue
      U = u
      K = [k1, k2]
    }
    expect(U).toBeGreaterThanOrEqual(0)
    console.log(`topology: ${adj.map((s, i) => `${i}:[${[...s].sort((a, b) => a - b).join(',')}]`).join(' ')}; unsubscriber ${U}, killed ${K.join(',')}`)

    // --- the network ---------------------------------------------------------------------------
    for (let i = 0; i < N; i++) {
      const node: Node = { i, d: undefined as unknown as Driven, id: '', pubsub: undefined, closed: false }
      const swarm = await createSwarm({
        listen: ['ws://127.0.0.1:0'],
        discovery: false,
        seed: SEED + i,
        pubsub: { heartbeatInterval: HEARTBEAT, maxMessageSize: MAX_SIZE },
        inspect: (ev) => {
          const ref = ev.actorRef as AnyActorRef
          if (ev.type === '@xstate.actor' && ref.id === PUBSUB_ACTOR) node.pubsub = ref
        },
      })
      node.d = new Driven(swarm)
      node.id = swarm.peerId
      nodes.push(node)
    }
    const address = await Promise.all(nodes.map(async (n) =>
      ((await n.d.waitFor((e) => e.type === 'swarm.listening', 5000, 0, 'swarm.listening')) as Ev).addresses[0] as string))
    for (let a = 0; a < N; a++) for (const b of adj[a]) if (a < b) nodes[a].d.swarm.dial(address[b])
    const fullyConnected = () => nodes.every((n) => [...adj[n.i]].every((j) => n.d.swarm.isConnected(nodes[j].id)))
    await until(fullyConnected, 10_000, 'every edge of the topology connected')
    for (const n of nodes) expect(n.d.swarm.peers().sort()).toEqual([...adj[n.i]].map((j) => nodes[j].id).sort())

    for (const n of nodes) n.d.swarm.subscribe(TOPIC)
    const seesSubscribed = (n: Node, j: number) => n.d.events.some((e) => e.type === 'pubsub.peer.subscribed'
      && (e as Ev).peer === nodes[j].id && (e as Ev).topic === TOPIC)
    await until(() => nodes.every((n) => [...adj[n.i]].every((j) => seesSubscribed(n, j))), 10_000, 'every neighbour seen subscribed')

    // --- 1. 50 messages, 128 B and 64 KiB, from random nodes -------------------------------------
    const started = performance.now()
    for (let k = 0; k < 50; k++) {
      publish(pick(nodes), random() < 0.3 ? MAX_SIZE : 128)
      if (k % 5 === 4) await sleep(10)
    }
    const first = sent.slice()
    const allArrived = (batch: Sent[], receivers: Node[]) => batch.every((s) => receivers.every((n) => n === s.from || copies(n, s.index) >= 1))
    await until(() => allArrived(first, nodes), 20_000, '50 messages at every subscriber')
    const took = performance.now() - started
    await sleep(5 * HEARTBEAT) // late duplicates would show up here
    const bytes = first.reduce((a, s) => a + s.data.length, 0)
    console.log(`50 messages (${first.filter((s) => s.data.length === MAX_SIZE).length} of 64 KiB, ${(bytes / 1024).toFixed(0)} KiB) at all 9 other subscribers in ${took.toFixed(0)} ms`)
    for (const s of first) {
      const id = publishedId(s)
      expect(id).toMatch(/^[0-9a-f]{40}$/)
      for (const n of nodes) {
        const got = messages(n).filter((e) => indexOf(e.data) === s.index)
        if (n === s.from) { expect(got).toHaveLength(0); continue } // a publisher does not receive its own
        expect(got, `message ${s.index} at node ${n.i}`).toHaveLength(1)
        const [e] = got
        expect(e.topic).toBe(TOPIC)
        expect(e.from).toBe(s.from.id)
        expect(e.id).toBe(id)
        expect(e.data).toBeInstanceOf(Uint8Array)
        expect(Buffer.from(e.data).equals(Buffer.from(s.data))).toBe(true)
      }
    }

    // --- 2. meshes after heartbeats: no churn ----------------------------------------------------
    expect(nodes.every((n) => n.pubsub !== undefined)).toBe(true)
    await sleep(5 * HEARTBEAT)
    const meshes1 = nodes.map(meshOf)
    await sleep(5 * HEARTBEAT)
    const meshes2 = nodes.map(meshOf)
    console.log(`mesh degrees: ${meshes2.map((m) => m.length).join(' ')} (topology degrees ${adj.map((s) => s.size).join(' ')})`)
    for (const n of nodes) {
      expect(n.d.events.filter((e) => e.type === 'peer.disconnected')).toEqual([])
      expect(n.d.swarm.peers().length).toBe(adj[n.i].size)
      expect(meshes2[n.i]).toEqual([...adj[n.i]].map((j) => nodes[j].id).sort())
      expect(meshes2[n.i]).toEqual(meshes1[n.i])
    }

    // --- 3. publish failures are never silent ----------------------------------------------------
    const a = nodes[0].d
    const failure = async (publishId: number) => (await a.waitFor((e) => e.type === 'pubsub.publish.failed'
      && (e as Ev).publishId === publishId, 3000, 0, `pubsub.publish.failed #${publishId}`)) as Ev
    expect(await failure(a.swarm.publish('nobody-here', new Uint8Array(8)))).toMatchObject({ topic: 'nobody-here', reason: 'no-peers' })
    a.swarm.subscribe('only-me')
    await a.waitFor((e) => e.type === 'pubsub.subscribed' && (e as Ev).topic === 'only-me', 3000, 0, 'pubsub.subscribed only-me')
    expect(await failure(a.swarm.publish('only-me', new Uint8Array(8)))).toMatchObject({ topic: 'only-me', reason: 'no-peers' })
    expect(await failure(a.swarm.publish(TOPIC, new Uint8Array(MAX_SIZE + 1)))).toMatchObject({ topic: TOPIC, reason: 'too-large' })
    await sleep(2 * HEARTBEAT)
    for (const n of nodes) {
      expect(n.d.events.some((e) => e.type === 'pubsub.message' && (e as Ev).topic !== TOPIC)).toBe(false)
      expect(messages(n).some((e) => e.data.length > MAX_SIZE)).toBe(false)
    }

    // --- 4. unsubscribe stops delivery to that node ----------------------------------------------
    const u = nodes[U]
    const unsubscribedAt = performance.now()
    u.d.swarm.unsubscribe(TOPIC)
    await u.d.waitFor((e) => e.type === 'pubsub.unsubscribed' && (e as Ev).topic === TOPIC, 3000, 0, 'pubsub.unsubscribed')
    await Promise.all([...adj[U]].map((j) => nodes[j].d.waitFor((e) => e.type === 'pubsub.peer.unsubscribed'
      && (e as Ev).peer === u.id, 3000, unsubscribedAt, `node ${j} sees node ${U} unsubscribe`)))
    const before = messages(u).length
    const subscribers = nodes.filter((n) => n !== u)
    const second: Sent[] = []
    for (let k = 0; k < 10; k++) second.push(publish(pick(subscribers), random() < 0.3 ? MAX_SIZE : 128))
    await until(() => allArrived(second, subscribers), 10_000, '10 messages at every subscriber but the one that left')
    await sleep(3 * HEARTBEAT)
    expect(messages(u).length).toBe(before)
    for (const s of second) {
      publishedId(s)
      for (const n of subscribers) if (n !== s.from) expect(copies(n, s.index), `message ${s.index} at node ${n.i}`).toBe(1)
    }

    // --- 5. two nodes die mid-run ----------------------------------------------------------------
    const killed = K.map((k) => nodes[k])
    const survivors = nodes.filter((n) => !killed.includes(n))
    const receivers = survivors.filter((n) => n !== u)
    const publishers = receivers
    const beforeKill: Sent[] = []
    const afterKill: Sent[] = []
    let closing: Promise<unknown> | undefined
    const killedAt = performance.now()
    for (let k = 0; k < 40; k++) {
      if (k === 10) {
        closing = Promise.all(killed.map((n) => n.d.swarm.close()))
        for (const n of killed) n.closed = true
      }
      ;(k < 10 ? beforeKill : afterKill).push(publish(pick(publishers), random() < 0.3 ? MAX_SIZE : 128))
      await sleep(10)
    }
    await within(closing!, 5000, 'closing the two killed nodes')
    const expected = afterKill.length * (receivers.length - 1)
    const delivered = () => afterKill.reduce((sum, s) => sum + receivers.filter((n) => n !== s.from && copies(n, s.index) >= 1).length, 0)
    await until(() => delivered() === expected, 10_000, 'messages after the kill at every survivor').catch(() => undefined)
    await sleep(3 * HEARTBEAT)
    const got = delivered()
    console.log(`after killing nodes ${K.join(',')}: ${got}/${expected} deliveries (${((100 * got) / expected).toFixed(1)}%) to ${receivers.length} survivors in ${(performance.now() - killedAt).toFixed(0)} ms`)
    expect(got / expected).toBeGreaterThanOrEqual(0.99)
    for (const s of [...beforeKill, ...afterKill]) {
      publishedId(s)
      for (const n of receivers) if (n !== s.from) expect(copies(n, s.index), `message ${s.index} at node ${n.i}`).toBeLessThanOrEqual(1)
    }
    expect(messages(u).length).toBe(before)
    // The survivors lost exactly the killed nodes, for the reason the killed nodes gave.
    for (const n of survivors) {
      const lost = (n.d.events as Ev[]).filter((e) => e.type === 'peer.disconnected')
      expect(lost.map((e) => e.peer).sort()).toEqual(killed.filter((k) => adj[n.i].has(k.i)).map((k) => k.id).sort())
      for (const e of lost) expect(e.reason).toBe('swarm-closed')
    }

    // --- 6. the node that left comes back: delivery resumes ---------------------------------------
    // Still within unsubscribeBackoff (10 s) of leaving, so its old mesh peers will not graft it
    // (nor it them) yet: what reaches it comes by flood publishing and gossip (IHAVE/IWANT).
    const resubscribedAt = performance.now()
    u.d.swarm.subscribe(TOPIC)
    await u.d.waitFor((e) => e.type === 'pubsub.subscribed' && (e as Ev).topic === TOPIC, 3000, resubscribedAt, 'pubsub.subscribed again')
    await Promise.all([...adj[U]].filter((j) => !K.includes(j)).map((j) => nodes[j].d.waitFor((e) => e.type === 'pubsub.peer.subscribed'
      && (e as Ev).peer === u.id, 3000, resubscribedAt, `node ${j} sees node ${U} subscribe again`)))
    const third: Sent[] = []
    for (let k = 0; k < 10; k++) third.push(publish(pick(publishers), 128))
    const everyone = [...receivers, u]
    await until(() => allArrived(third, everyone), 10_000, '10 messages at every subscriber, the one back included').catch(() => undefined)
    await sleep(3 * HEARTBEAT)
    const back = third.filter((s) => copies(u, s.index) >= 1).length
    console.log(`after re-subscribing: ${back}/${third.length} messages at node ${U} in ${(performance.now() - resubscribedAt).toFixed(0)} ms; mesh ${meshOf(u).length}`)
    for (const s of third) for (const n of everyone) if (n !== s.from) expect(copies(n, s.index), `message ${s.index} at node ${n.i}`).toBe(1)
  }, 45_000)
})
