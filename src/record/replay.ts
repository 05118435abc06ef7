/**
 * `replay(recording)`: feed a recording to a fresh root on a virtual clock and hand out the
 * event stream the live node handed out (`xswarm replay` prints it).
 *
 * The replayed node is built as createSwarm built the live one, from the recorded options,
 * public keys and root seed; its crypto suite answers from the tape (crypto-tape.ts), so no
 * key is needed; its driver takes inputs from the recording instead of its queue and performs
 * no effect (no socket, no dial, no user function: their answers are recorded inputs). Its
 * events go through a real `Swarm`, so what is handed out — and what the actor layer keeps for
 * itself — is what the live node's reader got. `until` stops after input N; `snapshot()` then
 * gives the state of every actor of the swarm (the root and its children), readable.
 * @module
 */
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { actorsForSwarm } from '../actors/builtin.js'
import { resolveCodecLimits } from '../codec/frame.js'
import { resolveProtocols, type SwarmOptions } from '../create-swarm.js'
import { readableSnapshot } from '../inspect/observer.js'
import { Driver, type ReplaySource } from '../runtime/driver.js'
import type { QueueClock, Scheduler, TimerInput } from '../runtime/clock.js'
import type { Queued } from '../runtime/conn-edge.js'
import { Swarm, type AnySwarmEvent } from '../swarm.js'
import { packageVersion } from '../cli/version.js'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, resolveBounds } from '../../machines/lib/limits.js'
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import { seal } from '../../machines/lib/secret.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'
import { replaySuite } from './crypto-tape.js'
import { RecordingCodes, RecordingError, type RecordingHeader } from './format.js'
import { replayOptions } from './options.js'
import { readSegments, RecordingReader } from './reader.js'
import { numberMachineTimers } from './timers.js'

export interface ReplayOptions {
  /** Your protocols, if the recorded node ran any (`createSwarm({ protocols })`): the same definitions. */
  protocols?: readonly ProtocolDefinition<any>[]
  /** Stop after input N (inputs are numbered from 1). Default: the whole recording. */
  until?: number
  /** Each event as it is handed out, with the number and time (ms since the start) of the input that produced it. Default: collected in `events`. */
  onEvent?: (event: AnySwarmEvent, input: number, time: number) => void
  /** Replay a recording made by another xswarm version (it may diverge). Default false: refused. */
  anyVersion?: boolean
}

/** One actor's state at the point where the replay stopped. */
export interface ActorState {
  /** Ids from the root down, e.g. `swarm/d3` or `swarm/protocol:/xswarm/pubsub/1`. */
  path: string
  systemId?: string
  status: string
  value?: unknown
  context?: unknown
}

export interface ReplayResult {
  header: RecordingHeader
  /** The events handed out (empty when `onEvent` was given). */
  events: AnySwarmEvent[]
  /** Inputs replayed. */
  inputs: number
  /** The time of the last input replayed, in ms since the recording started. */
  time: number
  /** Why the recording ended (`closed`, `size-limit`, `encode-failed`), or undefined when it just stops (the process died). */
  endReason: string | undefined
  /** The state of every actor of the swarm where the replay stopped. */
  snapshot(): ActorState[]
}

/** Replay the recording at `path` (or its segments' bytes, FILE first). */
export async function replay(recording: string | Uint8Array[], options: ReplayOptions = {}): Promise<ReplayResult> {
  const segments = typeof recording === 'string' ? readSegments(recording) : recording.map((bytes, k) => ({ name: `segment ${k}`, bytes }))
  const reader = new RecordingReader(segments)
  const header = reader.header
  if (header.xswarm !== packageVersion() && options.anyVersion !== true) {
    throw new RecordingError(RecordingCodes.VERSION, `the recording was made by xswarm ${header.xswarm}, this is xswarm ${packageVersion()} (its machines may differ; pass anyVersion / --any-version to try anyway)`)
  }
  const until = options.until ?? Infinity
  if (until !== Infinity && (!Number.isSafeInteger(until) || until < 0)) throw new RangeError(`"until" expected an input number ≥ 0, got ${until}`)

  const recorded = replayOptions(header.options) as SwarmOptions
  const suite = replaySuite(() => reader.nextCrypto(), (message) => reader.divergence(`input ${reader.taken}: ${message}`))
  const actorLayer = actorsForSwarm(recorded.actors, header.peerId)
  const protocols = resolveProtocols({ ...recorded, protocols: options.protocols ?? [] }, actorLayer?.protocol)
  checkProtocols(protocols, header.protocols)
  const limits = resolveBounds(DEFAULT_LIMITS, recorded.limits, 'limits')
  const actors: AnyActorRef[] = []
  const source = new RecordedInputs(reader, until)
  let swarm!: Swarm
  const driver = new Driver({
    root: {
      peerId: header.peerId,
      suite,
      identityKey: header.identityKey,
      signers: createSignerIssuer(suite, new Uint8Array(32)),
      noiseKeys: seal({
        staticKey: { privateKey: new Uint8Array(32), publicKey: header.staticPublicKey },
        identitySignature: header.identitySignature,
        psk: header.privateNetwork ? new Uint8Array(32) : undefined,
      }),
      seed: seal(header.seed),
      limits,
      timeouts: resolveBounds(DEFAULT_TIMEOUTS, recorded.timeouts, 'timeouts'),
      protocols,
      allowlist: recorded.allowlist,
    },
    transports: [],
    scheduler: source.scheduler,
    limits,
    codec: resolveCodecLimits({ maxFrameBytes: limits.maxFrameBytes }),
    protocols,
    inspect: (event: InspectionEvent) => { if (event.type === '@xstate.actor') actors.push(event.actorRef as AnyActorRef) },
    onEvent: (event) => swarm._event(event),
    onInput: () => {},
    replay: source,
  })
  swarm = new Swarm(header.peerId, driver, new Set(protocols.map((p) => p.id)), actorLayer?.actors)
  source.emit = (event) => swarm._event(event)
  const events: AnySwarmEvent[] = []
  const hand = options.onEvent ?? ((event: AnySwarmEvent) => events.push(event))
  driver.start()
  for (let event = swarm.take(); event !== undefined; event = swarm.take()) hand(event, reader.taken, reader.elapsed)
  if (reader.diverged) throw reader.diverged
  // The replayed root is left as it stopped (idle: its clock never fires), so its state can be read.
  const snapshot = (): ActorState[] => actors.filter((ref) => ref.getSnapshot().status !== 'stopped').map(stateOf)
  return { header, events, inputs: reader.taken, time: reader.elapsed, endReason: reader.endReason, snapshot }
}

/** The replayed node runs the protocols the recorded one ran, in the same order. */
function checkProtocols(protocols: readonly ProtocolDefinition[], recorded: string[]): void {
  const ids = protocols.map((p) => p.id)
  const missing = recorded.filter((id) => !ids.includes(id))
  if (missing.length > 0) {
    throw new RecordingError(RecordingCodes.MISSING, `the recorded node ran ${missing.join(', ')}: pass the same protocol definitions to replay (replay(file, { protocols }))`)
  }
  if (ids.join('\n') !== recorded.join('\n')) {
    throw new RecordingError(RecordingCodes.MISSING, `the recorded node ran protocols ${recorded.join(', ')}; this replay would run ${ids.join(', ')}`)
  }
}

/** One actor, readable (src/inspect/readable.ts), with its path from the root. */
function stateOf(ref: AnyActorRef): ActorState {
  const ids: string[] = []
  for (let a: AnyActorRef | undefined = ref; a; a = (a as { _parent?: AnyActorRef })._parent) ids.unshift(a._parent ? a.id : 'swarm')
  const snapshot = readableSnapshot(ref.getSnapshot())
  const systemId = (ref as { _systemId?: string })._systemId
  return {
    path: ids.join('/'),
    ...(systemId ? { systemId } : {}),
    status: snapshot.status,
    ...(snapshot.value !== undefined ? { value: snapshot.value } : {}),
    ...(snapshot.context !== undefined ? { context: snapshot.context } : {}),
  }
}

/** The driver's input source in a replay, and the virtual clock that reads the recorded times. */
class RecordedInputs implements ReplaySource {
  readonly #reader: RecordingReader
  readonly #until: number
  readonly #timers = new Map<number, TimerInput>()
  readonly scheduler: Scheduler
  /** Puts an event the live shell made (recorded as `e`) in the stream. */
  emit: (event: { type: string; [key: string]: unknown }) => void = () => {}

  constructor(reader: RecordingReader, until: number) {
    this.#reader = reader
    this.#until = until
    // Timers never fire by themselves: the recording says when each one did.
    this.scheduler = { now: () => reader.time, setTimeout: () => undefined, clearTimeout: () => {} }
  }

  attach(root: AnyActorRef, clock: QueueClock): void {
    numberMachineTimers(root, clock, (timer) => this.#timers.set(timer.seq!, timer))
  }

  next(): Queued | undefined {
    if (this.#reader.diverged) throw this.#reader.diverged
    if (this.#reader.taken >= this.#until) return undefined
    const next = this.#reader.nextInput()
    for (const event of this.#reader.shellEvents()) this.emit(event)
    if (next === undefined) return undefined
    if (this.#reader.taken % 1024 === 0) for (const [seq, t] of this.#timers) if (t.cancelled) this.#timers.delete(seq)
    if (next.input !== undefined) return next.input
    const timer = this.#timers.get(next.timer)
    if (!timer || timer.cancelled) {
      throw this.#reader.divergence(`input ${this.#reader.taken}: timer ${next.timer} fired in the recording, but the replayed node ${timer ? 'cancelled it' : 'never set it'}`)
    }
    this.#timers.delete(next.timer)
    return timer
  }
}
