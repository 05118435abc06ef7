/**
 * Record a node, then replay it: Alice records everything her node settles while Bob connects
 * and publishes; afterwards her recording replays, with no key, to the very events she saw,
 * and stopping after an input shows the state of every actor of her swarm at that point.
 *
 * Run: npx tsx examples/record-replay.ts
 * In your own project, import from 'xswarm' and 'xswarm/testing' instead of '../src/….js'.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSwarm, type AnySwarmEvent } from '../src/index.js'
import { replay } from '../src/testing/index.js'

const dir = mkdtempSync(join(tmpdir(), 'xswarm-example-'))
const file = join(dir, 'alice.rec')
const alice = await createSwarm({ listen: ['ws://127.0.0.1:0'], record: file })
const bob = await createSwarm({ listen: ['ws://127.0.0.1:0'] })
alice.subscribe('news')
bob.subscribe('news')

// Drive both nodes; Alice keeps the events she takes. Bob publishes once Alice has him in her
// mesh, and both close once the message is in.
const seen: AnySwarmEvent[] = []
const timeout = setTimeout(() => { console.error('timed out'); process.exit(1) }, 15_000)
const bobLoop = (async () => { for await (const e of bob) void e })()
for await (const event of alice) {
  seen.push(event)
  if (event.type === 'swarm.listening') bob.dial(alice.addresses[0])
  if (event.type === 'pubsub.peer.subscribed') bob.publish('news', new TextEncoder().encode('hello, recorded world'))
  if (event.type === 'pubsub.message') void alice.close()
}
await bob.close()
await bobLoop
clearTimeout(timeout)

// Replay: a fresh node on a virtual clock takes the recorded inputs and hands out the same
// events; `onEvent` also says which input produced each one.
let at = 0
const { inputs } = await replay(file, {
  onEvent: (event, input) => {
    console.log(`replayed #${input}: ${event.type}`)
    if (event.type === 'pubsub.message' && at === 0) at = input
  },
})
const again = await replay(file)
console.log(`replayed ${inputs} inputs: the same ${seen.length} events as live: ${JSON.stringify(again.events) === JSON.stringify(seen)}`)

// Stop after the input that delivered the message and look at the swarm's actors then.
const { snapshot } = await replay(file, { until: at })
const pubsub = snapshot().find((actor) => actor.path === 'swarm/protocol:/xswarm/pubsub/1')
console.log(`after input ${at}: ${snapshot().length} actors; pubsub is ${JSON.stringify(pubsub?.value)}, its topics ${JSON.stringify(Object.keys((pubsub?.context as { s?: { topics?: object } })?.s?.topics ?? {}))}`)
rmSync(dir, { recursive: true, force: true })
console.log('record-replay: done')
