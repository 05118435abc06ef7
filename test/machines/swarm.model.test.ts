/**
 * Model-based test of the root swarm chart (machines/swarm.machine.ts) with `xstate/graph`:
 * starting → running → closing → closed and every guarded branch of dial admission, opened
 * connections, authentication (duplicate resolution), ended connections, frame routing and
 * child failures. Each edge is replayed on a real root with real connection actors (see
 * model-walk.ts); the samples' `before` inputs build the registries each guard needs (inputs
 * from connection actors, `conn.authenticated`/`conn.secured`/`conn.ended`, are sent to the
 * root directly, as those actors would).
 *
 * The walk abstracts the registries away (actions are no-ops), so the one guard of an eventless
 * transition, `noConnectionsLeft` in `closing`, is modelled by an annotation: a sample with
 * `closesLast` ends the last connection of its replay.
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock, type AnyMachineSnapshot, type InspectionEvent } from 'xstate'
import { identityBindingMessage } from '../../machines/handshake.machine.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from '../../machines/lib/limits.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { seal } from '../../machines/lib/secret.js'
import { swarmMachine, type SwarmInput } from '../../machines/swarm.machine.js'
import { walkAndReplay, withoutActions, type Ev, type Sample } from './model-walk.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'

function key(i: number): Uint8Array {
  return new Uint8Array(32).fill(i)
}

function identity(i: number): { peerId: string; secret: Uint8Array; publicKey: Uint8Array } {
  const secret = key(i)
  const publicKey = nobleSuite.ed25519PublicKey(secret)
  return { peerId: peerIdFromPublicKey(nobleSuite.sha256, publicKey), secret, publicKey }
}

const me = identity(1)
const X = identity(2).peerId
const staticKey = { privateKey: key(3), publicKey: nobleSuite.x25519PublicKey(key(3)) }
const input: SwarmInput = {
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

const hash = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const opened = (connId: number, dialId?: number): Ev => ({ type: 'io.conn.opened', connId, remoteAddr: `memory://r${connId}`, ...(dialId ? { dialId } : {}) })
const auth = (k: string, peer: string, h = 5): Ev => ({ type: 'conn.authenticated', key: k, peer, handshakeHash: hash(h), direction: k.startsWith('d') ? 'outbound' : 'inbound' })
const ended = (k: string, reason: string, over: Record<string, unknown> = {}): Sample =>
  ({ type: 'conn.ended', key: k, peer: null, address: 'memory://r', direction: 'inbound', wasOpen: true, reason, ...over })
const dialAny: Ev = { type: 'cmd.dial', address: 'memory://y', url: 'memory://y' }
/** X's c1 is settled (open for a handshake's time) and c2, which loses to it, waits for its probe. */
const probing: Ev[] = [opened(1), auth('c1', X), { type: 'conn.settled', key: 'c1' }, opened(2), auth('c2', X, 9)]
/** c1 is X's bound connection. */
const connectX: Ev[] = [opened(1), auth('c1', X)]
/** X connected through c1; our dial d1 proved X and waits for `ready`. */
const securedReplacement: Ev[] = [...connectX, dialAny, opened(7, 1), { type: 'conn.secured', key: 'd1', peer: X, handshakeHash: hash(6) }]

/**
 * X bound to our dial d1 (secured, confirming) after the remote closed c1 as a duplicate, and
 * X's c2 and c3 lost to it (we are the smaller id, so our dials win): X holds the limit, 2.
 */
const boundReplacementAtLimit: Ev[] = [
  ...securedReplacement, opened(2), auth('c2', X, 9), ended('c1', 'duplicate'), opened(3), auth('c3', X, 9),
]

/** The dial samples, for one of the two dial events. */
function dials(type: 'cmd.dial' | 'proto.dial'): Sample[] {
  const dial = (address: string, url?: string, peer?: string): Ev =>
    type === 'cmd.dial' ? { type, address, ...(url ? { url } : {}), ...(peer ? { peer } : {}) } : { type, address }
  const to = (peer: string): Ev => dial(`memory://p/p2p/${peer}`, 'memory://p', peer)
  return [
    dial('http://nope'),
    to(me.peerId),
    { ...to(X), before: connectX },
    { ...dial('memory://z', 'memory://z'), before: [dialAny] },
    { ...dial('memory://z', 'memory://z'), before: [...connectX, opened(2), opened(3)] },
    dial('memory://z', 'memory://z'),
  ]
}

const SAMPLES: Sample[] = [
  { type: 'cmd.start' },
  { type: 'io.listener.ready', addresses: ['memory://me'] },
  ...dials('cmd.dial'),
  ...dials('proto.dial'),
  { ...opened(7, 1), before: [dialAny] },
  opened(7, 99),
  { ...opened(4), before: [...connectX, opened(2), opened(3)] },
  { ...opened(3), before: [opened(1), opened(2)] },
  opened(1),
  // conn.authenticated: unknown, self, per-peer limit, already bound, loses, wins, first.
  auth('c9', X),
  { ...auth('c1', me.peerId), before: [opened(1)] },
  { ...auth('c3', X), before: [...connectX, opened(2), auth('c2', X, 9), opened(3)] },
  { ...auth('d1', X), before: [...securedReplacement, ended('c1', 'duplicate')] },
  // The survivor at the per-peer limit (2: the peer's current connection and one closing) is
  // not refused: a winner, a bound replacement confirming, the first connection of a peer.
  { ...auth('c3', X, 1), before: [...connectX, opened(2), auth('c2', X, 9), opened(3)] },
  { ...auth('d1', X, 6), before: boundReplacementAtLimit },
  { ...auth('c4', X), before: [...boundReplacementAtLimit, ended('d1', 'handshake-timeout', { direction: 'outbound' }), opened(4)] },
  { ...auth('c2', X, 9), before: [...connectX, opened(2)] },
  { ...auth('c2', X, 1), before: [...connectX, opened(2)] },
  { ...auth('c1', X), before: [opened(1)] },
  { type: 'conn.secured', key: 'c1', peer: X, handshakeHash: hash(5), before: [opened(1)] },
  // The probe of an established connection: it settles, a loser is held, the probe is answered or not.
  { type: 'conn.settled', key: 'c1', before: [opened(1), auth('c1', X)] },
  { ...auth('c2', X, 9), before: [opened(1), auth('c1', X), { type: 'conn.settled', key: 'c1' }, opened(2)] },
  { type: 'conn.probe.answered', key: 'c1', before: probing },
  { type: 'conn.probe.failed', key: 'c1', before: probing },
  { ...ended('c1', 'connection-lost', { peer: X }), before: probing },
  // conn.ended: unknown, bound with replacement, bound, failed dial, refused inbound, only forgotten.
  ended('c9', 'hung-up'),
  { ...ended('c1', 'duplicate'), before: securedReplacement },
  { ...ended('c1', 'hung-up', { peer: X }), before: connectX },
  { ...ended('d1', 'connection-refused', { direction: 'outbound', wasOpen: false, address: 'memory://y' }), before: [dialAny] },
  { ...ended('c1', 'handshake-timeout', { wasOpen: false }), before: [opened(1)] },
  { ...ended('c1', 'duplicate', { wasOpen: false, closesLast: true }), before: [opened(1)] },
  // Frames: to the connection, to a protocol.
  { type: 'io.conn.frame', connId: 1, protocol: '/xswarm/conn/1', body: [2, 0], before: connectX },
  { type: 'io.conn.frame', connId: 1, protocol: '/x/1', body: 1, before: connectX },
  { type: 'io.conn.invalid', connId: 1, reason: 'decrypt-failed' },
  { type: 'io.conn.closed', connId: 1, reason: 'connection-lost', byRemote: true },
  { type: 'io.dial.failed', dialId: 1, reason: 'connection-refused' },
  { type: 'cmd.hangUp', peer: X },
  { type: 'proto.hangUp', peer: X, reason: 'test' },
  { type: 'cmd.protocol', protocol: '/x/1', event: { type: 'x' } },
  { type: 'io.call.done', protocol: '/x/1', callId: 1 },
  { type: 'xstate.error.actor.c1', error: new Error('boom'), before: [opened(1)] },
  { type: 'xstate.error.actor.protocol:/x/1', error: new Error('boom') },
  { type: 'cmd.close', closesLast: true },
  // Into `closing` with X bound on c1, a dial d1 in flight and c2 handshaking; there, samples
  // have no `before` (it would change the registries under the model) and end one of them each.
  { type: 'cmd.close', before: [...connectX, dialAny, opened(2)] },
  ended('c1', 'swarm-closed', { peer: X }),
  ended('d1', 'swarm-closed', { direction: 'outbound', wasOpen: false, address: 'memory://y' }),
  ended('c2', 'swarm-closed', { wasOpen: false }),
  ended('c2', 'handshake-timeout', { wasOpen: false }),
]

/** The samples some active state node has a transition for (`xstate.error.actor.*` is a wildcard). */
function samples(snapshot: AnyMachineSnapshot): Sample[] {
  const types = [...new Set(snapshot._nodes.flatMap((node) => [...node.transitions.keys()]))]
  const handled = (type: string): boolean => types.some((t) => t === type || (t.endsWith('.*') && type.startsWith(t.slice(0, -1))))
  const closing = snapshot.value === 'closing'
  return SAMPLES.filter((e) => handled(e.type) && !(closing && e.before))
}

const model = withoutActions(swarmMachine).provide({
  guards: { noConnectionsLeft: ({ event }: { event: Sample }) => event.closesLast === true } as never,
})

function start(inspect: (event: InspectionEvent) => void) {
  const clock = new SimulatedClock()
  const root = createActor(swarmMachine, { input, clock, inspect, systemId: 'swarm' })
  bindRuntime(root, { sink: () => {}, now: () => clock.now() })
  root.start()
  return { send: (event: Ev) => root.send(event as never), snapshot: () => root.getSnapshot() as AnyMachineSnapshot }
}

describe('root swarm chart: model-based (xstate/graph)', () => {
  it('every edge replayed on a real root reaches the predicted state; every transition is taken', () => {
    const { edges, states } = walkAndReplay({ machine: swarmMachine, model, input, samples, start })
    expect(states).toBe(4)
    expect(edges).toBeGreaterThan(60)
  })
})
