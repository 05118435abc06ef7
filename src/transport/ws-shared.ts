/**
 * Shared web servers: a swarm that answers WebSocket upgrades on one path of a service's own
 * `node:http` or `node:https` server instead of opening a port of its own.
 *
 * Only upgrade requests for exactly that path go to the swarm, through the same
 * `upgradeToSwarm` (ws.ts) an own listener uses (so every limit on upgrades and pending connections
 * applies alike); plain requests and upgrades for other paths stay the server's. When the
 * swarm is the server's only upgrade listener, an upgrade for another path is answered 404
 * (otherwise Node would leave that socket open forever); when the service has upgrade
 * listeners of its own, those requests are left to them. Closing the listener removes our
 * upgrade listener and never closes the service's server.
 * @module
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import { checkWsPath } from '../identity/address.js'
import type { Listener } from './transport.js'

/** Hands one upgrade request to the swarm (ws.ts `upgradeToSwarm` bound to a listener's state). */
export type Upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => void

/** A `listen` entry that shares a service's web server. */
export interface SharedServer {
  /** A listening `node:http` or `node:https` server (https gives `wss://` addresses). */
  server: HttpServer | HttpsServer
  /** The HTTP path the swarm answers on, e.g. `/p2p-swarm`. Default `/xswarm`. */
  path?: string
  /** The host to put in the swarm's addresses (e.g. the name on the certificate). Default: the server's bound address. */
  host?: string
}

/** The path a shared server uses when the entry names none. */
export const DEFAULT_SHARED_PATH = '/xswarm'

/**
 * Check a `{ server, path?, host? }` listen entry.
 * @throws TypeError for a wrong type, AddressError for a bad path, RangeError for a server not listening
 */
export function checkSharedServer(entry: unknown, name: string): SharedServer {
  if (typeof entry !== 'object' || entry === null) throw new TypeError(`"${name}" expected an address string or { server, path? }`)
  const { server, path, host } = entry as Record<string, unknown>
  for (const key of Object.keys(entry)) {
    if (key !== 'server' && key !== 'path' && key !== 'host') throw new RangeError(`"${name}.${key}" is not known (known: server, path, host)`)
  }
  if (!(server instanceof NetServer) || typeof (server as HttpServer).closeIdleConnections !== 'function') {
    throw new TypeError(`"${name}.server" expected a node:http or node:https server`)
  }
  if (path !== undefined && typeof path !== 'string') throw new TypeError(`"${name}.path" expected a string such as '/xswarm'`)
  if (host !== undefined && (typeof host !== 'string' || !/^[A-Za-z0-9.:-]{1,253}$/.test(host))) {
    throw new TypeError(`"${name}.host" expected a host name or IP address`)
  }
  checkWsPath(path ?? DEFAULT_SHARED_PATH, `"${name}.path"`)
  if (!server.listening || typeof server.address() !== 'object') {
    throw new RangeError(`"${name}.server" is not listening on a TCP port yet: await server.listen(port, host) before createSwarm`)
  }
  return entry as SharedServer
}

/** The transport url of a shared server: `ws(s)://host:port/path`. */
export function sharedServerUrl(entry: SharedServer): string {
  const info = entry.server.address() as AddressInfo | null
  const host = entry.host ?? info?.address ?? 'unknown'
  const scheme = entry.server instanceof TlsServer ? 'wss' : 'ws'
  const path = checkWsPath(entry.path ?? DEFAULT_SHARED_PATH, 'path') ?? ''
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${info?.port ?? 0}${path}`
}

/** The path of a request target (`/a/b?q` → `/a/b`). */
function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** Take the server's upgrades on the entry's path; `listeners` tracks the listener until it closes. */
export function listenShared(entry: SharedServer, upgrade: Upgrade, listeners: Set<Listener>): Listener {
  const path = checkWsPath(entry.path ?? DEFAULT_SHARED_PATH, 'path') ?? '/'
  const server = entry.server
  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    if (requestPath(req) === path) return upgrade(req, socket, head)
    if (server.listenerCount('upgrade') > 1) return // the service's own upgrade listeners take it
    socket.on('error', ignore)
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
  }
  server.on('upgrade', onUpgrade)
  const listener: Listener = {
    addresses: [sharedServerUrl(entry)],
    close: () => {
      if (listeners.delete(listener)) server.off('upgrade', onUpgrade)
      return Promise.resolve()
    },
  }
  listeners.add(listener)
  return listener
}

function ignore(): void {}
