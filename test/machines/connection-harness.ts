/**
 * A harness for the connection machine alone: stubbed handshake steps, a recording parent,
 * a simulated clock, and the effects it emits.
 *
 * Why: the connection machine is tested without any shell and without real crypto. Its
 * handshake steps (the actions of its handshake region that call handshake.machine.ts's
 * `writeStep`/`readStep`) are replaced by fakes: every write sends `HELLO`, and the handshake
 * frames the test sends choose the outcome (see `fakeSteps`). The parent is a tiny machine that records what the connection
 * tells the root (`conn.authenticated`, `conn.ended`); it owns the actor system, so its
 * SimulatedClock drives every `after` and is the input time (`inputTime`). Like the root, the
 * harness stamps the connection's `traffic` with the time of every frame it sends it; `hear()`
 * stamps a frame the root would have given a protocol instead.
 * @module
 */
import { assign, createActor, setup, SimulatedClock, type Actor, type InspectionEvent } from 'xstate'
import { connectionMachine, CONTROL_PROTOCOL, type ConnectionContext, type ConnectionInput } from '../../machines/connection.machine.js'
import { HANDSHAKE_PROTOCOL, type HandshakeContext, type HandshakeInput, type HandshakeOutput } from '../../machines/handshake.machine.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { seal } from '../../machines/lib/secret.js'

export { CONTROL_PROTOCOL, HANDSHAKE_PROTOCOL }

/** The frame every fake handshake write sends. */
export const HELLO = new Uint8Array([1, 2, 3])

/** A handshake frame body that makes the fake's next write fail with `reason`. */
export function failWrite(reason: string): { failWrite: string } {
  return { failWrite: reason }
}

/** The fake's handshake state: the messages written and read, and the outcome chosen so far. */
interface FakeHs { outbox: Uint8Array | null; output: HandshakeOutput | null; pending: HandshakeOutput | null; writes: number; reads: number }

const isOutput = (body: unknown): body is HandshakeOutput =>
  typeof body === 'object' && body !== null && typeof (body as { ok?: unknown }).ok === 'boolean'

const isFailWrite = (body: unknown): body is { failWrite: string } =>
  typeof body === 'object' && body !== null && typeof (body as { failWrite?: unknown }).failWrite === 'string'

/** A handshake input whose first write fails with `handshake-bad-config` (an empty identity key). */
export function brokenHandshake(initiator: boolean): HandshakeInput {
  return { ...HANDSHAKE_INPUT, initiator, identityKey: new Uint8Array(0) }
}

/**
 * Stand-ins for the Noise steps, with the real steps' shape: three messages, the initiator
 * done when it writes message 3, the responder when it reads it. A handshake frame whose body
 * is a failed `HandshakeOutput` fails the read; a successful one chooses the outcome, which
 * the side's last step delivers (a plain frame lets it deliver the expected peer, or
 * `AnyPeer`); `failWrite(reason)` fails the next write; `brokenHandshake` fails the first.
 */
export const fakeSteps = {
  startHandshake: assign({
    hs: ({ context }: { context: ConnectionContext }) => {
      const pending = context.handshake.identityKey.length === 0 ? failure('handshake-bad-config') : null
      return { outbox: null, output: null, pending, writes: 0, reads: 0 } satisfies FakeHs as unknown as HandshakeContext
    },
  }),
  writeHandshake: assign({
    hs: ({ context }: { context: ConnectionContext }) => {
      const hs = { ...(context.hs as unknown as FakeHs) }
      hs.writes++
      if (hs.pending && !hs.pending.ok) hs.output = hs.pending
      else {
        hs.outbox = HELLO
        if (context.direction === 'outbound' && hs.writes === 2) hs.output = hs.pending ?? success(context.expectedPeer ?? 'AnyPeer')
      }
      return hs as unknown as HandshakeContext
    },
  }),
  readHandshake: assign({
    hs: ({ context, event }: { context: ConnectionContext; event: { type: string } }) => {
      const hs = { ...(context.hs as unknown as FakeHs) }
      const body = (event as { body?: unknown }).body
      hs.reads++
      if (isOutput(body) && !body.ok) hs.output = body
      else if (isFailWrite(body)) hs.pending = failure(body.failWrite)
      else if (isOutput(body)) hs.pending = body
      if (context.direction === 'inbound' && hs.reads === 2 && !hs.output) hs.output = hs.pending ?? success('AnyPeer')
      return hs as unknown as HandshakeContext
    },
  }),
}

/** The connection machine with the fake handshake steps. */
export const testConnectionMachine = connectionMachine.provide({ actions: fakeSteps as never })

export const TIMEOUTS = { dial: 1000, handshake: 2000, keepAlive: 3000, pingTimeout: 500, probe: 400, close: 700 }

const HANDSHAKE_INPUT: HandshakeInput = {
  suite: nobleSuite,
  initiator: true,
  identityKey: new Uint8Array(32),
  keys: seal({
    staticKey: { privateKey: new Uint8Array(32), publicKey: new Uint8Array(32) },
    ephemeralPrivateKey: new Uint8Array(32),
    identitySignature: new Uint8Array(64),
  }),
}

export const PEER_B = 'PeerB'

/** An outbound connection's input (dialId 1, expects PEER_B unless overridden). */
export function outboundInput(over: Partial<ConnectionInput> = {}): ConnectionInput {
  return {
    key: 'd1', direction: 'outbound', dialId: 1, address: `memory://b/p2p/${PEER_B}`, url: 'memory://b',
    expectedPeer: PEER_B, timeouts: TIMEOUTS, handshake: { ...HANDSHAKE_INPUT, initiator: true }, traffic: { heardAt: 0 }, keepAliveJitter: 0, ...over,
  }
}

/** An inbound connection's input (connId 7). */
export function inboundInput(over: Partial<ConnectionInput> = {}): ConnectionInput {
  return {
    key: 'c7', direction: 'inbound', connId: 7, address: 'memory://t1-1',
    timeouts: TIMEOUTS, handshake: { ...HANDSHAKE_INPUT, initiator: false }, traffic: { heardAt: 0 }, keepAliveJitter: 0, ...over,
  }
}

/** A successful handshake output for `peer`. */
export function success(peer = PEER_B, hash = 9): HandshakeOutput {
  return {
    ok: true, peer, identityKey: new Uint8Array(32), handshakeHash: new Uint8Array(32).fill(hash),
    keys: seal({ send: { k: new Uint8Array(32).fill(1), n: 0 }, recv: { k: new Uint8Array(32).fill(2), n: 0 } }),
  }
}

export function failure(reason: string): HandshakeOutput {
  return { ok: false, reason }
}

type Ev = { type: string; [k: string]: unknown }

export interface Harness {
  conn: Actor<typeof testConnectionMachine>
  clock: SimulatedClock
  /** Effects the connection emitted, in order. */
  effects: Ev[]
  /** What the connection sent its parent (the root), in order. */
  toParent: Ev[]
  /** The state value as a dotted string (`open.idle`). */
  state(): string
  /** Send an event; a `conn.frame` is stamped on `traffic` first, as the root does. */
  send(event: Ev): void
  /** A frame of another protocol arrived on the connection (the root stamps it and hands it to that protocol). */
  hear(): void
  /** Advance virtual time by `ms`. */
  advance(ms: number): void
  /** The events emitted or sent to the parent since the last `drain()`. */
  drain(): { effects: Ev[]; toParent: Ev[] }
}

/** Start a connection actor under a recording parent on a simulated clock. */
export function startConnection(
  input: ConnectionInput,
  options: { inspect?: (event: InspectionEvent) => void } = {},
): Harness {
  const clock = new SimulatedClock()
  const toParent: Ev[] = []
  const parentMachine = setup({}).createMachine({
    on: { '*': { actions: ({ event }) => { toParent.push(event as Ev) } } },
  })
  const parent = createActor(parentMachine, { clock, ...(options.inspect ? { inspect: options.inspect } : {}) })
  bindRuntime(parent, { sink: () => {}, now: () => clock.now() })
  parent.start()
  const conn = createActor(testConnectionMachine, { input, id: input.key, parent } as never) as Actor<typeof testConnectionMachine>
  const effects: Ev[] = []
  conn.on('*', (e) => { effects.push(e as Ev) })
  conn.start()
  let fromE = 0
  let fromP = 0
  return {
    conn,
    clock,
    effects,
    toParent,
    state: () => stateString(conn.getSnapshot().value),
    send: (event) => {
      if (event.type === 'conn.frame') input.traffic.heardAt = clock.now()
      conn.send(event as never)
    },
    hear: () => { input.traffic.heardAt = clock.now() },
    advance: (ms) => advanceTimerByTimer(clock, ms),
    drain() {
      const out = { effects: effects.slice(fromE), toParent: toParent.slice(fromP) }
      fromE = effects.length
      fromP = toParent.length
      return out
    },
  }
}

/**
 * Let `ms` pass, firing each timer at its own due time (SimulatedClock.increment fires them all
 * at the end of the step, and misses a timer set by the last one it fires): the keep-alive's
 * delay is counted from the input time, so it must be the timer's time. Bounded: a zero-delay
 * loop would stop at 10,000 timers.
 */
function advanceTimerByTimer(clock: SimulatedClock, ms: number): void {
  const until = clock.now() + ms
  const timeouts = (clock as unknown as { timeouts: Map<number, { start: number; timeout: number }> }).timeouts
  for (let i = 0; i < 10_000; i++) {
    let next = Infinity
    for (const t of timeouts.values()) next = Math.min(next, t.start + t.timeout)
    if (next > until) break
    clock.set(Math.max(next, clock.now()))
  }
  clock.set(until)
}

export function stateString(value: unknown): string {
  if (typeof value === 'string') return value
  const [k, v] = Object.entries(value as Record<string, unknown>)[0]
  return `${k}.${stateString(v)}`
}

/** Drive an inbound harness to `open` (message 1, message 3, accepted). */
export function openInbound(h: Harness): void {
  h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: new Uint8Array([0, 7]) })
  h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success('AnyPeer') })
  h.send({ type: 'conn.accepted' })
}

/** Drive an outbound harness to `open` (opened, handshake ok, the responder's ready, accepted). */
export function openOutbound(h: Harness, peer = PEER_B): void {
  h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
  h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success(peer) })
  h.send(ready())
  h.send({ type: 'conn.accepted' })
}

export const ping = (seq: number): Ev => ({ type: 'conn.frame', protocol: CONTROL_PROTOCOL, body: [0, seq] })
export const pong = (seq: number): Ev => ({ type: 'conn.frame', protocol: CONTROL_PROTOCOL, body: [1, seq] })
/** The responder's key confirmation. */
export const ready = (): Ev => ({ type: 'conn.frame', protocol: CONTROL_PROTOCOL, body: [2, 0] })
