/**
 * What `xswarm node` and `xswarm chat` share: turning flags into `createSwarm` options
 * (identity file, swarm key, data directory, discovery), starting the swarm, and checking
 * whether a built-in protocol is part of this build.
 * @module
 */
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { loadPeerStore } from '../discovery/peer-store-file.js'
import { enableLogs } from '../log/swarm-log.js'
// The public entry, so that every built-in protocol registered there runs in the CLI too.
import { createSwarm, XswarmError, type Swarm, type SwarmOptions } from '../index.js'
import { checkDial, checkListen, CliError, UsageError } from './args.js'
import { readSwarmKey } from './swarm-key.js'

export const DISCOVERY_PROTOCOL = '/xswarm/discovery/1'

/** Flags common to node and chat. */
export interface NodeFlags {
  listen?: string[]
  dial?: string[]
  identity?: string
  'swarm-key'?: string
  data?: string
  'no-discovery'?: boolean
  verbose?: boolean
}

export const NODE_FLAG_OPTIONS = {
  listen: { type: 'string', multiple: true },
  dial: { type: 'string', multiple: true },
  identity: { type: 'string' },
  'swarm-key': { type: 'string' },
  data: { type: 'string' },
  'no-discovery': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const

/** What was made of the flags, for the start-up banner. */
export interface Prepared {
  options: SwarmOptions
  /** The identity file used, and whether it existed before. */
  identity?: { path: string; existed: boolean }
  /** The peers file (with --data), read at start and written from `discovery.exported`. */
  peersFile?: string
  notes: string[]
}

/** Check the flags and build the swarm options. Usage problems throw UsageError, file problems CliError. */
export async function prepareSwarm(flags: NodeFlags): Promise<Prepared> {
  const listen = checkListen(flags.listen ?? [])
  const dial = checkDial(flags.dial ?? [])
  if (listen.length === 0 && dial.length === 0 && flags.data === undefined) {
    throw new UsageError('nothing to do: give --listen ADDR (e.g. ws://127.0.0.1:4001) and/or --dial ADDR (or --data DIR of an earlier run)')
  }
  const notes: string[] = []
  if (flags.verbose) enableLogs() // debug logs on stderr, as DEBUG=xswarm:* would
  const options: SwarmOptions = { listen, bootstrap: dial }
  if (flags['swarm-key'] !== undefined) options.swarmKey = await readSwarmKey(flags['swarm-key'])

  let identityPath = flags.identity
  let peersFile: string | undefined
  if (flags.data !== undefined) {
    try {
      await mkdir(flags.data, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw new CliError(`cannot use --data ${flags.data}: ${(error as Error).message}`)
    }
    identityPath ??= join(flags.data, 'identity.json')
    peersFile = join(flags.data, 'peers.json')
  }
  let identity: Prepared['identity']
  if (identityPath !== undefined) {
    if (identityPath.length === 0) throw new UsageError('--identity needs a file path')
    const existing = await stat(identityPath).catch(() => undefined)
    if (existing?.isDirectory()) throw new CliError(`identity file '${identityPath}' is a directory`)
    options.identityFile = identityPath
    identity = { path: identityPath, existed: existing !== undefined }
  }

  if (flags['no-discovery']) {
    options.discovery = false
  } else if (peersFile !== undefined) {
    // Peers an earlier run knew (a missing or unreadable file gives none: it is only a hint).
    const knownPeers = await loadPeerStore(peersFile)
    if (knownPeers.length > 0) {
      options.discovery = { knownPeers }
      notes.push(`${knownPeers.length} known peer(s) from ${peersFile}`)
    }
  }
  return { options, identity, peersFile, notes }
}

/** createSwarm with errors phrased for the command line. */
export async function startSwarm(options: SwarmOptions): Promise<Swarm> {
  try {
    return await createSwarm(options)
  } catch (error) {
    if (error instanceof XswarmError || error instanceof RangeError || error instanceof TypeError) {
      throw new CliError(error.message)
    }
    throw error
  }
}

/**
 * Send a protocol command, or return false when the protocol is not part of this build
 * (`swarm.command` throws RangeError "… is not running on this swarm").
 */
export function tryCommand(run: () => void): boolean {
  try {
    run()
    return true
  } catch (error) {
    if (error instanceof RangeError && /is not running on this swarm/.test(error.message)) return false
    throw error
  }
}
