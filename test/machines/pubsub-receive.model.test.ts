/**
 * Model-based test of pubsub's receive chart (machines/pubsub/receive.machine.ts): `xstate/graph`
 * walks it with sample facts (every state reached); on a real pubsub actor, fed the messages of
 * each situation (another topic, a copy of a delivered message, a copy of a forged one, our own,
 * a forged one, a new one with and without a validator, the validator full, each verdict), every
 * step of the router's receive chart takes the transition XState picks for its event and
 * reaches that transition's state, every transition of the chart is taken by some situation,
 * and each situation shows what a user sees (deliveries, validator calls, duplicates counted).
 * @module
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { AnyMachineSnapshot, AnyTransitionDefinition } from 'xstate'
import { getShortestPaths, getStateNodes } from 'xstate/graph'
import { protocolSignedBytes } from '../../machines/lib/signer.js'
import { PUBSUB_ID, type PubsubProtocolOptions } from '../../machines/pubsub/pubsub.machine.js'
import { receiveChart } from '../../machines/pubsub/receive.js'
import { receiveMachine, type ReceiveEvent } from '../../machines/pubsub/receive.machine.js'
import { signedBytes, type WireMessage } from '../../machines/pubsub/wire.js'
import type { PeerChartEntry } from '../../machines/lib/peer-chart.js'
import { startPubsub, testKey, type TestKey } from '../helpers/pubsub-actor.js'

const me = testKey('receive-0')
const author = testKey('receive-1')
const peers = [2, 3].map((i) => testKey(`receive-${i}`).peerId)

function wire(from: TestKey, n: number, topic = 't', forged = false): WireMessage {
  const d = new Uint8Array(64).fill(n)
  const { buffer, signedLength } = signedBytes(from.peerId, n, topic, d)
  const s = ed25519.sign(protocolSignedBytes(PUBSUB_ID, buffer.subarray(0, signedLength)), from.secretKey)
  if (forged) s[0] ^= 1
  return { f: from.peerId, k: from.publicKey, n, t: topic, d, s }
}

type Step = { from: string; to: string; taken: AnyTransitionDefinition[] }
type Input = { type: string; [k: string]: unknown }

/** A pubsub actor subscribed to `t`, with two subscribed peers; the inputs; the receive chart's steps and what the user saw. */
function run(options: PubsubProtocolOptions, inputs: (calls: number[]) => Input[]) {
  const steps: Step[] = []
  const send = receiveChart.send.bind(receiveChart)
  const spy = vi.spyOn(receiveChart, 'send').mockImplementation((entry: PeerChartEntry, event, now, arg) => {
    const from = entry.state
    const taken = receiveMachine.getTransitionData(receiveMachine.resolveState({ value: from, context: undefined as never }) as never, event as never) ?? []
    send(entry, event, now, arg)
    steps.push({ from, to: entry.state, taken })
  })
  const { actor } = startPubsub(options, me)
  const delivered: number[] = []
  const calls: number[] = []
  actor.on('*', (e: { type: string; data?: Uint8Array; callId?: number }) => {
    if (e.type === 'pubsub.message') delivered.push(e.data![0])
    if (e.type === 'effect.call') calls.push(e.callId!)
  })
  actor.send({ type: 'pubsub.subscribe', topic: 't' } as never)
  for (const peer of peers) {
    actor.send({ type: 'peer.connected', peer, direction: 'outbound', address: '' } as never)
    actor.send({ type: 'message', peer, body: { sub: [{ t: 't', on: true }] } } as never)
  }
  // Inputs may depend on the calls made so far (a verdict answers the last call): built lazily.
  const list = inputs(calls)
  for (let i = 0; i < list.length; i++) {
    const input = list[i]
    actor.send((input.type === 'verdict' ? { type: 'call.done', callId: calls.at(-1), value: input.value } : input) as never)
  }
  const router = (actor.getSnapshot().context as { s: { duplicates: number } }).s
  actor.stop()
  spy.mockRestore()
  return { steps, delivered, calls, duplicates: router.duplicates }
}

const msg = (peer: string, m: WireMessage): Input => ({ type: 'message', peer, body: { msg: [m] } })
const validate = { validate: () => 'accept' as const }

const SITUATIONS: Array<{ name: string; options?: PubsubProtocolOptions; inputs: Input[]; last: string; sees: { delivered?: number[]; calls?: number; duplicates?: number } }> = [
  { name: 'another topic', inputs: [msg(peers[0], wire(author, 1, 'other'))], last: 'dropped', sees: { delivered: [] } },
  { name: 'a new message', inputs: [msg(peers[0], wire(author, 1))], last: 'delivered', sees: { delivered: [1] } },
  { name: 'a copy of a delivered message', inputs: [msg(peers[0], wire(author, 1)), msg(peers[1], wire(author, 1))], last: 'duplicate', sees: { delivered: [1], duplicates: 1 } },
  { name: 'our own message back', inputs: [msg(peers[0], wire(me, 1))], last: 'ignored', sees: { delivered: [] } },
  { name: 'a forged message', inputs: [msg(peers[0], wire(author, 1, 't', true))], last: 'invalid', sees: { delivered: [] } },
  { name: 'a copy of a forged message', inputs: [msg(peers[0], wire(author, 1, 't', true)), msg(peers[1], wire(author, 1, 't', true))], last: 'duplicate', sees: { delivered: [], duplicates: 1 } },
  { name: 'a new message, a validator', options: validate, inputs: [msg(peers[0], wire(author, 1))], last: 'validating', sees: { delivered: [], calls: 1 } },
  { name: 'the validator full', options: { ...validate, maxPendingValidations: 1 }, inputs: [msg(peers[0], wire(author, 1)), msg(peers[0], wire(author, 2))], last: 'throttled', sees: { delivered: [], calls: 1 } },
  { name: 'accepted', options: validate, inputs: [msg(peers[0], wire(author, 1)), { type: 'verdict', value: 'accept' }], last: 'delivered', sees: { delivered: [1], calls: 1 } },
  { name: 'rejected', options: validate, inputs: [msg(peers[0], wire(author, 1)), { type: 'verdict', value: 'reject' }], last: 'invalid', sees: { delivered: [] } },
  { name: 'ignored', options: validate, inputs: [msg(peers[0], wire(author, 1)), { type: 'verdict', value: 'ignore' }], last: 'ignored', sees: { delivered: [] } },
  { name: 'accepted after we unsubscribed', options: validate, inputs: [msg(peers[0], wire(author, 1)), { type: 'pubsub.unsubscribe', topic: 't' }, { type: 'verdict', value: 'accept' }], last: 'ignored', sees: { delivered: [] } },
]

afterEach(() => { vi.restoreAllMocks() })

describe('pubsub receive chart: model-based', () => {
  it('xstate/graph reaches every state from the sample facts', () => {
    const facts = { subscribed: true, knownCopy: false, seen: false, own: false, authentic: true, validator: false, validationsFull: false }
    const events: ReceiveEvent[] = [
      { type: 'message.arrived', ...facts, subscribed: false }, { type: 'message.arrived', ...facts, knownCopy: true },
      { type: 'message.arrived', ...facts, seen: true }, { type: 'message.arrived', ...facts, own: true },
      { type: 'message.arrived', ...facts, authentic: false }, { type: 'message.arrived', ...facts },
      { type: 'message.arrived', ...facts, validator: true, validationsFull: true }, { type: 'message.arrived', ...facts, validator: true },
      { type: 'message.verdict', verdict: 'accept', subscribed: true }, { type: 'message.verdict', verdict: 'reject', subscribed: true },
      { type: 'message.verdict', verdict: 'ignore', subscribed: true },
    ]
    const paths = getShortestPaths(receiveMachine, { events, serializeState: (s: AnyMachineSnapshot) => String(s.value) } as never)
    expect(new Set(paths.map((p) => String(p.state.value)))).toEqual(new Set(Object.keys(receiveMachine.root.states)))
  })

  it('on a real router every step takes the transition XState picks, every transition is taken, and the user sees each outcome', () => {
    const taken = new Set<AnyTransitionDefinition>()
    for (const { name, options, inputs, last, sees } of SITUATIONS) {
      const { steps, delivered, calls, duplicates } = run(options ?? {}, () => inputs)
      expect(steps.at(-1)?.to, name).toBe(last)
      for (const { from, to, taken: defs } of steps) {
        expect(defs.length, `${name}: one transition from ${from}`).toBe(1)
        expect(defs[0].target?.[0]?.key ?? from, `${name}: ${from} → ${to}`).toBe(to)
        taken.add(defs[0])
      }
      if (sees.delivered) expect(delivered, name).toEqual(sees.delivered)
      if (sees.calls !== undefined) expect(calls.length, name).toBe(sees.calls)
      if (sees.duplicates !== undefined) expect(duplicates, name).toBe(sees.duplicates)
    }
    const all = getStateNodes(receiveMachine.root).flatMap((node) => [...node.transitions.values()].flat())
    expect(all.filter((def) => !taken.has(def)).map((def) => `${def.source.id} --${def.eventType} [${String((def.guard as { type?: string } | undefined)?.type ?? def.guard ?? '')}]-->`)).toEqual([])
  })
})
