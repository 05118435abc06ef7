/**
 * Remote spawn: `spawnOn(peer, logicName, { name, input })` asks a node to start one of the
 * logics it offers (`createSwarm({ actors: { logic: { counter } } })`) as a named actor. The
 * node refuses with `rejected` when it does not offer that logic, the asking peer is not among
 * `spawnPeers` (when set), or the name is taken; `overloaded` past `maxActors`. An actor
 * started this way accepts its spawner whatever its `accept` says.
 *
 * Data, not chart (see context.ts): pending requests by id; the shell starts the actor
 * (`effect.call` 'spawn') and its answer goes back as a `spawned` message.
 * @module
 */
import { callRequest } from '../lib/protocol.js'
import { actorAddress } from './address.js'
import { ACTORS_ID, type ActorsCommand, type ActorsContext, type Out, type PendingCall } from './context.js'
import { frame, transmit } from './outbound.js'
import { ActorCodes, type ActorMessage } from './wire.js'

function settle(out: Out[], reqId: number, result: { address?: string; code?: string }): void {
  out.push({ kind: 'emit', event: { type: 'actors.spawned', reqId, ...result } })
}

export function onSpawnOn(ctx: ActorsContext, cmd: Extract<ActorsCommand, { type: 'actors.spawnOn' }>, out: Out[]): void {
  ctx.spawns.set(cmd.reqId, { peer: cmd.peer, name: cmd.name, node: cmd.node })
  const msg: ActorMessage = { k: 'spawn', reqId: cmd.reqId, logic: cmd.logic, name: cmd.name, input: cmd.input }
  if (cmd.peer === ctx.peerId) return onSpawnRequest(ctx, ctx.peerId, msg as Extract<ActorMessage, { k: 'spawn' }>, out)
  transmit(ctx, cmd.peer, cmd.node, msg, out)
}

/** A peer (or this node) asks to start a logic this node offers. */
export function onSpawnRequest(ctx: ActorsContext, peer: string, m: Extract<ActorMessage, { k: 'spawn' }>, out: Out[]): void {
  const refuse = (code: string) => answerSpawn(ctx, peer, m.reqId, code, out)
  if (!ctx.offered.includes(m.logic)) return refuse(ActorCodes.rejected)
  if (peer !== ctx.peerId && ctx.spawnPeers !== undefined && !ctx.spawnPeers.includes(peer)) return refuse(ActorCodes.rejected)
  if (ctx.hosted.has(m.name)) return refuse(ActorCodes.rejected)
  if (ctx.hosted.size >= ctx.limits.maxActors) return refuse(ActorCodes.overloaded)
  const callId = ++ctx.callSeq
  ctx.calls.set(callId, { kind: 'spawn', name: m.name, peer, reqId: m.reqId })
  out.push({ kind: 'emit', event: callRequest(ACTORS_ID, callId, 'spawn', { logic: m.logic, name: m.name, input: m.input, spawner: peer }) as never })
}

function answerSpawn(ctx: ActorsContext, peer: string, reqId: number, code: string, out: Out[]): void {
  if (peer !== ctx.peerId) return frame(ctx, peer, { k: 'spawned', reqId, code }, out)
  const s = ctx.spawns.get(reqId)
  ctx.spawns.delete(reqId)
  settle(out, reqId, code === '' && s ? { address: actorAddress(ctx.node, s.name) } : { code: code || ActorCodes.rejected })
}

/** The shell started the actor (`ok`) or could not. */
export function onSpawnDone(ctx: ActorsContext, call: Extract<PendingCall, { kind: 'spawn' }>, result: string, out: Out[]): void {
  answerSpawn(ctx, call.peer, call.reqId, result === 'ok' ? '' : ActorCodes.rejected, out)
}

/** The answer of the node asked. */
export function onSpawnAnswer(ctx: ActorsContext, peer: string, m: Extract<ActorMessage, { k: 'spawned' }>, out: Out[]): void {
  const s = ctx.spawns.get(m.reqId)
  if (!s || s.peer !== peer) return
  ctx.spawns.delete(m.reqId)
  settle(out, m.reqId, m.code === '' ? { address: actorAddress(s.node, s.name) } : { code: m.code })
}

/** A spawn request could not be sent, or its node went away before answering. */
export function failSpawns(ctx: ActorsContext, peer: string, code: string, out: Out[], reqId?: number): void {
  for (const [id, s] of ctx.spawns) {
    if (s.peer !== peer || (reqId !== undefined && id !== reqId)) continue
    ctx.spawns.delete(id)
    settle(out, id, { code })
  }
}
