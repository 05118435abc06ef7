/**
 * `/xswarm/actors/1`: a user's XState actors, addressed from anywhere in the swarm.
 *
 * One protocol actor per swarm (systemId `protocol:/xswarm/actors/1`), written with the same
 * protocol API as every other protocol: it hears peer facts, the actors frames of peers
 * (checked by `parseActorFrame` before it sees them) and the shell's commands (`actors.send`,
 * `actors.ask`, `actors.host`, `actors.watch`, ...), and answers with frames, dial requests,
 * `effect.call`s (the shell delivers events to the hosted actors and recreates failed ones),
 * `discovery.provide`/`unprovide` to the discovery protocol for actors others may find by name
 * (names.ts), `discovery.protect`/`unprotect` (tag `actors`) for the connected peers it has
 * actor traffic with (protection.ts), and events (`actor.down`, `actor.restarted`,
 * `actor.undelivered`; `actors.answer` and `actors.spawned` settle the shell's promises). Its
 * timers (ask timeouts, watch grace, redial backoff, restart backoff) are named delayed
 * self-events, and its protection sweep a named `after`: they go through the swarm's clock and
 * queue like everything else.
 *
 *   active ──(swarm.closing)──▶ closed
 *   in active, the protection sweep:
 *     unused ──[anyPeerProtected]──▶ sweeping ──after protectionSweep / sweepProtections──▶ swept
 *     swept ──[anyPeerProtected]──▶ sweeping;  swept ──else──▶ unused
 *
 * The chart shows the protocol's life, the one protection sweep (it runs only while some peer
 * is protected) and names each handler; per-item state (actors, asks, watches, peers, pairs,
 * each protected peer's last active sweep) is data in Maps, as context.ts explains.
 * @module
 */
import { enqueueActions, setup, type ActorSystem, type AnyActorRef } from 'xstate'
import { callRequest, defineProtocol, protocolSystemId, toPeer, type FromSwarm, type ProtocolInput } from '../lib/protocol.js'
import { inputTime } from '../lib/runtime.js'
import type { SendEffect } from '../vocab.js'
import {
  ACTORS_ID, createContext, isDeliverAnswer, type ActorsCommand, type ActorsContext, type Delivery, type ActorsProtocolOptions, type ActorsTimerEvent,
  type ActorsUserEvent, type Out,
} from './context.js'
import { onDelivered, receiveMsg } from './inbound.js'
import { onAck, onAsk, onAsksDue, onDialFailed, onLinkLost, onNack, onRedial, onSend, flushLink, releaseLink } from './outbound.js'
import { onPairDue, onSweep } from './pairs.js'
import { onSpawnAnswer, onSpawnDone, onSpawnOn, onSpawnRequest } from './spawn.js'
import { onExited, onFailed, onHost, onReprovide, onRestartDue, onRestarted } from './supervision.js'
import { adoptProtections, forgetProtection, noteReceived, noteSent, onProtectionSweep, protectCommand, protectionSweepMs, reprotect } from './protection.js'
import { onGraceOver, onUnwatch, onUnwatchBy, onWatch, onWatchedPeerGone, onWatchMessage, rewatch } from './watch.js'
import { estimateSize, parseActorFrame, type ActorMessage } from './wire.js'

export { ACTORS_ID }

export type ActorsEvent = FromSwarm<ActorMessage[], ActorsCommand | ActorsTimerEvent>

type AnyActorSystem = ActorSystem<any>

/** Where announced actors' provider records go (machines/actors/names.ts). */
const DISCOVERY_SYSTEM_ID = protocolSystemId('/xswarm/discovery/1')

type Handler = (ctx: ActorsContext, event: ActorsEvent, now: number, out: Out[]) => void

/** Messages per frame: the envelopes of one settle to one peer travel together. */
const MAX_BATCH = 256
/**
 * Estimated bytes per frame (`estimateSize`, strings by UTF-16 length, so at most about three
 * times this in UTF-8): well under the default 1 MiB `maxFrameBytes`, so that a burst of large
 * events leaves in several frames instead of one frame the codec refuses (which lost them all).
 */
const FRAME_BUDGET = 256 * 1024

/** Split one settle's messages to a peer into frames, by count and by estimated size, in order. */
function framesOf(messages: Array<Extract<Out, { kind: 'wire' }>>): unknown[][][] {
  const frames: unknown[][][] = []
  let frame: unknown[][] = []
  let bytes = 0
  for (const o of messages) {
    const m = o.message
    const size = o.bytes ?? estimateSize(m, FRAME_BUDGET)
    if (frame.length > 0 && (frame.length >= MAX_BATCH || bytes + size > FRAME_BUDGET)) {
      frames.push(frame)
      frame = []
      bytes = 0
    }
    frame.push(m)
    bytes += size
  }
  if (frame.length > 0) frames.push(frame)
  return frames
}

/**
 * Wrap a handler as an action: run it, then perform what it asked for (typed loosely, as in
 * discovery). What goes to one peer in this settle leaves as few frames as possible, and every
 * delivery of this settle goes to the shell in one `deliver` call (one input answers it).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function run(handler: Handler): any {
  return enqueueActions(({ context, event, self, system, enqueue }: { context: ActorsContext; event: ActorsEvent; self: AnyActorRef; system: AnyActorSystem; enqueue: any }) => {
    const out: Out[] = []
    handler(context, event, inputTime(self), out)
    const frames = new Map<string, Array<Extract<Out, { kind: 'wire' }>>>()
    const deliveries: Delivery[] = []
    for (const o of out) {
      switch (o.kind) {
        case 'wire': {
          let batch = frames.get(o.peer)
          if (!batch) frames.set(o.peer, (batch = []))
          batch.push(o)
          break
        }
        case 'emit': enqueue.emit(o.event); break
        case 'deliver': deliveries.push(o.item); break
        case 'swarm': enqueue.sendTo(({ system }: { system: { get(id: string): AnyActorRef | undefined } }) => system.get('swarm'), o.event); break
        case 'discovery': {
          const discovery = system.get(DISCOVERY_SYSTEM_ID)
          if (discovery) enqueue.sendTo(discovery, o.event)
          break
        }
        case 'later': enqueue.sendTo(self, o.event, { delay: o.delay, id: o.id }); break
        case 'cancel': enqueue.cancel(o.id); break
      }
    }
    for (const [peer, messages] of frames) {
      for (const frame of framesOf(messages)) enqueue.emit(toPeer(ACTORS_ID, peer, frame))
      if (noteSent(context, peer)) {
        const discovery = system.get(DISCOVERY_SYSTEM_ID)
        if (discovery) enqueue.sendTo(discovery, protectCommand(peer))
      }
    }
    if (deliveries.length > 0) {
      // Handed over synchronously: the mailbox bound is per settle (see options.ts).
      for (const d of deliveries) { const h = context.hosted.get(d.name); if (h) h.mailbox = 0 }
      const callId = ++context.callSeq
      context.calls.set(callId, { kind: 'deliver', items: deliveries })
      enqueue.emit(callRequest(ACTORS_ID, callId, 'deliver', { items: deliveries }))
    }
  })
}

/** A shell command (one of a batch). */
function command(ctx: ActorsContext, e: ActorsCommand, now: number, out: Out[]): void {
  switch (e.type) {
    case 'actors.batch': for (const c of e.commands) command(ctx, c, now, out); return
    case 'actors.send': return onSend(ctx, e, out)
    case 'actors.ask': return onAsk(ctx, e, now, out)
    case 'actors.host': return onHost(ctx, e, out)
    case 'actors.exited': return onExited(ctx, e.name, e.reason, out)
    case 'actors.failed': return onFailed(ctx, e.name, now, out)
    case 'actors.watch': return onWatch(ctx, e, out)
    case 'actors.unwatch': return onUnwatch(ctx, e.watchId, out)
    case 'actors.unwatchBy': return onUnwatchBy(ctx, e.by, e.address, out)
    case 'actors.spawnOn': return onSpawnOn(ctx, e, out)
    case 'actors.reprovide':
      onReprovide(ctx, out)
      return reprotect(ctx, out)
    case 'actors.adoptProtections': return adoptProtections(ctx, out)
  }
}

/** One peer message, by kind. */
function receive(ctx: ActorsContext, peer: string, m: ActorMessage, out: Out[]): void {
  switch (m.k) {
    case 'msg': return receiveMsg(ctx, peer, m, out)
    case 'ack': return onAck(ctx, peer, m, out)
    case 'nack': return onNack(ctx, peer, m, out)
    case 'spawn': return onSpawnRequest(ctx, peer, m, out)
    case 'spawned': return onSpawnAnswer(ctx, peer, m, out)
    default: return onWatchMessage(ctx, peer, m, out)
  }
}

export const actorsMachine = setup({
  types: {
    context: {} as ActorsContext,
    events: {} as ActorsEvent,
    input: {} as ProtocolInput<ActorsProtocolOptions>,
    emitted: {} as SendEffect | ActorsUserEvent,
  },
  actions: {
    connected: run((ctx, e, _now, out) => {
      if (e.type !== 'peer.connected') return
      ctx.connected.add(e.peer)
      flushLink(ctx, e.peer, out)
      rewatch(ctx, e.peer, out)
    }),
    disconnected: run((ctx, e, _now, out) => {
      if (e.type !== 'peer.disconnected') return
      ctx.connected.delete(e.peer)
      forgetProtection(ctx, e.peer, out)
      onLinkLost(ctx, e.peer, out)
      onWatchedPeerGone(ctx, e.peer, e.reason, out)
      releaseLink(ctx, e.peer)
    }),
    dialFailed: run((ctx, e, _now, out) => {
      if (e.type === 'dial.failed' && e.peer !== undefined) onDialFailed(ctx, e.peer, e.reason, out)
    }),
    listening: run((ctx, e) => {
      if (e.type === 'swarm.listening' && e.addresses.length > 0) ctx.node = e.addresses[0]
    }),
    receive: run((ctx, e, _now, out) => {
      if (e.type !== 'message') return
      for (const m of e.body) receive(ctx, e.peer, m, out)
      noteReceived(ctx, e.peer, e.body, out)
    }),
    /** A command of the shell, or a batch of them (in order). */
    command: run((ctx, e, now, out) => { command(ctx, e as ActorsCommand, now, out) }),
    asksDue: run((ctx, e, now, out) => { if (e.type === 'actors.askTimeout') onAsksDue(ctx, e.at, now, out) }),
    restartDue: run((ctx, e, _now, out) => { if (e.type === 'actors.restart') onRestartDue(ctx, e.name, out) }),
    graceOver: run((ctx, e, _now, out) => { if (e.type === 'actors.graceOver') onGraceOver(ctx, e.peer, out) }),
    redial: run((ctx, e, _now, out) => { if (e.type === 'actors.redial') onRedial(ctx, e.peer, out) }),
    /** A pair's delivery chart timer (pair.machine.ts). */
    pairDue: run((ctx, e, _now, out) => { if (e.type === 'actors.pairDue') onPairDue(ctx, e.key, e.epoch, e.event, out) }),
    /** Forget at-least-once pairs that stayed idle (pairs.ts). */
    sweepPairs: run((ctx, _e, _now, out) => onSweep(ctx, out)),
    /** Unprotect the peers idle for `protectIdle` that nothing needs (protection.ts). */
    sweepProtections: run((ctx, _e, _now, out) => onProtectionSweep(ctx, out)),
    /**
     * The shell finished a call: a delivery, a restart or a spawn. A delivery answers with each
     * event's outcome and the commands its actors queued while handling them (`DeliverAnswer`),
     * which run here, after the outcomes, as if they were the next input.
     */
    callDone: run((ctx, e, now, out) => {
      if (e.type !== 'call.done') return
      const call = ctx.calls.get(e.callId)
      const answer = isDeliverAnswer(e.value) ? e.value : undefined
      if (call) {
        ctx.calls.delete(e.callId)
        const result = e.error !== undefined ? 'actor-stopped' : String(e.value)
        if (call.kind === 'deliver') {
          const results = answer?.results ?? []
          call.items.forEach((item, i) => onDelivered(ctx, item, results[i] ?? 'actor-stopped', out))
        }
        else if (call.kind === 'restart') onRestarted(ctx, call.name, result === 'ok', out)
        else onSpawnDone(ctx, call, result, out)
      }
      // Run even when the call is unknown (this actor was restarted meanwhile): they are sends.
      if (answer) for (const c of answer.commands) command(ctx, c, now, out)
    }),
    close: ({ context }) => { context.closing = true },
  },
  guards: {
    /** Some connected peer is protected for its actor traffic (so the protection sweep runs). */
    anyPeerProtected: ({ context }) => context.protectedPeers.size > 0,
  },
  delays: {
    /** The protection sweep's period: half of `timeouts.protectIdle` (protection.ts). */
    protectionSweep: ({ context }) => protectionSweepMs(context),
  },
}).createMachine({
  id: 'actors',
  context: ({ input }) => createContext(input),
  initial: 'active',
  states: {
    active: {
      initial: 'unused',
      states: {
        /** No peer is protected: no sweep runs. */
        unused: { always: { guard: 'anyPeerProtected', target: 'sweeping' } },
        /** Some peers are protected: the next sweep unprotects those idle that nothing needs. */
        sweeping: { after: { protectionSweep: { target: 'swept', actions: 'sweepProtections' } } },
        /** A sweep is done: the next one waits while some peer is still protected. */
        swept: { always: [{ guard: 'anyPeerProtected', target: 'sweeping' }, { target: 'unused' }] },
      },
      on: {
        'peer.connected': { actions: 'connected' },
        'peer.disconnected': { actions: 'disconnected' },
        'dial.failed': { actions: 'dialFailed' },
        'swarm.listening': { actions: 'listening' },
        message: { actions: 'receive' },
        'call.done': { actions: 'callDone' },
        'actors.batch': { actions: 'command' },
        'actors.send': { actions: 'command' },
        'actors.ask': { actions: 'command' },
        'actors.host': { actions: 'command' },
        'actors.exited': { actions: 'command' },
        'actors.failed': { actions: 'command' },
        'actors.watch': { actions: 'command' },
        'actors.unwatch': { actions: 'command' },
        'actors.unwatchBy': { actions: 'command' },
        'actors.spawnOn': { actions: 'command' },
        'actors.reprovide': { actions: 'command' },
        'actors.adoptProtections': { actions: 'command' },
        'actors.askTimeout': { actions: 'asksDue' },
        'actors.restart': { actions: 'restartDue' },
        'actors.graceOver': { actions: 'graceOver' },
        'actors.redial': { actions: 'redial' },
        'actors.pairDue': { actions: 'pairDue' },
        'actors.sweep': { actions: 'sweepPairs' },
        'swarm.closing': { target: 'closed', actions: 'close' },
      },
    },
    /** The swarm is closing: nothing more is sent or started; the shell settles what is left. */
    closed: {},
  },
})

/** The actors protocol with these settings (createSwarm builds it; `calls` are the shell's hosting functions). */
export function actorsProtocol(options: ActorsProtocolOptions, calls: Record<string, (args: any) => unknown>) {
  return defineProtocol<ActorMessage[]>({
    id: ACTORS_ID,
    machine: actorsMachine,
    parse: (body) => parseActorFrame(body, options.limits),
    options,
    calls,
  })
}
