/**
 * Admission of inbound connections: the limits per source and the policy when the pending
 * slots are full. Pure data and functions behind the root chart's `opened` action (the chart
 * shows admit or refuse; the arithmetic over every connection lives here).
 *
 * In order, for a connection from a source that is not allowlisted (sources: ip.ts):
 *  1. the total leaves `reservedConnections` free for dials and allowlisted sources
 *     (`too-many-connections`);
 *  2. a token bucket per source: `connectionsPerIpPerSecond`, burst `connectionBurstPerIp`
 *     (`connection-rate-limit`); every attempt spends a token, admitted or not;
 *  3. at most `maxConnectionsPerIp` connections in all states (`too-many-connections-per-ip`),
 *     and at most `maxPendingPerIp` of them not yet authenticated
 *     (`too-many-pending-connections-per-ip`).
 * Then, for every source: when `maxPendingConnections` are pending, the OLDEST pending inbound
 * connection is shed (`too-many-pending-connections`), preferring one that has sent nothing,
 * and the newcomer is admitted. Why: an honest handshake takes one round trip, so the oldest
 * pending connection is the one most likely stalled on purpose, and refusing the newest (as
 * before) let whoever holds the slots keep them: honest newcomers got in 2 times in 20 while
 * one source kept 128 silent upgrades open. To shed an honest newcomer an attacker must now open
 * `maxPendingConnections` connections within its handshake, from at least
 * `maxPendingConnections / maxPendingPerIp` sources, each rate-limited.
 * Defaults follow go-libp2p's resource manager (8 connections per IPv4 address, 0.2/s with a
 * burst of 16 per address); like it, loopback is allowlisted by default.
 * @module
 */
import type { Limits } from './limits.js'
import { isAllowlisted, parseAllowlist, sourceOf } from './ip.js'
import { Reasons } from '../vocab.js'

/** Loopback is allowlisted unless the user says otherwise (as go-libp2p does): local tools and tests. */
export const DEFAULT_ALLOWLIST: readonly string[] = Object.freeze(['127.0.0.0/8', '::1'])

/** What admission needs of a connection the root tracks. */
export interface AdmittedConn {
  direction: 'inbound' | 'outbound'
  connId?: number
  /** Set once authenticated. */
  peer?: string
  /** Where an inbound connection came from (ip.ts `sourceOf`); null for non-IP transports. */
  source?: string | null
  /** A handshake frame arrived on it. */
  heard?: boolean
  /** Shed to make room: closing, no longer counted as pending. */
  shed?: boolean
}

/** Admission's own state in the root's context: the allowlist and one token bucket per source. */
export interface AdmissionState {
  allowlist: ReturnType<typeof parseAllowlist>
  buckets: Map<string, { tokens: number; at: number }>
}

export type Admission<C> =
  | { admit: true; source: string | null; shed?: C }
  | { admit: false; reason: string }

/** Buckets kept at most; beyond it the full ones are forgotten (a full bucket is the default). */
const MAX_BUCKETS = 4096

export function createAdmission(allowlist: readonly string[]): AdmissionState {
  return { allowlist: parseAllowlist(allowlist), buckets: new Map() }
}

/** Decide on an inbound connection from `remoteAddr` at time `now` (ms); spends a token. */
export function admitInbound<C extends AdmittedConn>(
  conns: Iterable<C>, size: number, state: AdmissionState, limits: Limits, remoteAddr: string, now: number,
): Admission<C> {
  const allowlisted = isAllowlisted(remoteAddr, state.allowlist)
  const source = sourceOf(remoteAddr)
  const reserved = Math.min(limits.reservedConnections, Math.floor(limits.maxConnections / 4))
  const room = allowlisted ? limits.maxConnections : limits.maxConnections - reserved
  if (size >= room) return { admit: false, reason: Reasons.tooManyConnections }
  const limited = !allowlisted && source !== null
  if (limited && !takeToken(state, source, now, limits)) return { admit: false, reason: Reasons.connectionRateLimit }
  let fromSource = 0
  let pendingFromSource = 0
  let pending = 0
  let oldestSilent: C | undefined
  let oldest: C | undefined
  for (const c of conns) {
    const isPending = c.connId !== undefined && c.peer === undefined && !c.shed
    if (c.source === source && c.source !== undefined) {
      fromSource++
      if (isPending) pendingFromSource++
    }
    if (!isPending) continue
    pending++
    if (c.direction !== 'inbound') continue
    oldest ??= c
    if (!c.heard) oldestSilent ??= c
  }
  if (limited && fromSource >= limits.maxConnectionsPerIp) return { admit: false, reason: Reasons.tooManyPerIp }
  if (limited && pendingFromSource >= limits.maxPendingPerIp) return { admit: false, reason: Reasons.tooManyPendingPerIp }
  if (pending < limits.maxPendingConnections) return { admit: true, source }
  const shed = oldestSilent ?? oldest
  if (shed === undefined) return { admit: false, reason: Reasons.tooManyPending }
  return { admit: true, source, shed }
}

function takeToken(state: AdmissionState, source: string, now: number, limits: Limits): boolean {
  const burst = limits.connectionBurstPerIp
  const rate = limits.connectionsPerIpPerSecond
  let bucket = state.buckets.get(source)
  if (bucket === undefined) {
    if (state.buckets.size >= MAX_BUCKETS) forgetFull(state, now, limits)
    bucket = { tokens: burst, at: now }
    state.buckets.set(source, bucket)
  }
  bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rate)
  bucket.at = now
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}

/** Forget buckets that have refilled; if none has, the oldest (it starts over with a full bucket). */
function forgetFull(state: AdmissionState, now: number, limits: Limits): void {
  const { connectionBurstPerIp: burst, connectionsPerIpPerSecond: rate } = limits
  for (const [source, b] of state.buckets) {
    if (b.tokens + ((now - b.at) / 1000) * rate >= burst) state.buckets.delete(source)
  }
  if (state.buckets.size >= MAX_BUCKETS) state.buckets.delete(state.buckets.keys().next().value as string)
}
