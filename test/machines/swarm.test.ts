/**
 * The root swarm machine with no shell: `survivor()` as a property, the root alone (limits,
 * self-dial, refusals), and two or three roots wired together by a ten-line in-test "network"
 * that performs their effects (dial, send, close, bind) and feeds the answers back as inputs,
 * with the real connection machine and its Noise handshake region (noble crypto) and a SimulatedClock.
 * @module
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createActor, emit, setup, SimulatedClock, type Actor } from 'xstate'
import { HANDSHAKE_PROTOCOL, identityBindingMessage } from '../../machines/handshake.machine.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, type Limits, type Timeouts } from '../../machines/lib/limits.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { defineProtocol, type ProtocolDefinition } from '../../machines/lib/protocol.js'
import { createDrbg, createRng, drbgBytes, nextFloat } from '../../machines/lib/rng.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { survivor, swarmMachine, type SwarmInput } from '../../machines/swarm.machine.js'
import { connectionsOf } from '../../machines/swarm/registry.js'
import { Reasons, type Direction } from '../../machines/vocab.js'
import { seal } from '../../machines/lib/secret.js'
import { startRunningRoot } from './swarm-fixtures.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'

type Ev = { type: string; [k: string]: any }

function seeded(seed: number): (n: number) => Uint8Array {
  const key = new Uint8Array(32)
  new DataView(key.buffer).setUint32(0, seed)
  const drbg = createDrbg(key)
  return (n) => drbgBytes(drbg, n)
}

function rootInput(seed: number, over: { limits?: Partial<Limits>; timeouts?: Partial<Timeouts>; protocols?: ProtocolDefinition[] } = {}): SwarmInput {
  const random = seeded(seed)
  const suite = nobleSuite
  const secret = random(32)
  const identityKey = suite.ed25519PublicKey(secret)
  const privateKey = random(32)
  const staticKey = { privateKey, publicKey: suite.x25519PublicKey(privateKey) }
  return {
    peerId: peerIdFromPublicKey(suite.sha256, identityKey),
    suite,
    identityKey,
    signers: createSignerIssuer(suite, secret),
    noiseKeys: seal({ staticKey, identitySignature: suite.ed25519Sign(secret, identityBindingMessage(staticKey.publicKey)) }),
    seed: seal(random(32)),
    limits: { ...DEFAULT_LIMITS, ...over.limits },
    timeouts: { ...DEFAULT_TIMEOUTS, ...over.timeouts },
    protocols: over.protocols ?? [],
  }
}

// ---------------------------------------------------------------------------------------------

describe('survivor(): both sides pick the same connection', () => {
  const flip = (d: Direction): Direction => (d === 'outbound' ? 'inbound' : 'outbound')
  const arbConn = fc.record({
    direction: fc.constantFrom<Direction>('outbound', 'inbound'),
    handshakeHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })

  it('is symmetric across the two peers and independent of the order the connections authenticated', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), arbConn, arbConn, (self, peer, x, y) => {
        fc.pre(self !== peer)
        fc.pre(x.direction !== y.direction || Buffer.compare(x.handshakeHash, y.handshakeHash) !== 0)
        // The same two connections as the remote sees them: directions flipped, hashes shared.
        const xr = { direction: flip(x.direction), handshakeHash: x.handshakeHash }
        const yr = { direction: flip(y.direction), handshakeHash: y.handshakeHash }
        const here = survivor(self, x, y, peer) === 'a' ? 'x' : 'y'
        const hereSwapped = survivor(self, y, x, peer) === 'a' ? 'y' : 'x'
        const there = survivor(peer, xr, yr, self) === 'a' ? 'x' : 'y'
        const thereSwapped = survivor(peer, yr, xr, self) === 'a' ? 'y' : 'x'
        expect(new Set([here, hereSwapped, there, thereSwapped]).size).toBe(1)
      }),
      { numRuns: 2000 },
    )
  })

  it('prefers the connection dialed by the smaller peer id', () => {
    const h = new Uint8Array(32)
    expect(survivor('a', { direction: 'outbound', handshakeHash: h }, { direction: 'inbound', handshakeHash: h }, 'b')).toBe('a')
    expect(survivor('b', { direction: 'outbound', handshakeHash: h }, { direction: 'inbound', handshakeHash: h }, 'a')).toBe('b')
  })
})

// ---------------------------------------------------------------------------------------------
// The root alone: inputs in, effects and events out.

const startRoot = startRunningRoot

describe('root machine alone', () => {
  it('cmd.dial to its own peer id → dial.failed self-dial, and nothing is dialed', () => {
    const input = rootInput(1)
    const r = startRoot(input)
    r.send({ type: 'cmd.dial', address: `memory://x/p2p/${input.peerId}`, url: 'memory://x', peer: input.peerId })
    expect(r.out).toEqual([{ type: 'dial.failed', address: `memory://x/p2p/${input.peerId}`, reason: Reasons.selfDial, peer: input.peerId }])
  })

  it('a protocol\'s dial of an address it cannot parse → dial.failed invalid-address', () => {
    const r = startRoot(rootInput(1))
    r.send({ type: 'proto.dial', address: 'http://nope' })
    expect(r.out).toEqual([{ type: 'dial.failed', address: 'http://nope', reason: 'invalid-address' }])
  })

  it('inbound connections over maxConnections are closed with too-many-connections', () => {
    const r = startRoot(rootInput(1, { limits: { maxConnections: 2 } }))
    for (const connId of [1, 2, 3]) r.send({ type: 'io.conn.opened', connId, remoteAddr: `memory://t-${connId}` })
    expect(r.of('effect.close')).toEqual([{ type: 'effect.close', connId: 3, reason: Reasons.tooManyConnections }])
    // A dial is refused too, without an effect.dial.
    r.send({ type: 'cmd.dial', address: 'memory://z', url: 'memory://z' })
    expect(r.of('effect.dial')).toEqual([])
    expect(r.of('dial.failed')).toEqual([{ type: 'dial.failed', address: 'memory://z', reason: Reasons.tooManyConnections }])
  })

  it('over maxPendingConnections the oldest pending inbound connection is shed (too-many-pending-connections), not the newest', () => {
    const r = startRoot(rootInput(1, { limits: { maxPendingConnections: 2 } }))
    for (const connId of [1, 2, 3, 4]) r.send({ type: 'io.conn.opened', connId, remoteAddr: `memory://t-${connId}` })
    expect(r.of('effect.close')).toEqual([
      { type: 'effect.close', connId: 1, reason: Reasons.tooManyPending },
      { type: 'effect.close', connId: 2, reason: Reasons.tooManyPending },
    ])
  })

  it('a pending connection that has spoken is shed after the silent ones', () => {
    const r = startRoot(rootInput(1, { limits: { maxPendingConnections: 2 } }))
    r.send({ type: 'io.conn.opened', connId: 1, remoteAddr: 'memory://t-1' })
    // Handshake message 1 (flags byte, an ephemeral key): connection 1 answers it and stays pending.
    r.send({ type: 'io.conn.frame', connId: 1, protocol: HANDSHAKE_PROTOCOL, body: Uint8Array.of(0, ...new Array(32).fill(9)) })
    r.send({ type: 'io.conn.opened', connId: 2, remoteAddr: 'memory://t-2' })
    r.send({ type: 'io.conn.opened', connId: 3, remoteAddr: 'memory://t-3' })
    expect(r.of('effect.close')).toEqual([{ type: 'effect.close', connId: 2, reason: Reasons.tooManyPending }])
  })

  it('dials over maxPendingDials → dial.failed too-many-pending-dials; a failed dial frees its slot', () => {
    const r = startRoot(rootInput(1, { limits: { maxPendingDials: 2 } }))
    for (const n of [1, 2, 3]) r.send({ type: 'cmd.dial', address: `memory://n${n}`, url: `memory://n${n}` })
    expect(r.of('effect.dial')).toEqual([
      { type: 'effect.dial', dialId: 1, url: 'memory://n1' },
      { type: 'effect.dial', dialId: 2, url: 'memory://n2' },
    ])
    expect(r.of('dial.failed')).toEqual([{ type: 'dial.failed', address: 'memory://n3', reason: Reasons.tooManyDials }])
    r.send({ type: 'io.dial.failed', dialId: 1, reason: 'connection-refused' })
    expect(r.of('dial.failed')[1]).toEqual({ type: 'dial.failed', address: 'memory://n1', reason: 'connection-refused' })
    r.send({ type: 'cmd.dial', address: 'memory://n4', url: 'memory://n4' })
    expect(r.of('effect.dial').at(-1)).toEqual({ type: 'effect.dial', dialId: 3, url: 'memory://n4' })
  })

  it('a dial that times out is reported, and its late connection is closed at once', () => {
    const r = startRoot(rootInput(1, { timeouts: { dial: 100 } }))
    r.send({ type: 'cmd.dial', address: 'memory://slow', url: 'memory://slow' })
    r.clock.increment(100)
    expect(r.of('dial.failed')).toEqual([{ type: 'dial.failed', address: 'memory://slow', reason: Reasons.dialTimeout }])
    r.send({ type: 'io.conn.opened', connId: 9, dialId: 1, remoteAddr: 'memory://slow' })
    expect(r.of('effect.close')).toEqual([{ type: 'effect.close', connId: 9, reason: Reasons.dialTimeout }])
  })

  it('frames for unknown connections are ignored; closing with no connections goes straight to closed', () => {
    const r = startRoot(rootInput(1))
    r.send({ type: 'io.conn.frame', connId: 42, protocol: '/x/1', body: 1 })
    r.send({ type: 'io.conn.closed', connId: 42, reason: 'x', byRemote: true })
    r.send({ type: 'cmd.close' })
    expect(r.out.map((e) => e.type)).toEqual(['effect.unlisten', 'swarm.closed'])
    expect(r.root.getSnapshot().status).toBe('done')
  })

  it('a protocol actor that throws is reported and restarted (3 times within a minute), then given up for good; the root keeps running', () => {
    let started = 0
    const boom = setup({}).createMachine({
      entry: () => { started++ },
      on: { 'boom.now': { actions: () => { throw new Error('kaboom') } } },
    })
    const r = startRoot(rootInput(1, { protocols: [defineProtocol({ id: '/test/boom/1', machine: boom })] }))
    const failure = { type: 'swarm.error', code: 'protocol-failed', message: 'protocol:/test/boom/1: kaboom', protocol: '/test/boom/1' }
    for (let i = 1; i <= 4; i++) r.send({ type: 'cmd.protocol', protocol: '/test/boom/1', event: { type: 'boom.now' } })
    expect(r.of('swarm.error')).toEqual([failure, failure, failure, { ...failure, final: true }])
    expect(r.of('protocol.restarted').map((e) => e.restarts)).toEqual([1, 2, 3])
    expect(started).toBe(4)
    expect(r.root.getSnapshot().status).toBe('active')
  })
})

// ---------------------------------------------------------------------------------------------
// Several roots on a tiny in-test network.

interface NetNode { name: string; peerId: string; root: Actor<typeof swarmMachine>; events: Ev[]; binds: Map<string, number>; connSeq: number }
interface Link { node: NetNode; connId: number; remote?: Link; open: boolean }

/** Performs effects of several roots and feeds the answers back, FIFO, never re-entrantly. */
class MachineNet {
  readonly clock = new SimulatedClock()
  readonly nodes = new Map<string, NetNode>()
  private readonly links = new Map<string, Link>()
  private readonly queue: [NetNode, Ev][] = []
  /** Deliveries held back by `hold` (to reorder the network); `release()` queues them again. */
  private readonly held: [NetNode, Ev][] = []
  hold: ((node: NetNode, event: Ev) => boolean) | null = null

  release(): void {
    this.hold = null
    this.queue.push(...this.held.splice(0))
    this.run()
  }

  add(name: string, input: SwarmInput): NetNode {
    const root = createActor(swarmMachine, { input, clock: this.clock, systemId: 'swarm' })
    const node: NetNode = { name, peerId: input.peerId, root, events: [], binds: new Map(), connSeq: 0 }
    const sink = (e: { type: string }) => this.effect(node, e as Ev)
    bindRuntime(root, { sink, now: () => this.clock.now() })
    root.on('*', sink as never)
    root.start()
    root.send({ type: 'cmd.start' })
    this.nodes.set(name, node)
    return node
  }

  input(node: NetNode, event: Ev): void {
    this.queue.push([node, event])
    this.run()
  }

  advance(ms: number): void {
    this.clock.increment(ms)
    this.run()
  }

  /**
   * With `random`, deliveries on different connections interleave in a random order (as on a
   * real network: connections are not ordered with each other); each connection stays FIFO.
   */
  random: (() => number) | null = null
  /** Called before each delivery with its index (to inject user commands mid-flight). */
  onStep: ((i: number) => void) | null = null

  private next(): [NetNode, Ev] {
    if (!this.random) return this.queue.shift()!
    const channel = ([node, e]: [NetNode, Ev]) => `${node.name}:${e.connId ?? `dial${e.dialId ?? ''}`}`
    const channels = [...new Set(this.queue.map(channel))]
    const pick = channels[Math.floor(this.random() * channels.length)]
    const i = this.queue.findIndex((item) => channel(item) === pick)
    return this.queue.splice(i, 1)[0]
  }

  run(): void {
    for (let i = 0; this.queue.length > 0; i++) {
      if (i > 100_000) throw new Error('MachineNet: no quiescence')
      this.onStep?.(i)
      const [node, event] = this.next()
      if (this.hold?.(node, event)) {
        this.held.push([node, event])
        continue
      }
      if (node.root.getSnapshot().status === 'active') node.root.send(event as never)
    }
  }

  /** The bound connection of `node` to `peer`, as (node, connId) of both ends. */
  boundLink(node: NetNode, peer: string): Link | undefined {
    const connId = node.binds.get(peer)
    return connId === undefined ? undefined : this.links.get(`${node.name}:${connId}`)
  }

  private link(node: NetNode): Link {
    const l: Link = { node, connId: ++node.connSeq, open: true }
    this.links.set(`${node.name}:${l.connId}`, l)
    return l
  }

  private effect(node: NetNode, e: Ev): void {
    switch (e.type) {
      case 'effect.dial': {
        const target = this.nodes.get(String(e.url).replace('memory://', ''))
        if (!target) return void this.queue.push([node, { type: 'io.dial.failed', dialId: e.dialId, reason: 'connection-refused' }])
        const mine = this.link(node)
        const theirs = this.link(target)
        mine.remote = theirs
        theirs.remote = mine
        this.queue.push([target, { type: 'io.conn.opened', connId: theirs.connId, remoteAddr: `memory://${node.name}-${mine.connId}` }])
        this.queue.push([node, { type: 'io.conn.opened', connId: mine.connId, dialId: e.dialId, remoteAddr: e.url }])
        return
      }
      case 'effect.send': {
        const connId = e.connId ?? node.binds.get(e.peer)
        const l = this.links.get(`${node.name}:${connId}`)
        if (!l?.open || !l.remote?.open) return
        this.queue.push([l.remote.node, { type: 'io.conn.frame', connId: l.remote.connId, protocol: e.protocol, body: e.body }])
        return
      }
      case 'effect.close': {
        const l = this.links.get(`${node.name}:${e.connId}`)
        if (!l?.open) return
        l.open = false
        if (l.remote?.open) {
          l.remote.open = false
          this.queue.push([l.remote.node, { type: 'io.conn.closed', connId: l.remote.connId, reason: e.reason, byRemote: true }])
        }
        this.queue.push([node, { type: 'io.conn.closed', connId: l.connId, reason: e.reason, byRemote: false }])
        return
      }
      case 'effect.bind':
        if (e.connId === undefined) node.binds.delete(e.peer)
        else node.binds.set(e.peer, e.connId)
        return
      case 'effect.secure':
      case 'effect.unlisten':
      case 'effect.call':
        return
      default:
        node.events.push(e)
    }
  }
}

const types = (n: NetNode, prefix = 'peer.') => n.events.filter((e) => e.type.startsWith(prefix)).map((e) => `${e.type}`)

describe('roots on a tiny network (real connection machines and handshakes)', () => {
  it('A dials B: both connect once, with directions; a second dial is refused already-connected', () => {
    const net = new MachineNet()
    const a = net.add('a', rootInput(1))
    const b = net.add('b', rootInput(2))
    net.input(a, { type: 'cmd.dial', address: `memory://b/p2p/${b.peerId}`, url: 'memory://b', peer: b.peerId })
    expect(a.events).toEqual([{ type: 'peer.connected', peer: b.peerId, address: `memory://b/p2p/${b.peerId}`, direction: 'outbound' }])
    expect(b.events).toEqual([{ type: 'peer.connected', peer: a.peerId, address: 'memory://a-1', direction: 'inbound' }])
    net.input(a, { type: 'cmd.dial', address: `memory://b/p2p/${b.peerId}`, url: 'memory://b', peer: b.peerId })
    expect(a.events.at(-1)).toMatchObject({ type: 'dial.failed', reason: Reasons.alreadyConnected })
  })

  it('dialing the wrong /p2p id → dial.failed peer-id-mismatch; the remote sees no peer', () => {
    const net = new MachineNet()
    const a = net.add('a', rootInput(1))
    const b = net.add('b', rootInput(2))
    const c = rootInput(3).peerId
    net.input(a, { type: 'cmd.dial', address: `memory://b/p2p/${c}`, url: 'memory://b', peer: c })
    expect(a.events).toEqual([{ type: 'dial.failed', address: `memory://b/p2p/${c}`, reason: Reasons.peerIdMismatch, peer: c }])
    // B authenticated A and accepted it before A's close arrived: B may see connect + disconnect, never a dangling peer.
    expect(b.root.getSnapshot().context.peers.size).toBe(0)
  })

  it('dialing its own address without a peer id → dial.failed self-dial', () => {
    const net = new MachineNet()
    const a = net.add('a', rootInput(1))
    net.input(a, { type: 'cmd.dial', address: 'memory://a', url: 'memory://a' })
    expect(a.events.filter((e) => e.type === 'dial.failed')).toEqual([{ type: 'dial.failed', address: 'memory://a', reason: Reasons.selfDial }])
    expect(a.root.getSnapshot().context.conns.size).toBe(0)
  })

  it('simultaneous dials A↔B (and A dialing B twice): one peer.connected per side, no flap, both keep the same link', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const net = new MachineNet()
      const a = net.add('a', rootInput(seed * 2))
      const b = net.add('b', rootInput(seed * 2 + 1))
      const dialB = { type: 'cmd.dial', address: `memory://b/p2p/${b.peerId}`, url: 'memory://b', peer: b.peerId }
      const dialA = { type: 'cmd.dial', address: `memory://a/p2p/${a.peerId}`, url: 'memory://a', peer: a.peerId }
      // Queue all three before any is settled: their handshakes interleave.
      net['queue'].push([a, dialB], [b, dialA], [a, { ...dialB, address: 'memory://b', peer: undefined }])
      net.run()
      expect(types(a), `seed ${seed}`).toEqual(['peer.connected'])
      expect(types(b), `seed ${seed}`).toEqual(['peer.connected'])
      const la = net.boundLink(a, b.peerId)!
      const lb = net.boundLink(b, a.peerId)!
      expect(la.open && lb.open).toBe(true)
      expect(la.remote).toBe(lb)
      // Only the survivor is left, and it stays up across keep-alives.
      expect(a.root.getSnapshot().context.conns.size).toBe(1)
      expect(b.root.getSnapshot().context.conns.size).toBe(1)
      net.advance(DEFAULT_TIMEOUTS.keepAlive * 3)
      expect(types(a)).toEqual(['peer.connected'])
      expect(a.events.filter((e) => e.type === 'dial.failed')).toEqual([])
    }
  })

  const inputs = [rootInput(21), rootInput(22)]
  /** Two roots, A→B twice and B→A once (or twice with `four`), delivered in the order `seed` picks. */
  function racingDials(seed: number, four: boolean) {
    const rng = createRng(seed)
    const net = new MachineNet()
    net.random = () => nextFloat(rng)
    const a = net.add('a', inputs[0])
    const b = net.add('b', inputs[1])
    const errors: unknown[] = []
    for (const n of [a, b]) n.root.subscribe({ error: (err) => { errors.push(err) } })
    const dial = (from: NetNode, to: NetNode) => [from, { type: 'cmd.dial', address: `memory://${to.name}`, url: `memory://${to.name}` }] as [NetNode, Ev]
    net['queue'].push(dial(a, b), dial(b, a), dial(a, b))
    if (four) net['queue'].push(dial(b, a))
    net.run()
    return { net, a, b, errors }
  }

  // Regression: the peer can be bound to a replacement that is secured but not yet confirmed;
  // when another connection to that peer then authenticates, the tie-break must still work
  // (it used to read the replacement's missing handshake hash and crash the root). Found by the
  // interleaving property below (seeds 736954919 with three connections, 1356812547 with four).
  it('racing connections where the peer moved to an unconfirmed replacement: the root does not crash', () => {
    const { a, b, errors } = racingDials(736954919, false)
    expect(errors).toEqual([])
    expect(a.root.getSnapshot().status).toBe('active')
    expect(types(a)).toEqual(['peer.connected'])
    expect(types(b)).toEqual(['peer.connected'])
  })

  it('duplicate dials under any interleaving of the connections: one peer.connected per side, the same link kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), (seed, four) => {
        const { net, a, b, errors } = racingDials(seed, four)
        expect(errors).toEqual([])
        expect(types(a)).toEqual(['peer.connected'])
        expect(types(b)).toEqual(['peer.connected'])
        const la = net.boundLink(a, b.peerId)!
        expect(la.open && la.remote!.open).toBe(true)
        expect(la.remote).toBe(net.boundLink(b, a.peerId))
        expect(a.root.getSnapshot().context.conns.size).toBe(1)
        expect(b.root.getSnapshot().context.conns.size).toBe(1)
        net.advance(DEFAULT_TIMEOUTS.keepAlive * 2)
        expect(types(a)).toEqual(['peer.connected'])
        expect(types(b)).toEqual(['peer.connected'])
      }),
      // A fixed seed keeps the run deterministic; XSWARM_FC_RUNS=1000 searches further.
      { numRuns: Number(process.env.XSWARM_FC_RUNS ?? 40), seed: 20261124 },
    )
  }, 120_000)

  // Regression: the per-peer limit used to be checked before duplicate resolution, so with more
  // connections racing than it allows, one side could refuse the connection the other side's
  // survivor rule had kept, and the pair flapped (connected, then disconnected
  // `too-many-connections-per-peer`). The survivor is decided first now and never refused.
  it('more connections racing than maxConnectionsPerPeer (five, limit 2): one survivor on both sides, no flap, never over the limit', () => {
    const limited = [rootInput(21, { limits: { maxConnectionsPerPeer: 2 } }), rootInput(22, { limits: { maxConnectionsPerPeer: 2 } })]
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const rng = createRng(seed)
        const net = new MachineNet()
        net.random = () => nextFloat(rng)
        const a = net.add('a', limited[0])
        const b = net.add('b', limited[1])
        let most = 0
        net.onStep = () => {
          for (const [n, other] of [[a, b], [b, a]] as const) most = Math.max(most, connectionsOf(n.root.getSnapshot().context, other.peerId))
        }
        const dial = (to: NetNode): Ev => ({ type: 'cmd.dial', address: `memory://${to.name}`, url: `memory://${to.name}` })
        net['queue'].push([a, dial(b)], [b, dial(a)], [a, dial(b)], [b, dial(a)], [a, dial(b)])
        net.run()
        expect(types(a), `seed ${seed}`).toEqual(['peer.connected'])
        expect(types(b), `seed ${seed}`).toEqual(['peer.connected'])
        expect(net.boundLink(a, b.peerId)?.remote).toBe(net.boundLink(b, a.peerId))
        expect(most).toBeLessThanOrEqual(2)
        net.advance(DEFAULT_TIMEOUTS.close + DEFAULT_TIMEOUTS.keepAlive * 2)
        expect(types(a)).toEqual(['peer.connected'])
        expect(types(b)).toEqual(['peer.connected'])
        expect(a.root.getSnapshot().context.conns.size).toBe(1)
      }),
      { numRuns: Number(process.env.XSWARM_FC_RUNS ?? 12), seed: 20261204 },
    )
  }, 120_000)

  it('a hang-up or a close injected at any point of a race leaves both sides consistent (events alternate, no ghosts)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 60 }), fc.constantFrom('hangUp', 'close'), (seed, at, what) => {
        const rng = createRng(seed)
        const net = new MachineNet()
        net.random = () => nextFloat(rng)
        const a = net.add('a', inputs[0])
        const b = net.add('b', inputs[1])
        const errors: unknown[] = []
        for (const n of [a, b]) n.root.subscribe({ error: (err) => { errors.push(err) } })
        let injected = false
        const inject = () => {
          injected = true
          net['queue'].push([a, what === 'close' ? { type: 'cmd.close' } : { type: 'cmd.hangUp', peer: b.peerId, reason: 'bye' }])
        }
        net.onStep = (i) => { if (i === at) inject() }
        net['queue'].push(
          [a, { type: 'cmd.dial', address: 'memory://b', url: 'memory://b' }],
          [b, { type: 'cmd.dial', address: 'memory://a', url: 'memory://a' }],
        )
        net.run()
        if (!injected) {
          inject() // the race was over before step `at`
          net.run()
        }
        net.advance(DEFAULT_TIMEOUTS.handshake + DEFAULT_TIMEOUTS.close)
        net.advance(DEFAULT_TIMEOUTS.keepAlive + DEFAULT_TIMEOUTS.pingTimeout)
        expect(errors).toEqual([])
        for (const [n, other] of [[a, b], [b, a]] as const) {
          const seq = types(n)
          seq.forEach((t, i) => expect(t, `${n.name}: ${seq.join(', ')}`).toBe(i % 2 === 0 ? 'peer.connected' : 'peer.disconnected'))
          const connected = seq.at(-1) === 'peer.connected'
          const ctx = n.root.getSnapshot().status === 'active' ? n.root.getSnapshot().context : undefined
          if (ctx) expect(ctx.peers.has(other.peerId), n.name).toBe(connected)
          if (connected) expect(net.boundLink(n, other.peerId)?.open, n.name).toBe(true)
        }
        // Both sides agree in the end.
        expect(types(a).at(-1) === 'peer.connected').toBe(types(b).at(-1) === 'peer.connected')
        if (what === 'close') expect(a.events.at(-1)).toEqual({ type: 'swarm.closed' })
      }),
      { numRuns: Number(process.env.XSWARM_FC_RUNS ?? 40), seed: 20261125 },
    )
  }, 120_000)

  // Regression: two connections are not ordered with each other, so the remote's close of the
  // losing older connection ('duplicate') may arrive before the newer one is confirmed here
  // (the responder's `ready`); the peer must stay connected through it (no flap).
  const holdReadyTo = (target: NetNode) => (node: NetNode, e: Ev) =>
    node === target && e.type === 'io.conn.frame' && e.protocol === '/xswarm/conn/1' && Array.isArray(e.body) && e.body[0] === 2

  it('no flap when the close of the losing older connection overtakes the newer one\'s confirmation', () => {
    const net = new MachineNet()
    const x = net.add('x', rootInput(5))
    const y = net.add('y', rootInput(6))
    const [small, large] = x.peerId < y.peerId ? [x, y] : [y, x]
    // Old connection: dialed by the larger id. New one: dialed by the smaller id, so it wins on both sides.
    net.input(large, { type: 'cmd.dial', address: `memory://${small.name}`, url: `memory://${small.name}` })
    expect(types(small)).toEqual(['peer.connected'])
    const old = net.boundLink(small, large.peerId)!
    net.hold = holdReadyTo(small)
    net.input(small, { type: 'cmd.dial', address: `memory://${large.name}`, url: `memory://${large.name}` })
    expect(old.open).toBe(false) // the large side accepted the new one and closed the old as a duplicate
    expect(types(small)).toEqual(['peer.connected']) // still connected while the replacement confirms
    net.release()
    expect(types(small)).toEqual(['peer.connected'])
    expect(types(large)).toEqual(['peer.connected'])
    expect(net.boundLink(small, large.peerId)?.remote).toBe(net.boundLink(large, small.peerId))
  })

  it('a replacement that never confirms: the peer is disconnected when its handshake times out', () => {
    const net = new MachineNet()
    const x = net.add('x', rootInput(5, { timeouts: { handshake: 1000 } }))
    const y = net.add('y', rootInput(6, { timeouts: { handshake: 1000 } }))
    const [small, large] = x.peerId < y.peerId ? [x, y] : [y, x]
    net.input(large, { type: 'cmd.dial', address: `memory://${small.name}`, url: `memory://${small.name}` })
    net.hold = holdReadyTo(small)
    net.input(small, { type: 'cmd.dial', address: `memory://${large.name}`, url: `memory://${large.name}` })
    expect(types(small)).toEqual(['peer.connected'])
    net.advance(1000)
    expect(types(small)).toEqual(['peer.connected', 'peer.disconnected'])
    expect(small.events.filter((e) => e.type === 'peer.disconnected')).toEqual([{ type: 'peer.disconnected', peer: large.peerId, reason: Reasons.handshakeTimeout }])
  })

  // Regression: while the replacement confirms, the peer is bound to it, so sends are not dropped.
  it('frames a protocol sends to the peer while the replacement confirms are not lost', () => {
    const got: Ev[] = []
    const talk = setup({}).createMachine({
      on: {
        say: { actions: emit(({ event }) => ({ type: 'effect.send', peer: (event as Ev).peer, protocol: '/test/talk/1', body: 'hi' }) as never) },
        message: { actions: ({ event }) => { got.push(event as Ev) } },
      },
    })
    const proto = defineProtocol({ id: '/test/talk/1', machine: talk })
    const net = new MachineNet()
    const x = net.add('x', rootInput(5, { protocols: [proto] }))
    const y = net.add('y', rootInput(6, { protocols: [proto] }))
    const [small, large] = x.peerId < y.peerId ? [x, y] : [y, x]
    net.input(large, { type: 'cmd.dial', address: `memory://${small.name}`, url: `memory://${small.name}` })
    net.hold = holdReadyTo(small)
    net.input(small, { type: 'cmd.dial', address: `memory://${large.name}`, url: `memory://${large.name}` })
    expect(types(small)).toEqual(['peer.connected']) // connected, as far as small's user knows
    net.input(small, { type: 'cmd.protocol', protocol: '/test/talk/1', event: { type: 'say', peer: large.peerId } })
    net.release()
    expect(got).toEqual([{ type: 'message', peer: small.peerId, body: 'hi' }])
  })

  // Regression: a hang-up reaches the replacement connection too, and the peer goes at once.
  it('hang-up while the peer waits for its replacement connection: disconnected at once with the hang-up reason', () => {
    const net = new MachineNet()
    const x = net.add('x', rootInput(5))
    const y = net.add('y', rootInput(6))
    const [small, large] = x.peerId < y.peerId ? [x, y] : [y, x]
    net.input(large, { type: 'cmd.dial', address: `memory://${small.name}`, url: `memory://${small.name}` })
    net.hold = holdReadyTo(small)
    net.input(small, { type: 'cmd.dial', address: `memory://${large.name}`, url: `memory://${large.name}` })
    expect(types(small)).toEqual(['peer.connected'])
    net.input(small, { type: 'cmd.hangUp', peer: large.peerId, reason: 'bye' })
    expect(small.events.at(-1)).toEqual({ type: 'peer.disconnected', peer: large.peerId, reason: 'bye' })
    expect(small.root.getSnapshot().context.peers.size).toBe(0)
  })

  it('hang-up: both sides see peer.disconnected, the remote with the reason given', () => {
    const net = new MachineNet()
    const a = net.add('a', rootInput(1))
    const b = net.add('b', rootInput(2))
    net.input(a, { type: 'cmd.dial', address: 'memory://b', url: 'memory://b' })
    net.input(a, { type: 'cmd.hangUp', peer: b.peerId, reason: 'bye' })
    expect(a.events.at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'bye' })
    expect(b.events.at(-1)).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: 'bye' })
    expect(a.binds.size + b.binds.size).toBe(0)
  })

  it('cmd.close: protocols hear swarm.closing first, peers see swarm-closed, the root ends with swarm.closed; dials are refused meanwhile', () => {
    const heard: string[] = []
    const spy = setup({}).createMachine({
      on: { '*': { actions: ({ event }) => { heard.push(event.type) } } },
    })
    const net = new MachineNet()
    const a = net.add('a', rootInput(1, { protocols: [defineProtocol({ id: '/test/spy/1', machine: spy })] }))
    const b = net.add('b', rootInput(2))
    net.input(a, { type: 'cmd.dial', address: 'memory://b', url: 'memory://b' })
    net['queue'].push([a, { type: 'cmd.close' }], [a, { type: 'cmd.dial', address: 'memory://c', url: 'memory://c' }])
    net.run()
    expect(heard.slice(0, 2)).toEqual(['peer.connected', 'swarm.closing'])
    expect(b.events.at(-1)).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: Reasons.swarmClosed })
    expect(a.events.map((e) => e.type)).toEqual(['peer.connected', 'dial.failed', 'peer.disconnected', 'swarm.closed'])
    expect(a.events[1]).toEqual({ type: 'dial.failed', address: 'memory://c', reason: Reasons.swarmClosed })
    expect(a.root.getSnapshot().status).toBe('done')
  })

  // Regression: protocols are stopped through the same deferred path as `sendTo`, so they hear
  // the last peer.disconnected of a closing swarm before they stop.
  it('on close, protocols hear peer.disconnected for their peers before they are stopped', () => {
    const heard: string[] = []
    const spy = setup({}).createMachine({
      on: { '*': { actions: ({ event }) => { heard.push(event.type) } } },
    })
    const net = new MachineNet()
    const a = net.add('a', rootInput(1, { protocols: [defineProtocol({ id: '/test/spy/1', machine: spy })] }))
    const b = net.add('b', rootInput(2))
    net.input(a, { type: 'cmd.dial', address: 'memory://b', url: 'memory://b' })
    net.input(a, { type: 'cmd.close' })
    expect(a.events.map((e) => e.type)).toEqual(['peer.connected', 'peer.disconnected', 'swarm.closed'])
    expect(heard).toEqual(['peer.connected', 'swarm.closing', 'peer.disconnected']) // fails: the last is never delivered
    expect(b.events.at(-1)).toMatchObject({ type: 'peer.disconnected' })
  })

  it('keep-alive across a silent link: a remote that stops answering is dropped with ping-timeout', () => {
    const net = new MachineNet()
    const a = net.add('a', rootInput(1))
    const b = net.add('b', rootInput(2))
    net.input(a, { type: 'cmd.dial', address: 'memory://b', url: 'memory://b' })
    b.root.stop() // B goes silent: its actor no longer answers anything
    net.advance(DEFAULT_TIMEOUTS.keepAlive)
    expect(types(a)).toEqual(['peer.connected'])
    net.advance(DEFAULT_TIMEOUTS.pingTimeout)
    expect(a.events.at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: Reasons.pingTimeout })
  })

  it('protocol frames reach the protocol actor of the receiving side as `message` with the sender', () => {
    const got: Ev[] = []
    const echo = setup({}).createMachine({
      on: {
        'peer.connected': { actions: emit(({ event }) => ({ type: 'effect.send', peer: (event as Ev).peer, protocol: '/test/echo/1', body: 'hi' }) as never) },
        message: { actions: ({ event }) => { got.push(event as Ev) } },
      },
    })
    const proto = defineProtocol({ id: '/test/echo/1', machine: echo })
    const net = new MachineNet()
    const a = net.add('a', rootInput(1, { protocols: [proto] }))
    const b = net.add('b', rootInput(2, { protocols: [proto] }))
    net.input(a, { type: 'cmd.dial', address: 'memory://b', url: 'memory://b' })
    expect(got).toHaveLength(2)
    expect(got).toContainEqual({ type: 'message', peer: a.peerId, body: 'hi' })
    expect(got).toContainEqual({ type: 'message', peer: b.peerId, body: 'hi' })
  })
})
