#!/usr/bin/env node
// # Bytes XState allocates per event (diagnostic, not a benchmark row)
//
// The light-load p99 waits for scavenges, and how often they come is set by the bytes allocated
// per frame (bench/README.md, "pubsub: the light-load tail and the per-frame cipher object").
// Every frame is one step of the root machine and one of its protocol's actor; this measures
// what one XState step allocates by itself, for the smallest machines: one state, one
// self-transition on `message`, with no action, a plain function, an `assign`, or an
// `enqueueActions` that emits (what xswarm's machines mostly use). Counted with V8's sampling
// heap profiler (every 512 bytes on average, objects collected by either GC included) over
// 100,000 events after 50,000 of warm-up.
//
//   node bench/pubsub/xstate-step-bytes.mjs
import { Session } from 'node:inspector/promises'
import { assign, createActor, enqueueActions, setup } from 'xstate'

const EVENTS = 100_000
const variants = {
  'no action': setup({}).createMachine({ context: {}, on: { message: {} } }),
  'plain function': setup({ actions: { act: () => {} } }).createMachine({ context: {}, on: { message: { actions: 'act' } } }),
  assign: setup({ actions: { act: assign({ n: ({ context }) => context.n + 1 }) } }).createMachine({ context: { n: 0 }, on: { message: { actions: 'act' } } }),
  'enqueueActions + emit': setup({ actions: { act: enqueueActions(({ enqueue }) => { enqueue.emit({ type: 'seen' }) }) } }).createMachine({ context: {}, on: { message: { actions: 'act' } } }),
}

const session = new Session()
session.connect()
const event = { type: 'message', peer: 'p', body: {} }
const rows = {}
for (const [name, machine] of Object.entries(variants)) {
  const actor = createActor(machine).start()
  for (let i = 0; i < EVENTS / 2; i++) actor.send(event)
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  for (let i = 0; i < EVENTS; i++) actor.send(event)
  const { profile } = await session.post('HeapProfiler.getSamplingProfile')
  await session.post('HeapProfiler.stopSampling')
  let bytes = 0
  const walk = (node) => { bytes += node.selfSize; node.children.forEach(walk) }
  walk(profile.head)
  rows[name] = Math.round(bytes / EVENTS)
  actor.stop()
}
const { createRequire } = await import('node:module')
const xstate = createRequire(import.meta.url)('xstate/package.json').version
console.log(JSON.stringify({ xstate, node: process.version, bytesPerEvent: rows }))
