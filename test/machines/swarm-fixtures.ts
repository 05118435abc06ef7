/**
 * A root swarm (machines/swarm.machine.ts) with real connection actors, fed the inputs its
 * connection actors would send (`conn.authenticated`, `conn.secured`, `conn.ended`, ...)
 * directly, and the input sequences that build the registries of a duplicate, a probe or a
 * replacement: shared by the model tests of the root chart and of its per-peer chart.
 * @module
 */
import { createActor, SimulatedClock, type AnyMachineSnapshot, type InspectionEvent } from 'xstate'
import { identityBindingMessage } from '../../machines/handshake.machine.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from '../../machines/lib/limits.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { seal } from '../../machines/lib/secret.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'
import { swarmMachine, type SwarmInput } from '../../machines/swarm.machine.js'
import type { Ev, Sample } from './model-walk.js'

function key(i: number): Uint8Array {
  return new Uint8Array(32).fill(i)
}

function identity(i: number): { peerId: string; secret: Uint8Array; publicKey: Uint8Array } {
  const secret = key(i)
  const publicKey = nobleSuite.ed25519PublicKey(secret)
  return { peerId: peerIdFromPublicKey(nobleSuite.sha256, publicKey), secret, publicKey }
}

export const me = identity(1)
export const X = identity(2).peerId
const staticKey = { privateKey: key(3), publicKey: nobleSuite.x25519PublicKey(key(3)) }
export const input: SwarmInput = {
  peerId: me.peerId,
  suite: nobleSuite,
  identityKey: me.publicKey,
  signers: createSignerIssuer(nobleSuite, me.secret),
  noiseKeys: seal({ staticKey, identitySignature: nobleSuite.ed25519Sign(me.secret, identityBindingMessage(staticKey.publicKey)) }),
  seed: seal(key(4)),
  limits: { ...DEFAULT_LIMITS, maxConnections: 3, maxPendingConnections: 2, maxConnectionsPerPeer: 2, maxPendingDials: 1 },
  timeouts: DEFAULT_TIMEOUTS,
  protocols: [],
}

export const hash = (b: number): Uint8Array => new Uint8Array(32).fill(b)
export const opened = (connId: number, dialId?: number): Ev => ({ type: 'io.conn.opened', connId, remoteAddr: `memory://r${connId}`, ...(dialId ? { dialId } : {}) })
export const auth = (k: string, peer: string, h = 5): Ev => ({ type: 'conn.authenticated', key: k, peer, handshakeHash: hash(h), direction: k.startsWith('d') ? 'outbound' : 'inbound' })
export const ended = (k: string, reason: string, over: Record<string, unknown> = {}): Sample =>
  ({ type: 'conn.ended', key: k, peer: null, address: 'memory://r', direction: 'inbound', wasOpen: true, reason, ...over })
export const dialAny: Ev = { type: 'cmd.dial', address: 'memory://y', url: 'memory://y' }
/** X's c1 is settled (open for a handshake's time) and c2, which loses to it, waits for its probe. */
export const probing: Ev[] = [opened(1), auth('c1', X), { type: 'conn.settled', key: 'c1' }, opened(2), auth('c2', X, 9)]
/** c1 is X's bound connection. */
export const connectX: Ev[] = [opened(1), auth('c1', X)]
/** X connected through c1; our dial d1 proved X and waits for `ready`. */
export const securedReplacement: Ev[] = [...connectX, dialAny, opened(7, 1), { type: 'conn.secured', key: 'd1', peer: X, handshakeHash: hash(6) }]

/**
 * X bound to our dial d1 (secured, confirming) after the remote closed c1 as a duplicate, and
 * X's c2 and c3 lost to it (we are the smaller id, so our dials win): X holds the limit, 2.
 */
export const boundReplacementAtLimit: Ev[] = [
  ...securedReplacement, opened(2), auth('c2', X, 9), ended('c1', 'duplicate'), opened(3), auth('c3', X, 9),
]

/** A started root with a simulated clock. */
export function startRoot(inspect: (event: InspectionEvent) => void, rootInput: SwarmInput = input) {
  const clock = new SimulatedClock()
  const root = createActor(swarmMachine, { input: rootInput, clock, inspect, systemId: 'swarm' })
  bindRuntime(root, { sink: () => {}, now: () => clock.now() })
  root.start()
  return { send: (event: Ev) => root.send(event as never), snapshot: () => root.getSnapshot() as AnyMachineSnapshot }
}

/** A started and running root alone (`cmd.start` sent), with a simulated clock, collecting what it emits. */
export function startRunningRoot(rootInput: SwarmInput = input) {
  const clock = new SimulatedClock()
  const out: Ev[] = []
  const root = createActor(swarmMachine, { input: rootInput, clock, systemId: 'swarm' })
  const sink = (e: { type: string }) => { out.push(e as Ev) }
  bindRuntime(root, { sink, now: () => clock.now() })
  root.on('*', sink as never)
  root.start()
  root.send({ type: 'cmd.start' } as never)
  return { root, clock, out, send: (e: Ev) => root.send(e as never), of: (type: string) => out.filter((e) => e.type === type) }
}
