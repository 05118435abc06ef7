/**
 * Hello, swarm: two nodes on this machine find each other, ping, and say goodbye.
 *
 * Run: npx tsx examples/hello.ts
 * In your own project, import from 'xswarm' instead of '../src/index.js'.
 */
import { createSwarm, type Swarm } from '../src/index.js'

// Two swarms, each listening on a free port of 127.0.0.1. Each has a fresh identity (pass
// `identityFile: './alice.json'` to keep one across runs). Ping every 200 ms so we see some.
const alice = await createSwarm({ listen: ['ws://127.0.0.1:0'], ping: { interval: 200 } })
const bob = await createSwarm({ listen: ['ws://127.0.0.1:0'], ping: { interval: 200 } })

// A swarm only moves while you take its events: iterate it. Here each one prints what it sees
// and the loop ends after `swarm.closed`, the last event of every swarm.
function watch(name: string, swarm: Swarm, onEvent: (type: string) => void): Promise<void> {
  return (async () => {
    for await (const event of swarm) {
      console.log(`${name}: ${JSON.stringify(event)}`)
      onEvent(event.type)
    }
  })()
}

// Bob dials Alice as soon as Alice knows her full address (`ws://127.0.0.1:<port>/p2p/<id>`,
// announced by `swarm.listening`). After Bob has three ping round trips, we are done.
let pings = 0
let done!: () => void
const finished = new Promise<void>((resolve) => { done = resolve })
const aliceLoop = watch('alice', alice, (type) => {
  if (type === 'swarm.listening') bob.dial(alice.addresses[0])
})
const bobLoop = watch('bob', bob, (type) => {
  if (type === 'ping.rtt' && ++pings === 3) done()
})

// Never wait forever in an example.
const timeout = setTimeout(() => { console.error('timed out'); process.exit(1) }, 10_000)
await finished
clearTimeout(timeout)

console.log(`bob is connected to alice: ${bob.isConnected(alice.peerId)}`)

// Close gracefully: Alice's peers (Bob) see `peer.disconnected` with reason `swarm-closed`.
await alice.close()
await bob.close()
await Promise.all([aliceLoop, bobLoop])
console.log('hello: done')
