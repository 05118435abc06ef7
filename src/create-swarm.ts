/**
 * createSwarm: options in, a started Swarm out.
 *
 * Resolves identity (given, from a file, derived from a seed, or fresh), the crypto suite
 * (node:crypto by default, @noble everywhere else), limits and timeouts, the protocols
 * (built-ins plus the user's), the transports (WebSockets by default), then starts the root
 * machine and the listeners. Every option is checked here and a bad one throws at once.
 * @module
 */
import { identityBindingMessage } from '../machines/handshake.machine.js'
import { nobleSuite } from '../machines/lib/crypto-noble.js'
import type { CryptoSuite } from '../machines/lib/crypto.js'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, resolveBounds, type Limits, type Timeouts } from '../machines/lib/limits.js'
import { peerIdFromPublicKey } from '../machines/lib/peer-id.js'
import { parseAllowlist } from '../machines/lib/ip.js'
import { defineProtocol, type ProtocolDefinition } from '../machines/lib/protocol.js'
import { createDrbg, drbgBytes } from '../machines/lib/rng.js'
import { seal } from '../machines/lib/secret.js'
import { createSignerIssuer } from '../machines/lib/signer.js'
import { pingProtocol, type PingOptions } from '../machines/protocols/ping.machine.js'
import { pubsubProtocol, type PubsubProtocolOptions } from '../machines/pubsub/pubsub.machine.js'
import type { InspectionEvent, Observer } from 'xstate'
import { resolveCodecLimits } from './codec/frame.js'
import { nativeSuite } from './crypto/native.js'
import { ErrorCodes, XswarmError } from './errors.js'
import { parseDialAddress, parseListenAddress } from './identity/address.js'
import { loadOrCreateIdentity } from './identity/identity-file.js'
import { Driver } from './runtime/driver.js'
import { realScheduler, type Scheduler } from './runtime/clock.js'
import { Swarm } from './swarm.js'
import { swarmLog } from './log/swarm-log.js'
import { registerMetrics, SwarmMetrics } from './metrics/prometheus.js'
import { metricsReaders } from './metrics/readers.js'
import type { CommandsOf, EventsOf } from './events.js'
import { readableInspector } from './inspect/observer.js'
import { createWsTransport } from './transport/ws.js'
import { checkSharedServer, sharedServerUrl, type SharedServer } from './transport/ws-shared.js'
import { discoveryForSwarm } from './discovery/builtin.js'
import { DISCOVERY_ID } from '../machines/discovery/discovery.machine.js'
import type { DiscoveryOptions } from '../machines/discovery/options.js'
import type { Transport } from './transport/transport.js'
import { actorsForSwarm, type ActorsOptions } from './actors/builtin.js'
import { ACTORS_ID } from '../machines/actors/context.js'
import type { RecordOptions, RecordSink } from './record/sink.js'
import { startRecording } from './record/start.js'

export interface SwarmOptions {
  /**
   * Where to listen, e.g. `['ws://127.0.0.1:0']` (port 0: any free port), or `{ server, path? }`
   * to share a listening node:http / node:https server's port. Default: nowhere (dial only).
   */
  listen?: Array<string | SharedServer>
  /** TLS for `wss://` dials: `ca`, certificates (PEM) to trust besides Node's default root CAs. */
  tls?: { ca?: string | Uint8Array | Array<string | Uint8Array> }
  /** Addresses to dial at start. */
  bootstrap?: string[]
  /** `false`: static peers only (no bootstrap walk, no peer exchange, no lookups); or discovery's options. */
  discovery?: boolean | DiscoveryOptions
  /** The ed25519 identity: a 32-byte secret key. Default: `identityFile`, else derived from `seed`, else fresh. */
  secretKey?: Uint8Array
  /** A file holding the identity, created (mode 0600) on first use and reused after. */
  identityFile?: string
  /** 32-byte pre-shared key: only nodes with the same key can connect (private network). */
  swarmKey?: Uint8Array
  /** Your protocols (see `defineProtocol`); their declared events and commands type the swarm. */
  protocols?: readonly ProtocolDefinition<any>[]
  /** The built-in ping protocol's options, or `false` to leave it out. */
  ping?: false | Partial<PingOptions>
  /** The built-in pubsub's options (gossipsub parameters, scoring, a `validate` function), or `false`. */
  pubsub?: false | PubsubProtocolOptions
  /** Bounds on everything a peer controls (see README "Limits"). */
  limits?: Partial<Limits>
  /** Timeouts (see README "Limits"). */
  timeouts?: Partial<Timeouts>
  /** `native` (node:crypto, default) or `noble` (pure JS), or your own suite. */
  crypto?: 'native' | 'noble' | CryptoSuite
  /** Transports; default one WebSocket transport. */
  transports?: Transport[]
  /**
   * An XState inspection observer (e.g. `createBrowserInspector().inspect`): sees every actor and
   * transition, with contexts and events made readable (src/inspect/readable.ts).
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void)
  /** Seed for every random choice (keys included): for tests and simulations only, never in production. */
  seed?: Uint8Array | number
  /** Collect Prometheus metrics, read with `metricsText(swarm)` (see README "Metrics"). Default false. */
  metrics?: boolean
  /** Time source; default real time. A simulation passes its virtual scheduler. */
  scheduler?: Scheduler
  /**
   * Sources exempt from the per-IP limits that may also use the reserved connection slots:
   * IP addresses and CIDR prefixes (`'10.0.0.0/8'`, `'2001:db8::/32'`). Default loopback
   * (`['127.0.0.0/8', '::1']`); `[]` limits every source. See SECURITY.md.
   */
  allowlist?: string[]
  /** The actor layer's options (logic offered to spawnOn, limits, timeouts), or `false` to leave it out. */
  actors?: false | ActorsOptions
  /**
   * Record this node for `xswarm replay` / `replay()`: a file path (segments FILE, FILE.1, …),
   * a writable sink, or `{ path | sink, maxBytes, maxSegments }`. See README "Simulate, record,
   * replay" and SECURITY.md for what a recording holds. Default: no recording.
   */
  record?: string | RecordSink | RecordOptions
}

const KNOWN_OPTIONS = new Set([
  'listen', 'bootstrap', 'discovery', 'secretKey', 'identityFile', 'swarmKey', 'protocols', 'ping', 'limits',
  'timeouts', 'crypto', 'transports', 'inspect', 'seed', 'scheduler', 'pubsub', 'allowlist', 'tls', 'metrics', 'actors', 'record',
])


/**
 * Create a swarm, start it and its listeners. Rejects if a listener cannot start. The swarm's
 * events and commands are typed by its protocols (see src/events.ts).
 */
export async function createSwarm<const P extends readonly ProtocolDefinition<any>[] = []>(
  options: SwarmOptions & { protocols?: P } = {},
): Promise<Swarm<EventsOf<P>, CommandsOf<P>>> {
  checkOptions(options)
  const limits = resolveBounds(DEFAULT_LIMITS, options.limits, 'limits')
  const timeouts = resolveBounds(DEFAULT_TIMEOUTS, options.timeouts, 'timeouts')
  const suite = resolveSuite(options.crypto)
  const random = randomSource(options.seed)
  const secretKey = await resolveSecretKey(options, random)
  const identityKey = suite.ed25519PublicKey(secretKey)
  const peerId = peerIdFromPublicKey(suite.sha256, identityKey)
  const staticPrivate = random(32)
  const staticKey = { privateKey: staticPrivate, publicKey: suite.x25519PublicKey(staticPrivate) }
  const identitySignature = suite.ed25519Sign(secretKey, identityBindingMessage(staticKey.publicKey))
  const rootSeed = random(32)
  const actorLayer = actorsForSwarm(options.actors, peerId)
  const protocols = resolveProtocols(options, actorLayer?.protocol)
  const recorder = options.record === undefined ? undefined : await startRecording(options, {
    peerId, identityKey, staticPublicKey: staticKey.publicKey, identitySignature, seed: rootSeed, protocols,
  })
  const machineSuite = recorder ? recorder.suite(suite) : suite
  const servers = (options.listen ?? []).filter((entry): entry is SharedServer => typeof entry !== 'string')
  const listen = (options.listen ?? []).map((entry) => (typeof entry === 'string' ? parseListenAddress(entry).url : sharedServerUrl(entry)))
  const codec = resolveCodecLimits({ maxFrameBytes: limits.maxFrameBytes })
  const ws = (): Transport => createWsTransport({ maxMessageBytes: limits.maxFrameBytes, servers, ca: options.tls?.ca })
  // Shared servers are served by a ws transport of ours, also when the caller brings transports.
  const transports = options.transports === undefined ? [ws()] : servers.length > 0 ? [ws(), ...options.transports] : options.transports

  let swarm!: Swarm<EventsOf<P>, CommandsOf<P>>
  const logging = swarmLog(peerId) // undefined unless DEBUG=xswarm:* (or a part) is on
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') throw new TypeError('"options.metrics" expected a boolean')
  const metrics: SwarmMetrics | undefined = options.metrics ? new SwarmMetrics(peerId, metricsReaders((): Driver => driver, () => swarm)) : undefined
  const driver: Driver = new Driver({
    root: {
      peerId,
      suite: machineSuite,
      identityKey,
      signers: createSignerIssuer(machineSuite, secretKey),
      noiseKeys: seal({ staticKey, identitySignature, psk: options.swarmKey ? Uint8Array.from(options.swarmKey) : undefined }),
      seed: seal(rootSeed),
      limits,
      timeouts,
      protocols,
      allowlist: options.allowlist,
    },
    transports,
    scheduler: options.scheduler ?? realScheduler,
    limits,
    codec,
    protocols,
    inspect: withLogging(readableInspector(options.inspect), logging?.inspect),
    metrics,
    onEvent: logging === undefined && metrics === undefined
      ? (event) => swarm._event(event)
      : (event) => (logging?.event(event), metrics?.event(event), swarm._event(event)),
    onInput: () => swarm?._input(),
    suite,
    tap: recorder,
  })
  swarm = new Swarm(peerId, driver, new Set(protocols.map((p) => p.id)), actorLayer?.actors)
  if (metrics) {
    registerMetrics(swarm, metrics)
    if (actorLayer) actorLayer.actors._onDeliver = (items) => metrics.delivered(items)
  }
  driver.start()
  actorLayer?.actors._bind(driver.root.system, {
    command: (event) => swarm.command(ACTORS_ID, event as never),
    addresses: () => swarm.addresses,
    closed: () => swarm.closed,
    discover: protocols.some((p) => p.id === DISCOVERY_ID) ? (event) => swarm.command(DISCOVERY_ID, event as never) : undefined,
  })
  let bound: string[]
  try {
    bound = await driver.listen(listen)
  } catch (error) {
    await driver.shutdown()
    throw new XswarmError(ErrorCodes.LISTEN_FAILED, `cannot listen on ${listen.join(', ')}: ${(error as Error).message}`, { cause: error })
  }
  const addresses = bound.map((url) => `${url}/p2p/${peerId}`)
  swarm._listening(addresses) // known now; the swarm.listening event still comes first in the stream
  driver.push({ type: 'io.listener.ready', addresses })
  // With discovery, it dials the bootstrap addresses itself (and again, with backoff, later).
  if (!protocols.some((p) => p.id === DISCOVERY_ID)) for (const address of options.bootstrap ?? []) swarm.dial(address)
  return swarm
}

function checkOptions(options: SwarmOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object')
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new RangeError(`"options.${key}" is not a known option (known: ${[...KNOWN_OPTIONS].join(', ')})`)
  }
  if (options.listen !== undefined && !Array.isArray(options.listen)) {
    throw new TypeError('"options.listen" expected an array of address strings or { server, path? } entries')
  }
  options.listen?.forEach((entry, i) => typeof entry !== 'string' && checkSharedServer(entry, `options.listen[${i}]`))
  if (options.bootstrap !== undefined && (!Array.isArray(options.bootstrap) || options.bootstrap.some((a) => typeof a !== 'string'))) {
    throw new TypeError('"options.bootstrap" expected an array of address strings')
  }
  checkTls(options.tls)
  for (const address of options.bootstrap ?? []) parseDialAddress(address) // throws before anything starts
  for (const key of ['secretKey', 'swarmKey'] as const) {
    const value = options[key]
    if (value === undefined) continue
    if (!(value instanceof Uint8Array)) throw new TypeError(`"options.${key}" expected Uint8Array, got ${typeof value}`)
    if (value.length !== 32) throw new RangeError(`"options.${key}" expected Uint8Array of length 32, got length=${value.length}`)
  }
  if (options.allowlist !== undefined) {
    if (!Array.isArray(options.allowlist) || options.allowlist.some((a) => typeof a !== 'string')) {
      throw new TypeError('"options.allowlist" expected an array of IP address or CIDR strings')
    }
    parseAllowlist(options.allowlist) // a RangeError naming the bad entry
  }
  if (options.identityFile !== undefined && typeof options.identityFile !== 'string') {
    throw new TypeError('"options.identityFile" expected a file path string')
  }
  checkOptionShapes(options)
}

/** Wrong types throw TypeError here; wrong values throw RangeError where they are resolved. */
function checkOptionShapes(options: SwarmOptions): void {
  const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v)
  for (const key of ['ping', 'pubsub', 'discovery'] as const) {
    const value: unknown = options[key]
    if (value === undefined || value === false || (key === 'discovery' && value === true) || isObject(value)) continue
    throw new TypeError(`"options.${key}" expected false${key === 'discovery' ? ', true' : ''} or an options object, got ${typeof value}`)
  }
  const { crypto, inspect, transports, scheduler } = options as Record<string, unknown>
  if (crypto !== undefined && typeof crypto !== 'string' && !(isObject(crypto) && typeof (crypto as CryptoSuite).aeadEncrypt === 'function')) {
    throw new TypeError(`"options.crypto" expected 'native', 'noble' or a CryptoSuite, got ${typeof crypto}`)
  }
  if (inspect !== undefined && typeof inspect !== 'function' && !isObject(inspect)) {
    throw new TypeError(`"options.inspect" expected an inspection observer (a function or an observer object), got ${typeof inspect}`)
  }
  if (transports !== undefined && (!Array.isArray(transports) || transports.some((t) => !isObject(t)))) {
    throw new TypeError('"options.transports" expected an array of transports')
  }
  if (scheduler !== undefined && !isObject(scheduler)) throw new TypeError(`"options.scheduler" expected a scheduler object, got ${typeof scheduler}`)
}

/** The user's inspection observer and the logger's, as one (either may be absent). */
function withLogging(user: SwarmOptions['inspect'], logger: ((event: InspectionEvent) => void) | undefined): SwarmOptions['inspect'] {
  if (logger === undefined) return user
  if (user === undefined) return logger
  const next = typeof user === 'function' ? user : (event: InspectionEvent) => user.next?.(event)
  return (event) => (next(event), logger(event))
}

function checkTls(tls: SwarmOptions['tls']): void {
  if (tls === undefined) return
  if (typeof tls !== 'object' || tls === null) throw new TypeError('"options.tls" expected { ca }')
  for (const key of Object.keys(tls)) if (key !== 'ca') throw new RangeError(`"options.tls.${key}" is not known (known: ca)`)
  const list = tls.ca === undefined ? [] : Array.isArray(tls.ca) ? tls.ca : [tls.ca]
  if (list.some((c) => typeof c !== 'string' && !(c instanceof Uint8Array))) {
    throw new TypeError('"options.tls.ca" expected PEM certificates: a string, a Uint8Array or an array of them')
  }
}

function resolveSuite(choice: SwarmOptions['crypto']): CryptoSuite {
  if (choice === undefined || choice === 'native') return nativeSuite
  if (choice === 'noble') return nobleSuite
  if (typeof choice === 'object' && choice !== null && typeof choice.aeadEncrypt === 'function') return choice
  throw new RangeError(`"options.crypto" expected 'native', 'noble' or a CryptoSuite, got ${String(choice)}`)
}

/** Fresh randomness, or a deterministic stream for a seed. */
function randomSource(seed: SwarmOptions['seed']): (n: number) => Uint8Array {
  if (seed === undefined) return (n) => crypto.getRandomValues(new Uint8Array(n))
  let seedBytes: Uint8Array
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`"options.seed" expected a safe integer, got ${seed}`)
    seedBytes = new Uint8Array(32)
    new DataView(seedBytes.buffer).setFloat64(0, seed)
  } else if (seed instanceof Uint8Array && seed.length === 32) {
    seedBytes = seed
  } else {
    throw new TypeError('"options.seed" expected a safe integer or a Uint8Array of length 32')
  }
  const drbg = createDrbg(seedBytes)
  return (n) => drbgBytes(drbg, n)
}

async function resolveSecretKey(options: SwarmOptions, random: (n: number) => Uint8Array): Promise<Uint8Array> {
  if (options.secretKey) return Uint8Array.from(options.secretKey)
  if (options.identityFile) return (await loadOrCreateIdentity(options.identityFile)).keyPair.secretKey
  return random(32)
}

/** Built-ins first, then the user's; a user protocol with a built-in's id replaces that built-in. */
export function resolveProtocols(options: SwarmOptions, actors: ProtocolDefinition<any> | undefined): ProtocolDefinition<any>[] {
  if (options.protocols !== undefined && !Array.isArray(options.protocols)) {
    throw new TypeError('"options.protocols" expected an array of protocol definitions')
  }
  const user = (options.protocols ?? []).map((def) => defineProtocol(def))
  const seen = new Set<string>()
  for (const def of user) {
    if (seen.has(def.id)) throw new RangeError(`"options.protocols": protocol ${def.id} is registered twice`)
    seen.add(def.id)
  }
  const builtin: ProtocolDefinition<any>[] = []
  if (options.ping !== false) builtin.push(pingProtocol(options.ping ?? {}))
  if (options.pubsub !== false) builtin.push(pubsubProtocol(options.pubsub ?? {}))
  const discovery = discoveryForSwarm(options)
  if (discovery) builtin.push(discovery)
  if (actors) builtin.push(actors)
  return [...builtin.filter((def) => !seen.has(def.id)), ...user]
}
