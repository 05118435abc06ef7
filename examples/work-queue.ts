/**
 * A work queue across four nodes: a coordinator actor hands 20 jobs to worker actors on three
 * worker nodes; one worker node is killed in the middle of a job. The coordinator watches its
 * workers, so the dead worker's job goes back to the queue and is handed to another worker.
 * Jobs and results travel at least once (`atLeastOnce(ref)`: sequence numbers, acks,
 * redelivery across reconnects), and the coordinator's handler is idempotent, so every job is
 * done exactly once.
 *
 * It runs on the in-memory network with virtual time (`createSimulation`), so the crash is
 * deterministic and the run takes well under a second; with `createSwarm({ listen:
 * ['ws://…'] })` in separate processes the code is the same.
 *
 * Run: npx tsx examples/work-queue.ts
 * In your own project, import from 'xswarm' and 'xswarm/testing' instead of '../src/…'.
 */
import { createSwarm, type AnySwarmEvent, type Swarm, type Transport } from '../src/index.js'
import { createSimulation } from '../src/testing/index.js'
import { coordinatorMachine, workerMachine } from './work-queue-actors.js'

const JOBS = 20

const sim = createSimulation()
const log: string[] = []
async function node(name: string, seed: number, onEvent?: (e: AnySwarmEvent) => void): Promise<{ swarm: Swarm; transport: Transport }> {
  const transport = sim.transport()
  const swarm = await createSwarm({ listen: ['memory://0'], transports: [transport], scheduler: sim.scheduler, seed, discovery: false })
  sim.add(swarm, (e) => {
    if (e.type.startsWith('actor.')) log.push(`${sim.now()} ms ${name}: ${e.type} ${JSON.stringify(e)}`)
    onEvent?.(e)
  })
  return { swarm, transport }
}

// The coordinator node watches every worker; a worker that is down is reported to the coordinator actor.
const coord = await node('coordinator', 1, (e) => {
  if (e.type === 'actor.down') queue.ref.send({ type: 'workerDown', address: String(e.address) })
})
const queue = coord.swarm.actors.spawn(coordinatorMachine(JOBS), { name: 'coordinator', accept: 'any' })
const workers = [await node('w1', 2), await node('w2', 3), await node('w3', 4)]
await sim.run({ forMs: 10 }) // every node takes its `swarm.listening`
for (const w of workers) {
  w.swarm.dial(coord.swarm.addresses[0])
  const hosted = w.swarm.actors.spawn(workerMachine(150), {
    name: 'worker',
    accept: 'any',
    input: { coordinator: w.swarm.actors.ref(queue.address, { delivery: 'at-least-once' }) },
  })
  coord.swarm.actors.watch(hosted.address)
}

// Run until w2 is in the middle of a job, then kill w2's node (no goodbye: its connections just die).
const w2 = workers[1]
const onW2 = () => Object.values(queue.ref.getSnapshot().context.inflight).some((a) => a.startsWith(w2.swarm.addresses[0]))
await sim.run({ until: () => queue.ref.getSnapshot().context.done.length >= 6 && onW2(), forMs: 60_000 })
const killedJob = Object.entries(queue.ref.getSnapshot().context.inflight).find(([, a]) => a.startsWith(w2.swarm.addresses[0]))?.[0]
console.log(`${sim.now()} ms: killing w2 in the middle of job ${killedJob}`)
sim.network.kill(w2.transport)
sim.remove(w2.swarm)

const result = await sim.run({ until: () => queue.ref.getSnapshot().context.done.length === JOBS, forMs: 120_000 })
for (const line of log) console.log(line)
const { done, redelivered } = queue.ref.getSnapshot().context
const exactlyOnce = done.length === JOBS && new Set(done).size === JOBS
console.log(`${sim.now()} ms: ${done.length} of ${JOBS} jobs done, each exactly once: ${exactlyOnce}; redelivered after w2 died: [${redelivered.join(', ')}]`)
if (!result.satisfied || !exactlyOnce || redelivered.length === 0) process.exit(1)
console.log('work-queue: done')
process.exit(0)
