/**
 * Recorder: `createSwarm({ record })` writes what the node needs to replay itself.
 *
 * It is the driver's input tap (src/runtime/driver.ts): it sees every input the root settles,
 * after the shell checked and decrypted it, with the input's time; every timer of the machines
 * that fired, by number (timers.ts); the machines' crypto answers (crypto-tape.ts); and the few
 * events the shell makes itself. The header holds the options less secrets (options.ts), the
 * public keys and the root's seed. Without `record` no recorder exists and the driver pays one
 * `undefined` check per input.
 *
 * A record that cannot be written (the size bound, or an input that cannot be encoded) ends
 * the recording with an end record giving the reason, and the swarm emits `record.stopped
 * { reason, inputs }` once; the node goes on unrecorded.
 * @module
 */
import type { Actor } from 'xstate'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import type { swarmMachine } from '../../machines/swarm.machine.js'
import type { Input } from '../../machines/vocab.js'
import type { InputTap } from '../runtime/driver.js'
import type { QueueClock, TimerInput } from '../runtime/clock.js'
import { packageVersion } from '../cli/version.js'
import { recordingSuite } from './crypto-tape.js'
import { frameRecord, preamble, RECORDING_FORMAT, type RecordingHeader, type RecordTuple } from './format.js'
import { resolveRecordOptions, SegmentWriter } from './sink.js'
import { numberMachineTimers } from './timers.js'

type SwarmEventLike = { type: string; [key: string]: unknown }

/** What the header says about the node (the rest the recorder adds). */
export type NodeFacts = Omit<RecordingHeader, 'kind' | 'format' | 'xswarm' | 'id' | 'segment'>

export class Recorder implements InputTap {
  readonly #writer: SegmentWriter
  #emit: ((event: SwarmEventLike) => void) | undefined
  #inputs = 0
  /** Inputs written whole (their crypto answers and shell events included). */
  #committed = 0
  /** The records of the input being settled: written whole or not at all, so a replay never stops inside an input. */
  #group: Uint8Array[] = []
  #stopped = false

  /** Open the recording (`option` as given to createSwarm) and write its header. */
  constructor(option: unknown, facts: NodeFacts) {
    const options = resolveRecordOptions(option)
    const id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')
    const base = { kind: 'xswarm-recording' as const, format: RECORDING_FORMAT, xswarm: packageVersion(), id }
    this.#writer = new SegmentWriter(options, (segment) => [
      preamble(),
      frameRecord(segment === 0 ? { ...base, segment, ...facts } satisfies RecordingHeader : { ...base, segment }),
    ])
  }

  /** The suite the machines get: `inner`, with its answers on the tape. */
  suite(inner: CryptoSuite): CryptoSuite {
    return recordingSuite(inner, (fn, value) => this.#write(value === undefined ? ['c', fn] : ['c', fn, value]))
  }

  attach(root: Actor<typeof swarmMachine>, clock: QueueClock, emit: (event: SwarmEventLike) => void): void {
    this.#emit = emit
    numberMachineTimers(root, clock)
  }

  started(time: number): void {
    this.#write(['s', time])
  }

  input(time: number, input: Input): void {
    this.#next()
    this.#write(['i', time, input])
  }

  timer(time: number, timer: TimerInput): void {
    if (timer.seq === undefined) return // a hosted actor's timer (timers.ts)
    this.#next()
    this.#write(['t', time, timer.seq])
  }

  event(event: SwarmEventLike): void {
    this.#write(['e', event])
  }

  close(): void {
    if (this.#stopped) return
    this.#commit()
    if (!this.#stopped) this.#end('closed')
  }

  /** A new input starts: the previous one is complete. */
  #next(): void {
    this.#commit()
    this.#inputs++
  }

  #write(record: RecordTuple): void {
    if (this.#stopped) return
    try {
      this.#group.push(frameRecord(record))
    } catch (error) {
      this.#stop('encode-failed', `input ${this.#inputs} cannot be recorded: ${(error as Error).message}`)
    }
  }

  #commit(): void {
    if (this.#stopped || this.#group.length === 0) return
    const group = this.#group.length === 1 ? this.#group[0] : Buffer.concat(this.#group)
    this.#group = []
    if (!this.#writer.write(group)) return this.#stop('size-limit', `the recording reached its size bound after ${this.#committed} inputs`)
    this.#committed = this.#inputs
  }

  #stop(reason: string, message: string): void {
    this.#end(reason)
    this.#emit?.({ type: 'record.stopped', reason, inputs: this.#committed, message })
  }

  #end(reason: string): void {
    this.#stopped = true
    this.#group = []
    this.#writer.end(frameRecord(['z', reason]))
  }
}
