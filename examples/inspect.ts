/**
 * Watch the statecharts run: every swarm is an XState actor system (the root swarm machine,
 * one actor per connection, handshake and protocol), and `inspect` sees all of it.
 *
 * The real thing, in the Stately inspector (opens a browser tab / a network connection):
 *
 *   import { createSkyInspector } from '@statelyai/inspect'
 *   const inspector = createSkyInspector()          // prints a URL to open in your browser
 *   const swarm = await createSwarm({ listen: ['ws://127.0.0.1:0'], inspect: inspector.inspect })
 *
 * (`createBrowserInspector()` in a browser, `createWebSocketInspector()` for a local one.)
 * This example stays offline: it passes its own observer and prints what it is shown.
 * Run: npx tsx examples/inspect.ts   (in your project: import from 'xswarm')
 */
import type { InspectionEvent } from 'xstate'
import { createSwarm } from '../src/index.js'

const counts = new Map<string, number>()
const actors = new Set<string>()

// An inspection observer is just a function of InspectionEvent (or an Observer object).
function inspect(event: InspectionEvent): void {
  counts.set(event.type, (counts.get(event.type) ?? 0) + 1)
  const actor = (event.actorRef as { id?: string }).id ?? event.actorRef.sessionId
  if (event.type === '@xstate.actor') {
    actors.add(actor)
    console.log(`[inspect] actor started   ${actor}`)
  } else if (event.type === '@xstate.event' && !event.event.type.startsWith('xstate.')) {
    // Events delivered to an actor: inputs from the shell, facts and commands between machines.
    console.log(`[inspect] ${actor.padEnd(24)} ← ${event.event.type}`)
  }
}

const alice = await createSwarm({ listen: ['ws://127.0.0.1:0'], inspect })
const bob = await createSwarm({ listen: ['ws://127.0.0.1:0'] }) // not inspected

// Drive both; bob dials alice once she listens; stop after the first ping round trip.
const aliceLoop = (async () => {
  for await (const e of alice) if (e.type === 'swarm.listening') bob.dial(alice.addresses[0])
})()
const timeout = setTimeout(() => { console.error('timed out'); process.exit(1) }, 10_000)
for await (const e of bob) if (e.type === 'ping.rtt') break
await bob.close()
await alice.close()
await aliceLoop
clearTimeout(timeout)

console.log(`\ninspection events seen: ${[...counts].map(([type, n]) => `${type} ×${n}`).join(', ')}`)
console.log(`actors: ${actors.size} (${[...actors].join(', ')})`)
