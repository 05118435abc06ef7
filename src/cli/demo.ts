/**
 * `xswarm demo`: a local network with nothing to configure. Starts N swarms in this process on
 * 127.0.0.1 (any free port), connects them in a ring plus chords, logs what happens (who
 * listens, who connects, ping round trips, disconnects on shutdown), closes every node
 * gracefully after `--duration` seconds and prints a summary table.
 * @module
 */
import type { Swarm } from '../swarm.js'
import { CliError, EXIT_FAILURE, EXIT_OK, intFlag, parseFlags, sleep, UsageError, type Io } from './args.js'
import { startSwarm, tryCommand } from './common.js'
import { fixed, formatMs, Series, shortId, Stopwatch, table, withoutPeerId } from './log.js'
import { startUiFor } from './ui.js'
import { demoActors } from './demo-actors.js'

export const DEMO_HELP = `Usage: xswarm demo [--nodes N] [--duration SECONDS] [--ui [--ui-port PORT]]
       xswarm demo --actors

Run a small network on this machine: N nodes on 127.0.0.1 (free ports), each
a full xswarm swarm with its own identity, connected in a ring plus a few
chords over real WebSockets with encrypted (Noise XX) channels. Every node
pings its peers once a second, and once every link is up each node publishes
a greeting on the pubsub topic xswarm-demo. The log shows who listens, who
connects, the ping round-trip times, how fast each greeting reached every
node and, at the end, every node closing gracefully; then a summary table. Exits 0 by itself after the duration (Ctrl-C stops earlier),
non-zero if a node could not connect.

Options:
  --nodes N            number of nodes, 2 to 50 (default 5)
  --duration SECONDS   how long to run, 1 to 3600 (default 5; with --ui 3600)
  --ui                 serve the live page on 127.0.0.1 (its URL is printed): nodes
                       and links, each topic's mesh, a node's actors as live
                       statecharts, the event log
  --ui-port PORT       the live page's port (default: any free port)
  --actors             the actor layer instead: 3 nodes; node1 and node2 ask a
                       counter on node0; a coordinator on node0 watches the workers
                       on node1 and node2 and hands them jobs at least once; node2
                       closes and the coordinator sees actor.down. Prints every
                       ask, reply and event handed to an actor with its trace id;
                       exits 0 by itself when all of it happened
  -h, --help           show this help`

/** Time between pings in the demo (ms). */
export const DEMO_PING_INTERVAL = 1000
/** The pubsub topic every demo node joins; each publishes one greeting once all links are up. */
export const DEMO_TOPIC = 'xswarm-demo'
/** Delay between "all links up" and the greetings, so subscriptions have spread (ms). */
const GREETING_DELAY = 500

/**
 * The demo's links, deterministic: a ring (i, i+1), plus a chord from every third node to the
 * node opposite it on the ring. Each pair appears once; the first node of a pair dials.
 */
export function demoTopology(n: number): [number, number][] {
  const edges: [number, number][] = []
  const seen = new Set<string>()
  const add = (a: number, b: number): void => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`
    if (a === b || seen.has(key)) return
    seen.add(key)
    edges.push([a, b])
  }
  for (let i = 0; i < n; i++) add(i, (i + 1) % n)
  if (n >= 4) for (let i = 0; i < n; i += 3) add(i, (i + Math.floor(n / 2)) % n)
  return edges
}

interface DemoNode {
  index: number
  swarm: Swarm
  label: string
  address?: string
  listening: Promise<void>
  loop?: Promise<void>
  /** Peers it was ever connected to. */
  peers: Set<string>
  /** Peers it is connected to now. */
  connected: Set<string>
  rtt: Series
  /** Greetings received from the other nodes. */
  messages: number
  closing: boolean
}

export async function demoCommand(args: string[], io: Io): Promise<number> {
  const flags = parseFlags('xswarm demo', args, {
    nodes: { type: 'string' },
    duration: { type: 'string' },
    ui: { type: 'boolean' },
    'ui-port': { type: 'string' },
    actors: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (flags.help) {
    io.out(DEMO_HELP)
    return EXIT_OK
  }
  if (flags.actors) {
    const other = (['nodes', 'duration', 'ui', 'ui-port'] as const).find((f) => flags[f] !== undefined)
    if (other) throw new UsageError(`--actors runs its own 3 nodes until done: it takes no --${other}`)
    return demoActors(io)
  }
  const n = intFlag('nodes', flags.nodes, 5, 2, 50)
  const duration = intFlag('duration', flags.duration, flags.ui ? 3600 : 5, 1, 3600)
  if (flags['ui-port'] !== undefined && !flags.ui) throw new UsageError('--ui-port needs --ui')
  const ui = flags.ui ? await startUiFor(intFlag('ui-port', flags['ui-port'], 0, 0, 65535)) : undefined
  const uiNodes = Array.from({ length: n }, (_, i) => ui?.hub.node(`node${i}`))
  const edges = demoTopology(n)
  const clock = new Stopwatch()
  const links = edges.length === 1 ? '1 link' : `${edges.length} links`
  const allUp = edges.length === 1 ? 'the link is up' : `all ${edges.length} links up`
  io.out(`xswarm demo: ${n} nodes on 127.0.0.1, ${links}, pings every ${DEMO_PING_INTERVAL / 1000} s, running ${duration} s`)
  if (ui) io.out(`live page: ${ui.url}  (Ctrl-C stops the demo)`)
  io.out('')

  // Start every node (no discovery: the demo's links are exactly the ones below).
  const started = await Promise.allSettled(
    uiNodes.map((uiNode) => startSwarm({ listen: ['ws://127.0.0.1:0'], ping: { interval: DEMO_PING_INTERVAL }, discovery: false, ...(uiNode ? { inspect: uiNode.inspect } : {}) })),
  )
  const failedStart = started.find((r) => r.status === 'rejected')
  if (failedStart) {
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)))
    await ui?.close()
    throw new CliError(`a demo node could not start: ${(failedStart.reason as Error).message}`)
  }
  const swarms = started.map((r) => (r as PromiseFulfilledResult<Swarm>).value)
  const labelWidth = Math.max(...swarms.map((s, i) => `node${i}(${shortId(s.peerId)})`.length))
  const byPeer = new Map<string, DemoNode>()
  const label = (peer: string): string => byPeer.get(peer)?.label.trimEnd() ?? shortId(peer)
  const log = (node: DemoNode, text: string): void => io.out(`${clock.stamp()}  ${node.label}  ${text}`)

  const up = new Set<string>() // links connected, "a-b" with a the dialer
  const failures: string[] = []
  const stop = new AbortController()
  const stopOnAbort = (): void => stop.abort()
  io.signal?.addEventListener('abort', stopOnAbort, { once: true })
  let allUpLogged = false
  // Pubsub: who published when, and which nodes have the greeting so far.
  const greetings = new Map<string, { at: number; reached: Set<number> }>()
  let greetingTimer: ReturnType<typeof setTimeout> | undefined
  const greet = (): void => {
    for (const node of nodes) {
      if (node.closing) continue
      greetings.set(node.swarm.peerId, { at: clock.ms(), reached: new Set() })
      log(node, `publishes "hello from node${node.index}" to ${DEMO_TOPIC}`)
      node.swarm.publish(DEMO_TOPIC, new TextEncoder().encode(`hello from node${node.index}`))
    }
  }

  const nodes: DemoNode[] = swarms.map((swarm, index) => {
    let listened!: () => void
    const node: DemoNode = {
      index,
      swarm,
      label: `node${index}(${shortId(swarm.peerId)})`.padEnd(labelWidth),
      listening: new Promise<void>((resolve) => { listened = resolve }),
      peers: new Set(),
      connected: new Set(),
      rtt: new Series(),
      messages: 0,
      closing: false,
    }
    byPeer.set(swarm.peerId, node)
    uiNodes[index]?.peerId(swarm.peerId)
    node.loop = (async () => {
      for await (const event of swarm) {
        uiNodes[index]?.event(event)
        const e = event as { type: string } & Record<string, any>
        switch (e.type) {
          case 'swarm.listening':
            node.address = e.addresses[0]
            log(node, `listening on ${withoutPeerId(node.address ?? '?')}`)
            listened()
            break
          case 'peer.connected': {
            node.peers.add(e.peer)
            node.connected.add(e.peer)
            if (e.direction !== 'outbound') break
            log(node, `connected to ${label(e.peer)}`)
            const other = byPeer.get(e.peer)
            if (other) up.add(`${index}-${other.index}`)
            if (!allUpLogged && up.size === edges.length) {
              allUpLogged = true
              io.out(`${clock.stamp()}  ${allUp}`)
              if (withPubsub) greetingTimer = setTimeout(greet, GREETING_DELAY)
            }
            break
          }
          case 'peer.disconnected':
            node.connected.delete(e.peer)
            if (!node.closing) log(node, `disconnected from ${label(e.peer)} (${e.reason})`)
            break
          case 'dial.failed':
            log(node, `could not connect to ${e.address}: ${e.reason}`)
            failures.push(`${node.label.trimEnd()} could not connect to ${e.address}: ${e.reason}`)
            stop.abort()
            break
          case 'ping.rtt':
            node.rtt.add(e.rtt)
            log(node, `ping ${label(e.peer).padEnd(labelWidth)}  ${formatMs(e.rtt).padStart(9)}`)
            break
          case 'pubsub.message': {
            const greeting = greetings.get(e.from)
            if (e.topic !== DEMO_TOPIC || !greeting || greeting.reached.has(index)) break
            node.messages++
            greeting.reached.add(index)
            if (greeting.reached.size === n - 1) {
              io.out(`${clock.stamp()}  ${label(e.from).padEnd(labelWidth)}  greeting reached all ${n - 1} other nodes in ${formatMs(clock.ms() - greeting.at)}`)
            }
            break
          }
          case 'pubsub.publish.failed':
            log(node, `publish failed: ${e.reason}`)
            break
          case 'swarm.error':
            log(node, `error ${e.code}: ${e.message}`)
            break
        }
      }
      listened() // closed before listening: do not wait forever
    })()
    return node
  })

  // Every node joins the demo topic (when this build has pubsub).
  const withPubsub = nodes.every((node) => tryCommand(() => node.swarm.subscribe(DEMO_TOPIC)))

  await Promise.race([Promise.all(nodes.map((node) => node.listening)), sleep(10_000, stop.signal)])
  if (nodes.every((node) => node.address)) {
    for (const [a, b] of edges) nodes[a].swarm.dial(nodes[b].address!)
    await sleep(Math.max(0, duration * 1000 - clock.ms()), stop.signal)
    // A short run on a busy machine: give links still being set up a little longer.
    if (up.size < edges.length && failures.length === 0 && !stop.signal.aborted) {
      io.out(`${clock.stamp()}  waiting up to 10 s for ${edges.length - up.size} link(s) still connecting`)
      for (let waited = 0; up.size < edges.length && waited < 10_000 && !stop.signal.aborted; waited += 20) await sleep(20, stop.signal)
    }
  } else {
    failures.push('not every node started listening within 10 s')
  }
  clearTimeout(greetingTimer)
  const interrupted = io.signal?.aborted === true
  io.signal?.removeEventListener('abort', stopOnAbort)
  const ranMs = clock.ms()

  io.out('')
  io.out(`${clock.stamp()}  ${interrupted ? 'interrupted: ' : ''}shutting down, one node at a time`)
  for (const node of nodes) {
    node.closing = true
    log(node, 'closing')
    await node.swarm.close()
    await node.loop
    log(node, 'closed')
    // Let its peers see it go before the next one closes (bounded), so the log reads in order.
    const told = (): boolean => nodes.every((other) => other.closing || !other.connected.has(node.swarm.peerId))
    for (let waited = 0; !told() && waited < 2000; waited += 5) await sleep(5)
  }

  await ui?.close()
  for (const [a, b] of edges) {
    if (!up.has(`${a}-${b}`) && !interrupted) failures.push(`node${a} never connected to node${b}`)
  }
  io.out('')
  io.out(`Summary: ${n} nodes, ${links}, ${(ranMs / 1000).toFixed(1)} s`)
  const rows = nodes.map((node) => [
    `node${node.index}`,
    node.swarm.peerId,
    String(node.peers.size),
    String(node.rtt.count),
    fixed(node.rtt.mean),
    fixed(node.rtt.min),
    fixed(node.rtt.max),
    ...(withPubsub ? [`${node.messages}/${n - 1}`] : []),
  ])
  const right = 'right' as const
  const headers = ['node', 'peer id', 'peers', 'pings', 'mean ms', 'min ms', 'max ms', ...(withPubsub ? ['greetings'] : [])]
  for (const line of table(headers, rows, ['left', 'left', right, right, right, right, right, right])) {
    io.out(`  ${line}`)
  }
  io.out('')
  if (failures.length > 0) {
    for (const failure of [...new Set(failures)]) io.err(`error: ${failure}`)
    io.out(`FAILED: ${failures.length} problem(s); every node was closed`)
    return EXIT_FAILURE
  }
  const pings = nodes.reduce((sum, node) => sum + node.rtt.count, 0)
  const everywhere = [...greetings.values()].filter((g) => g.reached.size === n - 1).length
  const pubsubNote = greetings.size > 0 ? ` ${everywhere} of ${greetings.size} greetings reached every node;` : ''
  io.out(`ok: ${interrupted ? 'stopped early; ' : `${allUp}; `}${pings} pings;${pubsubNote} every node closed gracefully`)
  io.out('Next: xswarm node --listen ws://127.0.0.1:4001 --identity ./node.json   (see xswarm node --help)')
  return EXIT_OK
}
