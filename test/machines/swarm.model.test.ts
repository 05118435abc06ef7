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
import { createMachine, type AnyMachineSnapshot } from 'xstate'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { defineProtocol } from '../../machines/lib/protocol.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'
import { swarmMachine } from '../../machines/swarm.machine.js'
import { walkAndReplay, withoutActions, type Ev, type Sample } from './model-walk.js'
import {
  auth, boundReplacementAtLimit, connectX, dialAny, ended, hash, input, me, opened, probing, securedReplacement, startRoot as start, X,
} from './swarm-fixtures.js'

/** A protocol whose machine takes `messages` (ProtocolDefinition.grouped). */
const GROUPED = '/grouped/1'
const groupedProtocol = defineProtocol({ id: GROUPED, machine: createMachine({}), grouped: true })
/** The root's input with that protocol (a fresh signer issuer per root: each issues once per protocol). */
const rootInput = (): typeof input => ({ ...input, signers: createSignerIssuer(nobleSuite, me.secret), protocols: [groupedProtocol] })
const frame = (connId: number, protocol: string): Ev => ({ type: 'io.conn.frame', connId, protocol, body: 1 })

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
  // Frames queued together: to a protocol that takes groups (one `messages`), or one `message` each.
  { type: 'io.conn.frames', protocol: GROUPED, frames: [frame(1, GROUPED), frame(1, GROUPED)], before: connectX },
  { type: 'io.conn.frames', protocol: '/x/1', frames: [frame(1, '/x/1'), frame(1, '/x/1')], before: connectX },
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

describe('root swarm chart: model-based (xstate/graph)', () => {
  it('every edge replayed on a real root reaches the predicted state; every transition is taken', () => {
    const { edges, states } = walkAndReplay({ machine: swarmMachine, model, input: rootInput(), samples, start: (inspect) => start(inspect, rootInput()) })
    expect(states).toBe(4)
    expect(edges).toBeGreaterThan(60)
  })
})
