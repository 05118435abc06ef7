/**
 * When a connection's keep-alive wait ends (connection.machine.ts: `open.idle` and its named
 * `keepAlive` delay): plain functions of the connection's context, no clock, no draw.
 *
 * Jitter: connections that open together (a node dialing its bootstrap list, a simulation
 * starting n swarms, a reconnect storm) and stay quiet would all ping in the same millisecond,
 * every `keepAlive`, for as long as they stay quiet. So the first wait, counted from the
 * opening, is shorter by `keepAliveJitter`, which the root draws for each connection from its
 * seeded drbg (in [0, keepAlive/4), `keepAliveJitter()`); every later wait counts a full
 * `keepAlive` from the last sign of life as before (less the dialer's lead), so each
 * connection keeps its own phase.
 * A connection never waits longer than without the jitter: a silent remote is still closed
 * at the latest `keepAlive + pingTimeout` after its last frame (sooner, by the jitter, if it
 * fell silent as the connection opened). The same seed draws the same jitters.
 *
 * One exchange per period: both ends run this keep-alive, and after a ping both count their
 * next wait from nearly the same moment (the pinger from the pong, the other end from the
 * ping), so both would ping next time (exactly together with no latency). So the dialer
 * (direction outbound) leads: its wait counted from a ping or pong it received
 * (`keepAliveHeardAt`) ends `keepAliveLead()` (keepAlive/8) sooner; its ping reaches the
 * accepting end before that end's wait ends, as a sign of life, and only the dialer pings: one
 * exchange per `keepAlive − lead` (plus a round trip), whichever end pinged first (both, once,
 * if their first waits end together). Promises:
 * - a silent remote is still closed at the latest `keepAlive + pingTimeout` after its last
 *   frame, by either end: the lead, like the jitter, only shortens a wait;
 * - a connection carrying traffic sends no ping, as before: a wait counted from a frame of
 *   another protocol (or from the opening) has no lead;
 * - no draw: the same seed gives the same schedule. A recording made before replays as it
 *   was: its timers fire where it says, and what they decide (`heardDuringWait`) does not
 *   depend on the delay; only a live dialer's waits after a ping or pong are shorter.
 * A round trip longer than the lead lets both ends ping in a period, as before: never fewer checks.
 * @module
 */
import type { Direction } from '../vocab.js'

/** What of a connection's context decides when its quiet wait ends. */
export interface KeepAliveClock {
  direction: Direction
  timeouts: { keepAlive: number }
  /** Input time at which the connection opened. */
  openedAt: number
  /** The last sign of life the current wait counts from. */
  quietFrom: number
  /** How much sooner than `keepAlive` the first wait ends (drawn by the root: `keepAliveJitter`). */
  keepAliveJitter: number
  /** Input time of the last ping or pong received while open; null before any. */
  keepAliveHeardAt: number | null
}

/**
 * The share of `keepAlive` a connection's jitter is drawn from: [0, keepAlive/4). Enough to
 * spread a burst (at the default 15 s, n connections opened together send their first pings
 * over 3.75 s instead of in one millisecond, and keep those phases while quiet); small enough
 * that a quiet connection still waits at least 3/4 of `keepAlive` before its first ping. It
 * only shortens a wait, so how soon a dead peer is found never gets worse.
 */
export const KEEP_ALIVE_JITTER_SHARE = 1 / 4

/** A connection's `keepAliveJitter` from a uniform 32-bit draw: whole milliseconds in [0, keepAlive × KEEP_ALIVE_JITTER_SHARE). */
export function keepAliveJitter(keepAlive: number, draw: number): number {
  return Math.floor((draw / 0x1_0000_0000) * keepAlive * KEEP_ALIVE_JITTER_SHARE)
}

/**
 * The share of `keepAlive` by which the dialer's ping leads on a quiet connection. It must
 * exceed a round trip (1.875 s at the default 15 s) and costs the dialer that much sooner a
 * ping: one exchange per 7/8 of `keepAlive` instead of two per `keepAlive`.
 */
export const KEEP_ALIVE_LEAD_SHARE = 1 / 8

/** How much sooner the dialer's wait counted from a keep-alive frame ends: whole ms, keepAlive × KEEP_ALIVE_LEAD_SHARE. */
export function keepAliveLead(keepAlive: number): number {
  return Math.floor(keepAlive * KEEP_ALIVE_LEAD_SHARE)
}

/**
 * When the current keep-alive wait ends: `keepAlive` after the sign of life it counts from,
 * `keepAliveJitter` sooner for the first one, `keepAliveLead` sooner when the dialer keeps the
 * quiet connection alive. The first wait is the one counted from the opening
 * (`quietFrom === openedAt`): every later one counts from a frame or a pong received after it.
 */
export function quietWaitEnd(context: KeepAliveClock): number {
  const jitter = context.quietFrom === context.openedAt ? context.keepAliveJitter : 0
  const lead = leadsKeepAlive(context) ? keepAliveLead(context.timeouts.keepAlive) : 0
  return context.quietFrom + context.timeouts.keepAlive - jitter - lead
}

/** The dialer, whose last sign of life was a keep-alive frame: the connection is quiet and it does the pinging. */
function leadsKeepAlive(context: KeepAliveClock): boolean {
  return context.direction === 'outbound' && context.quietFrom === context.keepAliveHeardAt
}
