/**
 * `xswarm node`: run one node until SIGINT/SIGTERM, then close gracefully (peers are told
 * `swarm-closed`) and exit 0. Prints its dialable addresses at start (`listening <addr>`), then
 * a readable log of its events, or with `--json` one JSON object per swarm event.
 * @module
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../swarm.js'
import { CliError, EXIT_OK, intFlag, parseFlags, untilAborted, UsageError, type Io } from './args.js'
import { createPeerStoreWriter, type PeerStoreWriter } from '../discovery/peer-store-file.js'
import { NODE_FLAG_OPTIONS, prepareSwarm, startSwarm, tryCommand, DISCOVERY_PROTOCOL } from './common.js'
import { asText, eventToJson, formatMs, shortId, Stopwatch } from './log.js'
import { packageVersion } from './version.js'
import { serveMetrics } from '../metrics/serve.js'
import { startUiFor } from './ui.js'

export const NODE_HELP = `Usage: xswarm node --listen ADDR [--dial ADDR]... [options]

Run one node until Ctrl-C (SIGINT) or SIGTERM, then close it gracefully: its
peers are told (they see peer.disconnected, reason swarm-closed) and it exits 0.
At start it prints each full dialable address on a line of its own:
  listening ws://127.0.0.1:4001/p2p/<peer id>
Give that address to another node's --dial.

Options:
  --listen ADDR       listen here, e.g. ws://127.0.0.1:4001 (port 0: any free port);
                      repeatable. Multiaddrs work too: /ip4/127.0.0.1/tcp/4001/ws
  --dial ADDR         dial this node at start (ws://host:port/p2p/<id>); repeatable
  --identity FILE     keep the node's key in FILE (created mode 0600 on first use,
                      reused after), so its peer id survives restarts. Without it
                      (and without --data) the node gets a new peer id every run
  --swarm-key FILE    private network: connect only to nodes with this key
                      (make one with: xswarm key --out FILE)
  --topic T           subscribe to pubsub topic T and print its messages; repeatable
  --data DIR          keep state in DIR: DIR/identity.json (unless --identity) and
                      DIR/peers.json (peers discovery knew, dialed on the next start)
  --no-discovery      static peers only: no bootstrap walk, peer exchange or lookups
  -v, --verbose       debug logs on stderr (connections, dials and backoff, pubsub
                      mesh, discovery, failed actor sends); same as DEBUG=xswarm:*
  --metrics PORT      serve Prometheus metrics on http://127.0.0.1:PORT/metrics (0: any free port)
  --actors MODULE     host actors: import MODULE (a .js/.mjs file) and call its default
                      export with (swarm, { dial, data, out }) after start; a function
                      it returns sees every event (see README "Actors")
  --json              print one JSON object per swarm event, one per line
  --record FILE       record the node for xswarm replay FILE (its inputs after decryption,
                      no key; segments FILE.1, FILE.2, … past 64 MiB; see SECURITY.md)
  --ui PORT           serve the live page on http://127.0.0.1:PORT/ (0: any free
                      port): links, meshes, this node's actors as live statecharts
                      (bytes as base64, plus "text" when they are UTF-8)
  -h, --help          show this help

Examples:
  xswarm node --listen ws://127.0.0.1:4001 --identity ./node1.json
  xswarm node --listen ws://127.0.0.1:4002 --dial ws://127.0.0.1:4001/p2p/<id>`

type ExportedPeers = Parameters<PeerStoreWriter['schedule']>[0]

export async function nodeCommand(args: string[], io: Io): Promise<number> {
  const flags = parseFlags('xswarm node', args, {
    ...NODE_FLAG_OPTIONS,
    topic: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    metrics: { type: 'string' },
    ui: { type: 'string' },
    actors: { type: 'string' },
    record: { type: 'string' },
  })
  if (flags.help) {
    io.out(NODE_HELP)
    return EXIT_OK
  }
  const json = flags.json === true
  const topics = flags.topic ?? []
  for (const topic of topics) {
    if (topic.length === 0 || topic.length > 256) throw new UsageError(`--topic expected 1 to 256 characters, got ${topic.length}`)
  }
  const metricsPort = flags.metrics === undefined ? undefined : intFlag('metrics', flags.metrics, 0, 0, 65535)
  const prepared = await prepareSwarm(flags)
  if (metricsPort !== undefined) prepared.options.metrics = true
  if (flags.record !== undefined) prepared.options.record = flags.record
  const clock = new Stopwatch()
  const ui = flags.ui === undefined ? undefined : await startUiFor(intFlag('ui', flags.ui, 0, 0, 65535))
  const uiNode = ui?.hub.node('node')
  const swarm = await startSwarm({ ...prepared.options, ...(uiNode ? { inspect: uiNode.inspect } : {}) }).catch(async (error: unknown) => {
    await ui?.close()
    throw error
  })
  uiNode?.peerId(swarm.peerId)

  if (!json) {
    io.out(`xswarm node ${packageVersion()}`)
    io.out(`peer id    ${swarm.peerId}`)
    const id = prepared.identity
    io.out(`identity   ${id ? `${id.path} (${id.existed ? 'loaded' : 'created'})` : 'ephemeral (use --identity FILE to keep this peer id)'}`)
    if (prepared.options.swarmKey) io.out('network    private (swarm key)')
    if (prepared.options.discovery === false) io.out('discovery  off (static peers only)')
  }
  if (ui) io.err(`live page  ${ui.url}`)
  for (const note of prepared.notes) io.err(`note: ${note}`)
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined
  if (metricsPort !== undefined) {
    try {
      metricsServer = await serveMetrics(swarm, metricsPort)
    } catch (error) {
      await swarm.close()
      throw new CliError(`cannot serve --metrics on 127.0.0.1:${metricsPort}: ${(error as Error).message}`)
    }
    ;(json ? io.err : io.out)(`metrics    ${metricsServer.url}`)
  }
  for (const topic of topics) {
    if (!tryCommand(() => swarm.subscribe(topic))) {
      io.err(`note: --topic ${topic}: pubsub is not available yet in this build; not subscribed`)
    }
  }
  // --data: keep discovery's peer store in DIR/peers.json. Discovery answers `discovery.export`
  // (asked every minute here, so a crash loses little) and exports once more when closing.
  let peerStore: PeerStoreWriter | undefined
  let exportTimer: ReturnType<typeof setInterval> | undefined
  if (prepared.peersFile && prepared.options.discovery !== false) {
    const file = prepared.peersFile
    // A no-op command, to learn whether discovery runs in this build.
    if (tryCommand(() => swarm.command(DISCOVERY_PROTOCOL, { type: 'discovery.unprotect', peer: swarm.peerId, tag: 'xswarm-cli' }))) {
      peerStore = createPeerStoreWriter(file, { debounceMs: 1000, onError: (error) => io.err(`note: could not save peers to ${file}: ${(error as Error).message}`) })
      exportTimer = setInterval(() => {
        tryCommand(() => { if (!swarm.closed) swarm.command(DISCOVERY_PROTOCOL, { type: 'discovery.export' }) })
      }, 60_000)
      exportTimer.unref()
    } else {
      io.err(`note: --data: discovery is not available yet in this build; only the identity is kept in ${flags.data}`)
    }
  }

  const onEvent = flags.actors ? await hostActors(flags.actors, swarm, { dial: flags.dial ?? [], data: flags.data, out: io.out }) : undefined

  const loop = (async () => {
    for await (const event of swarm) {
      uiNode?.event(event)
      io.out(json ? eventToJson(event as SwarmEvent & Record<string, unknown>) : describeEvent(event, clock))
      onEvent?.(event)
      if (event.type === 'discovery.exported') peerStore?.schedule((event as unknown as { peers: ExportedPeers }).peers)
    }
  })()

  await Promise.race([untilAborted(io.signal), loop])
  if (!json) io.err(`${clock.stamp()}  closing (peers are told swarm-closed)`)
  clearInterval(exportTimer)
  await metricsServer?.close()
  await closeAndDrain(swarm, loop)
  await peerStore?.close()
  await ui?.close()
  return EXIT_OK
}

/** What an `--actors` module's default export is given. */
export interface ActorsModuleContext { dial: string[]; data?: string; out: (line: string) => void }

/** `--actors MODULE`: import it and let it host actors on `swarm`; it may return an event listener. */
async function hostActors(module: string, swarm: Swarm, context: ActorsModuleContext): Promise<((event: SwarmEvent) => void) | undefined> {
  let mod: { default?: unknown }
  try {
    mod = (await import(pathToFileURL(resolve(module)).href)) as { default?: unknown }
  } catch (error) {
    throw new UsageError(`--actors ${module}: cannot import it: ${(error as Error).message}`)
  }
  if (typeof mod.default !== 'function') throw new UsageError(`--actors ${module}: its default export must be a function (swarm, context) => …`)
  const listener = await (mod.default as (s: Swarm, c: ActorsModuleContext) => unknown)(swarm, context)
  return typeof listener === 'function' ? (listener as (event: SwarmEvent) => void) : undefined
}

/** Close the swarm and wait until its event loop has seen `swarm.closed`. */
export async function closeAndDrain(swarm: Swarm, loop: Promise<void>): Promise<void> {
  await swarm.close()
  await loop
}

/** One readable line for an event. `swarm.listening` gives one `listening <addr>` line per address. */
export function describeEvent(event: SwarmEvent, clock: Stopwatch): string {
  const e = event as SwarmEvent & Record<string, unknown>
  const at = clock.stamp()
  const what = (label: string, text: string): string => `${at}  ${label.padEnd(13)} ${text}`.trimEnd()
  const peer = typeof e.peer === 'string' ? shortId(e.peer) : ''
  switch (e.type) {
    case 'swarm.listening':
      if ((e.addresses as string[]).length === 0) return what('not listening', '(dial only: give --listen to accept connections)')
      return (e.addresses as string[]).map((a) => `listening ${a}`).join('\n')
    case 'peer.connected':
      return what('connected', `${peer} (${e.direction}, ${e.address})`)
    case 'peer.disconnected':
      return what('disconnected', `${peer} (${e.reason})`)
    case 'dial.failed':
      return what('dial failed', `${e.address}: ${e.reason}`)
    case 'ping.rtt':
      return what('ping', `${peer}  ${formatMs(e.rtt as number)}`)
    case 'peer.discovered':
      return what('discovered', `${peer} (${(e.addresses as string[] | undefined)?.length ?? 0} addresses)`)
    case 'discovery.exported':
      return what('peer store', `${(e.peers as unknown[] | undefined)?.length ?? 0} known peer(s) exported`)
    case 'pubsub.subscribed':
      return what('subscribed', String(e.topic))
    case 'pubsub.message': {
      const text = e.data instanceof Uint8Array ? asText(e.data) : undefined
      const body = text !== undefined ? JSON.stringify(text) : `${(e.data as Uint8Array | undefined)?.length ?? 0} bytes`
      return what('message', `[${e.topic}] from ${shortId(String(e.from))}: ${body}`)
    }
    case 'swarm.error':
      return what('error', `${e.code}: ${e.message}`)
    case 'swarm.closed':
      return what('closed', '')
    default: {
      const { type, ...rest } = e
      return what(type, eventToJson(rest as { type: string }))
    }
  }
}
