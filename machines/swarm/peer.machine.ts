/**
 * One remote peer at the root (systemId `swarm`): its connection(s) and their duplicate
 * resolution, the chart the README draws (`docs/charts/swarmPeer.svg`).
 *
 *   disconnected ──peer.authenticated / connectPeer──▶ connected
 *   connected ──peer.authenticated [isAlreadyBound] / acceptConnection──▶ connected
 *             ──peer.authenticated [winsDuplicate] / moveToNewConnection──▶ connected
 *             ──peer.authenticated [isAtPerPeerLimit] / closeConnection(too many)──▶ connected
 *             ──peer.authenticated [losesToProbeable] / holdForProbe──▶ probing
 *             ──peer.authenticated [losesDuplicate] / closeConnection(duplicate)──▶ connected
 *             ──peer.connectionEnded [remoteKeptReplacement] / moveToReplacement──▶ connected
 *             ──peer.connectionEnded [isBoundConnection] / disconnectPeer──▶ disconnected
 *   probing ──peer.probeAnswered / refuseHeld──▶ connected
 *           ──peer.probeFailed / moveToHeld──▶ connected
 *           ──peer.connectionEnded [diedWhileProbed] / moveToHeld──▶ connected
 *           ──peer.connectionEnded [isHeldConnection]──▶ connected
 *           (and the duplicate rules of `connected`; a winner also closes the held one)
 *
 * A second connection to a connected peer (both directions open, or a reconnect) is resolved
 * the moment it authenticates, by the survivor rule both sides compute alike
 * (swarm/registry.ts `survivor`): the new one wins (the peer moves to it without a
 * disconnect/connect flap, the old one closes as a duplicate) or loses (it closes). The one wait
 * is `probing`: a connection that loses to an established one is held while the established one
 * is probed (a restarted peer's old connection may be half-open); the probe's answer keeps the
 * old one, its silence moves the peer to the held one. The survivor is never refused by the
 * per-peer limit (the remote picks the same one; refusing it on one side would cut the pair): at
 * the limit the peer's oldest connections already closing make room for it.
 *
 * Chart and data: this is a peer chart (lib/peer-chart.ts), stepped purely by the root for the
 * peer an event is about (swarm/peers.ts): no actor per peer. Its entry is the peer's record in
 * the root's `peers` Map (`{ state, key, direction, address }`: the active state and the bound
 * connection); a peer with no entry is `disconnected`. The connections themselves are data in
 * the root's `conns` Map (swarm/registry.ts), each with its own actor (connection.machine.ts).
 * Guards read only the event: the root puts the facts its registries answer on it.
 * @module
 */
import { and, setup } from 'xstate'
import { Reasons } from '../vocab.js'

/** What the root tells a peer's chart, with the facts its guards judge. */
export type SwarmPeerEvent =
  /**
   * One of the peer's connections proved the peer (not a self-connection). `bound`: it is
   * already the peer's connection (moved to as a replacement before it confirmed); `atLimit`: the
   * peer holds `maxConnectionsPerPeer` accepted connections; `winner`: which survives against the
   * peer's current connection (`none`: no current one); `probeable`: the current one is settled
   * and may be probed (no connection held for a probe yet).
   */
  | { type: 'peer.authenticated'; bound: boolean; atLimit: boolean; winner: 'current' | 'new' | 'none'; probeable: boolean }
  /**
   * One of the peer's connections ended. `bound`: it was the peer's connection; `held`: it was
   * held for a probe; `replacement`: the remote closed it as a duplicate or one too many and
   * another connection proved the peer (the one the remote kept); `closing`: the swarm closes.
   */
  | { type: 'peer.connectionEnded'; bound: boolean; held: boolean; reason: string; replacement: boolean; closing: boolean }
  /** The probed connection answered: it is alive. */
  | { type: 'peer.probeAnswered' }
  /** The probed connection stayed silent (it closes itself). */
  | { type: 'peer.probeFailed' }

/** The states of a peer's entry (absent = 'disconnected'). */
export type SwarmPeerState = 'disconnected' | 'connected' | 'probing'

type Auth = Extract<SwarmPeerEvent, { type: 'peer.authenticated' }>
type Ended = Extract<SwarmPeerEvent, { type: 'peer.connectionEnded' }>
const auth = (event: SwarmPeerEvent): Auth | undefined => (event.type === 'peer.authenticated' ? event : undefined)
const ended = (event: SwarmPeerEvent): Ended | undefined => (event.type === 'peer.connectionEnded' ? event : undefined)

/** Closing reasons that mean "the remote kept another connection to us". */
const KEPT_ANOTHER: ReadonlySet<string> = new Set([Reasons.duplicate, Reasons.tooManyPerPeer])

/** A second authenticated connection while connected: the survivor first, then the losers. */
const DUPLICATE_RULES = [
  { guard: and(['isAlreadyBound', 'isAtPerPeerLimit']), actions: ['recordAuthentication', 'acceptConnection', 'dropClosingOverLimit'] },
  { guard: 'isAlreadyBound', actions: ['recordAuthentication', 'acceptConnection'] },
  { guard: and(['winsDuplicate', 'isAtPerPeerLimit']), actions: ['recordAuthentication', 'moveToNewConnection', 'dropClosingOverLimit'] },
  { guard: 'winsDuplicate', actions: ['recordAuthentication', 'moveToNewConnection'] },
  { guard: 'isAtPerPeerLimit', actions: { type: 'closeConnection', params: { reason: Reasons.tooManyPerPeer } } },
] as const

const LOSES = { guard: 'losesDuplicate', actions: ['recordAuthentication', { type: 'closeConnection', params: { reason: Reasons.duplicate } }] } as const

export const swarmPeerMachine = setup({
  types: { events: {} as SwarmPeerEvent },
  guards: {
    /** The connection is already the peer's (a replacement moved to before it confirmed). */
    isAlreadyBound: ({ event }) => auth(event)?.bound === true,
    /** The peer holds as many accepted connections as it may (those closing count until gone). */
    isAtPerPeerLimit: ({ event }) => auth(event)?.atLimit === true,
    /** The new connection survives against the current one (survivor rule, the same on both sides). */
    winsDuplicate: ({ event }) => auth(event)?.winner === 'new',
    /** The current connection survives. */
    losesDuplicate: ({ event }) => auth(event)?.winner === 'current',
    /** The current connection survives, and is established: probe it before the new one goes. */
    losesToProbeable: ({ event }) => auth(event)?.winner === 'current' && auth(event)?.probeable === true,
    /** The ended connection was the peer's. */
    isBoundConnection: ({ event }) => ended(event)?.bound === true,
    /** The ended connection was the one held for the probe. */
    isHeldConnection: ({ event }) => ended(event)?.held === true,
    /** The probed connection died (not closed by the remote as a duplicate) while the swarm runs. */
    diedWhileProbed: ({ event }) => {
      const e = ended(event)
      return e !== undefined && e.bound && e.reason !== Reasons.duplicate && !e.closing
    },
    /** The remote closed the peer's connection because it keeps another one, which we have too. */
    remoteKeptReplacement: ({ event }) => {
      const e = ended(event)
      return e !== undefined && e.bound && KEPT_ANOTHER.has(e.reason) && e.replacement && !e.closing
    },
  },
  actions: {
    // Performed by the root (swarm/peers.ts); the chart is stepped purely.
    /** Remember the peer and the handshake hash the connection proved. */
    recordAuthentication: () => {},
    /** Bind the peer to its first connection, accept it, announce `peer.connected`. */
    connectPeer: () => {},
    /** Confirm a connection that is already the peer's. */
    acceptConnection: () => {},
    /** Move the peer to the new connection silently (no flap) and close the old one as a duplicate. */
    moveToNewConnection: () => {},
    /** The peer's oldest connections already closing leave, to make room for the survivor. */
    dropClosingOverLimit: () => {},
    /** Tell the new connection to close, with the reason in params. */
    closeConnection: () => {},
    /** Hold the new connection and probe the peer's current one. */
    holdForProbe: () => {},
    /** Close the connection held for the probe (it loses after all). */
    refuseHeld: () => {},
    /** Move the peer to the connection held for the probe, no flap. */
    moveToHeld: () => {},
    /** Move the peer to the connection the remote kept, no flap. */
    moveToReplacement: () => {},
    /** Unbind the peer, announce `peer.disconnected`. */
    disconnectPeer: () => {},
  },
}).createMachine({
  id: 'swarmPeer',
  initial: 'disconnected',
  states: {
    /** No connection of the peer is accepted (its connections may be handshaking). */
    disconnected: {
      on: {
        'peer.authenticated': [
          { guard: 'isAtPerPeerLimit', target: 'connected', actions: ['recordAuthentication', 'dropClosingOverLimit', 'connectPeer'] },
          { target: 'connected', actions: ['recordAuthentication', 'connectPeer'] },
        ],
      },
    },
    /** Bound to one connection, which frames to the peer go to. */
    connected: {
      on: {
        'peer.authenticated': [
          ...DUPLICATE_RULES,
          { guard: 'losesToProbeable', target: 'probing', actions: ['recordAuthentication', 'holdForProbe'] },
          LOSES,
        ],
        'peer.connectionEnded': [
          { guard: 'remoteKeptReplacement', actions: 'moveToReplacement' },
          { guard: 'isBoundConnection', target: 'disconnected', actions: 'disconnectPeer' },
        ],
      },
    },
    /** Connected, with a losing connection held while the current one is probed. */
    probing: {
      on: {
        // (A connection is moved to before it confirms only by moveToReplacement, which ends
        // the probe: no `isAlreadyBound` here.)
        'peer.authenticated': [
          { guard: and(['winsDuplicate', 'isAtPerPeerLimit']), target: 'connected', actions: ['recordAuthentication', 'refuseHeld', 'moveToNewConnection', 'dropClosingOverLimit'] },
          { guard: 'winsDuplicate', target: 'connected', actions: ['recordAuthentication', 'refuseHeld', 'moveToNewConnection'] },
          DUPLICATE_RULES[4],
          LOSES,
        ],
        'peer.probeAnswered': { target: 'connected', actions: 'refuseHeld' },
        'peer.probeFailed': { target: 'connected', actions: 'moveToHeld' },
        'peer.connectionEnded': [
          { guard: 'diedWhileProbed', target: 'connected', actions: 'moveToHeld' },
          { guard: 'remoteKeptReplacement', target: 'connected', actions: ['refuseHeld', 'moveToReplacement'] },
          { guard: 'isBoundConnection', target: 'disconnected', actions: ['refuseHeld', 'disconnectPeer'] },
          { guard: 'isHeldConnection', target: 'connected' },
        ],
      },
    },
  },
})
