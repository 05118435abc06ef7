/**
 * A simulated node: one swarm on a `Simulation`, with the faults a process suffers: `crash()`
 * (no graceful close: its connections break, its state is gone) and `restart()` (the same
 * identity and listen address, and the state it had persisted: discovery's peer store, exported
 * every `persistEveryMs` as `xswarm node --data` does).
 *
 * Why a class of its own: a scenario needs to crash and restart nodes, give them skewed clocks
 * and tell them apart in logs; with plain `createSwarm` every scenario would repeat that.
 * Identity and randomness derive from `seed` and the incarnation, so a restarted node has the
 * same peer id but fresh session randomness, and the whole run stays a function of the seeds.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { createSwarm, type SwarmOptions } from '../create-swarm.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../swarm.js'
import type { Transport } from '../transport/transport.js'
import type { Scheduler } from '../runtime/clock.js'
import type { DiscoveryOptions } from '../../machines/discovery/options.js'
import type { ExportedPeer } from '../../machines/discovery/peer-store.js'
import type { Simulation } from './simulation.js'

const DISCOVERY_ID = '/xswarm/discovery/1'

export interface SimNodeOptions extends Omit<SwarmOptions, 'listen' | 'transports' | 'scheduler' | 'seed' | 'secretKey' | 'identityFile'> {
  /** The node's seed: its identity and randomness derive from it. */
  seed: number
  /** Clock skew: the node's clock is `offsetMs` off and runs `1 + drift` times as fast. */
  skew?: { offsetMs: number; drift?: number }
  /** How often (simulated ms) the node persists discovery's peer store. Default 10 s; 0: never. */
  persistEveryMs?: number
}

export class SimNode {
  swarm!: Swarm
  transport!: Transport
  /** The transport's id in the link model (`sim.links`), fixed across restarts only per incarnation. */
  linkId = 0
  /** Whether the node runs (false after `crash()` until `restart()`). */
  alive = false
  incarnation = 0
  /** Discovery's peer store as last persisted. */
  persisted: ExportedPeer[] = []
  private persistTimer: unknown = undefined

  constructor(
    readonly sim: Simulation,
    readonly index: number,
    readonly options: SimNodeOptions,
    private readonly onEvent: (node: SimNode, event: SwarmEvent) => void = () => {},
  ) {}

  /** Start (or restart) the swarm; resolves once it listens. */
  async start(): Promise<this> {
    if (this.alive) throw new Error(`node ${this.index} is already running`)
    const { seed, skew, persistEveryMs, ...rest } = this.options
    const scheduler: Scheduler = skew ? this.sim.skewedScheduler(skew.offsetMs, skew.drift) : this.sim.scheduler
    this.transport = this.sim.transport()
    this.linkId = this.sim.network.idOf(this.transport)
    const discovery = rest.discovery === false ? false : withKnownPeers(rest.discovery, this.persisted)
    this.swarm = await createSwarm({
      ...rest,
      listen: [this.url],
      discovery,
      transports: [this.transport],
      scheduler,
      crypto: rest.crypto ?? this.sim.crypto,
      secretKey: derive(`xswarm-sim/key/${seed}`),
      seed: derive(`xswarm-sim/seed/${seed}/${this.incarnation}`),
    })
    this.incarnation++
    this.alive = true
    const swarm = this.swarm
    this.sim.add(swarm, (event) => {
      if (event.type === 'discovery.exported') this.persisted = (event as unknown as { peers: ExportedPeer[] }).peers
      this.onEvent(this, event)
    })
    const every = persistEveryMs ?? 10_000
    if (every > 0 && discovery !== false && swarm.protocols.includes(DISCOVERY_ID)) {
      const tick = (): void => {
        if (swarm !== this.swarm || !this.alive || swarm.closed) return
        swarm.command(DISCOVERY_ID, { type: 'discovery.export' })
        this.persistTimer = this.sim.scheduler.setTimeout(tick, every)
      }
      this.persistTimer = this.sim.scheduler.setTimeout(tick, every)
    }
    return this
  }

  /** Where the node listens: `memory://n<index>`, the same after a restart. */
  get url(): string {
    return `memory://n${this.index}`
  }

  /** The node's full address, known before its listener has settled. */
  get address(): string {
    return `${this.url}/p2p/${this.swarm.peerId}`
  }

  get peerId(): string {
    return this.swarm.peerId
  }

  /** Crash: no goodbyes; every connection breaks (`connection-lost` at the other ends). */
  crash(): void {
    if (!this.alive) return
    this.alive = false
    this.sim.scheduler.clearTimeout(this.persistTimer)
    this.sim.network.kill(this.transport)
    this.sim.remove(this.swarm)
  }

  /** Restart after a crash: the same identity and address, the persisted peer store. */
  restart(): Promise<this> {
    return this.start()
  }

  /** Close gracefully (resolves when the swarm has closed; the simulation must be running). */
  async close(): Promise<void> {
    if (!this.alive) return
    this.sim.scheduler.clearTimeout(this.persistTimer)
    await this.swarm.close()
    this.alive = false
  }
}

function withKnownPeers(discovery: true | DiscoveryOptions | undefined, known: ExportedPeer[]): DiscoveryOptions | undefined {
  if (known.length === 0) return discovery === true ? undefined : discovery
  const base = typeof discovery === 'object' ? discovery : {}
  return { ...base, knownPeers: known }
}

function derive(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(label))
}

/**
 * Start `count` nodes, `options(i, nodes)` each (the nodes before `i` are started: their
 * addresses can be bootstrap addresses). Nothing has been settled yet when it resolves.
 */
export async function startNodes(
  sim: Simulation,
  count: number,
  options: (index: number, nodes: SimNode[]) => SimNodeOptions,
  onEvent?: (node: SimNode, event: SwarmEvent) => void,
): Promise<SimNode[]> {
  const nodes: SimNode[] = []
  for (let i = 0; i < count; i++) nodes.push(await new SimNode(sim, i, options(i, nodes), onEvent).start())
  return nodes
}
