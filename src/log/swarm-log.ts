/**
 * Debug logs by namespace, with the `debug` package (the convention Node users know: off by
 * default, switched on with `DEBUG=xswarm:*` or `DEBUG=xswarm:conn,xswarm:pubsub`; in a browser
 * `localStorage.debug`). Chosen over a hand-written logger for that convention, its browser
 * build and its formatting; it is small and has one dependency (`ms`).
 *
 * Machines are pure, so nothing here lives in a machine: the shell observes what the swarm
 * already produces. Events handed to the user give connections (with reasons), dial failures,
 * discovery results and errors; when a namespace that needs more is on, an XState inspection
 * observer reads the emitted effects (dials, pubsub GRAFT/PRUNE = mesh changes, discovery
 * queries) and lookup actors (discovery rounds). Free when off: `swarmLog` returns `undefined`
 * unless some xswarm namespace is enabled when the swarm is created, and then no hook is installed.
 *
 *   xswarm:swarm      listening, closed, errors
 *   xswarm:conn       connected / disconnected (reason), refused inbound connections
 *   xswarm:dial       dials started (by whom), failed dials with the reason, redial backoff delays
 *   xswarm:pubsub     mesh changes (graft / prune per peer and topic), subscriptions
 *   xswarm:discovery  peers discovered, lookups started and answered (rounds), queries sent
 *   xswarm:actor      the actor layer's failed sends and asks, watched actors down
 * @module
 */
import createDebug from 'debug'
import type { InspectionEvent } from 'xstate'

/** One logger per namespace (the `debug` package caches nothing per call when off). */
export const log = {
  swarm: createDebug('xswarm:swarm'),
  conn: createDebug('xswarm:conn'),
  dial: createDebug('xswarm:dial'),
  pubsub: createDebug('xswarm:pubsub'),
  discovery: createDebug('xswarm:discovery'),
  actor: createDebug('xswarm:actor'),
}

/** Turn on `namespaces` (default every xswarm one), keeping what DEBUG already enables: the CLI's --verbose. */
export function enableLogs(namespaces = 'xswarm:*'): void {
  createDebug.enable([createDebug.disable(), namespaces].filter((n) => n !== '').join(','))
}

/** Whether any xswarm namespace is on (checked when a swarm is created). */
export function loggingEnabled(): boolean {
  return Object.values(log).some((l) => l.enabled)
}

/** What a swarm's logging needs: a hook for handed-out events and, if needed, an inspection observer. */
export interface SwarmLog {
  event(event: { type: string; [key: string]: unknown }): void
  inspect?: (event: InspectionEvent) => void
}

type Event = { type: string; [key: string]: unknown }
const short = (id: unknown): string => (typeof id === 'string' ? id.slice(0, 8) : String(id))

/** The logging of the swarm `peerId`, or `undefined` when every xswarm namespace is off. */
export function swarmLog(peerId: string): SwarmLog | undefined {
  if (!loggingEnabled()) return undefined
  const me = short(peerId)
  const out: SwarmLog = { event: (e) => logEvent(me, e) }
  if (log.dial.enabled || log.pubsub.enabled || log.discovery.enabled) out.inspect = (e) => logInspection(me, e)
  return out
}

function logEvent(me: string, e: Event): void {
  switch (e.type) {
    case 'swarm.listening': return log.swarm('%s listening on %o', me, e.addresses)
    case 'swarm.closed': return log.swarm('%s closed', me)
    case 'swarm.error': return log.swarm('%s error %s: %s', me, e.code, e.message)
    case 'peer.connected': return log.conn('%s connected %s %s %s', me, short(e.peer), e.direction, e.address)
    case 'peer.disconnected': return log.conn('%s disconnected %s (%s)', me, short(e.peer), e.reason)
    case 'dial.failed': return log.dial('%s dial %s failed (%s)', me, e.address, e.reason)
    case 'pubsub.subscribed': case 'pubsub.unsubscribed': return log.pubsub('%s %s %s', me, e.type.slice(7), e.topic)
    case 'peer.discovered': return log.discovery('%s discovered %s %o', me, short(e.peer), e.addresses)
    case 'discovery.peer.found': return log.discovery('%s lookup %s found %s in %d rounds', me, e.queryId, short(e.peer), e.rounds)
    case 'discovery.peer.notFound': return log.discovery('%s lookup %s for %s: %s after %d rounds', me, e.queryId, short(e.peer), e.reason, e.rounds)
    case 'actor.undelivered': return log.actor('%s send to %s from %s failed: %s', me, e.address, e.from === '' ? 'the node' : e.from, e.reason)
    case 'actors.answer': return e.code === undefined ? undefined : log.actor('%s ask %d failed: %s', me, e.askId, e.code)
    case 'actor.down': return log.actor('%s %s down (%s)', me, e.address, e.reason)
  }
  if (e.type.includes('refused')) log.conn('%s refused inbound %s (%s)', me, e.address ?? e.remoteAddr ?? '', e.reason)
}

/** Emitted effects and lookup actors, as the inspection stream shows them. */
function logInspection(me: string, i: InspectionEvent): void {
  if (i.type === '@xstate.action') {
    const action = i.action as { type: string; params?: { event?: Event; delay?: number } }
    if (action.type === 'xstate.emit' && action.params?.event) logEffect(me, action.params.event)
    else if (typeof action.params?.delay === 'number' && action.params.event && log.dial.enabled) logBackoff(me, action.params.event, action.params.delay)
  } else if (i.type === '@xstate.event') {
    const e = i.event as Event
    if (e.type === 'proto.dial') log.dial('%s %s asks to dial %s', me, idOf(i.sourceRef), e.address)
  } else if (i.type === '@xstate.actor' && log.discovery.enabled && idOf(i.actorRef).startsWith('lookup:')) {
    log.discovery('%s %s started', me, idOf(i.actorRef))
  }
}

/** A redial scheduled after a backoff delay (a delayed self-event of the actors or discovery protocol). */
function logBackoff(me: string, e: Event, delay: number): void {
  if (e.type === 'actors.redial') log.dial('%s redial %s in %d ms (backoff: unacknowledged at-least-once events)', me, short(e.peer), delay)
  else if (e.type.includes('.bootstrapBackoff')) log.dial('%s bootstrap redial in %d ms (backoff)', me, delay)
}

const idOf = (ref: unknown): string => String((ref as { id?: string } | undefined)?.id ?? '?')

function logEffect(me: string, e: Event): void {
  if (e.type === 'effect.dial') return log.dial('%s dialing %s (dial %d)', me, e.url, e.dialId)
  if (e.type !== 'effect.send') return
  const body = e.body as Record<string, any> | undefined
  if (e.protocol === '/xswarm/pubsub/1' && body?.ctl && log.pubsub.enabled) {
    for (const topic of body.ctl.graft ?? []) log.pubsub('%s graft %s on %s (mesh add)', me, short(e.peer), topic)
    for (const p of body.ctl.prune ?? []) log.pubsub('%s prune %s on %s (mesh remove)', me, short(e.peer), p.t)
  } else if (e.protocol === '/xswarm/discovery/1' && body?.t === 'find' && log.discovery.enabled) {
    log.discovery('%s query %s (request %d)', me, short(e.peer), body.id)
  }
}
