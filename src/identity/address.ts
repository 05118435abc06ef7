/**
 * Addresses: where a node listens and how to dial it, parsed once at the boundary.
 *
 * Accepted forms:
 *   ws://host:port[/<path>][/p2p/<peerId>]        host: IPv4, DNS name, or [IPv6]; wss:// for TLS
 *   /ip4/<a>/tcp/<port>/ws[/http-path/<p>][/p2p/<peerId>]   multiaddr; also /ip6/, /dns/, /dns4/,
 *                                                 /dns6/, and /tls/ws or /wss for TLS
 *   memory://<name>[/p2p/<peerId>]                 the in-memory transport (also /memory/<name>[/p2p/<id>])
 * Without a peer id an address can still be dialed; any peer id is then accepted. A path names
 * the HTTP path a swarm sharing a web server answers on (`{ server, path }` listen entries):
 * segments of A-Z a-z 0-9 . _ ~ -, none of them `p2p`, so `/p2p/<id>` is always the peer id.
 *
 * Every refusal is an AddressError (code invalid-address) whose message names the exact
 * problem. A parsed address is normalised: host lowercased, IPv6 compressed, peer id in its
 * canonical base58 form, so equal addresses compare equal as strings.
 * `parseAddress` checks syntax only; `parseDialAddress` also refuses port 0, and
 * `parseListenAddress` refuses a peer id (port 0 means "any free port" there).
 * @module
 */
import { isIPv4, isIPv6 } from './ip.js'
import { peerIdBytes, peerIdFromDigest } from '../../machines/lib/peer-id.js'
import { AddressError } from '../errors.js'
import { astring } from '../validate.js'

/** The transports an address can name. */
export type AddressTransport = 'ws' | 'memory'

/** Longest path of a ws address (the part between the port and /p2p). */
export const MAX_PATH_LENGTH = 256
const PATH_SEGMENT = /^[A-Za-z0-9._~-]{1,64}$/

/** A parsed, normalised address. */
export interface ParsedAddress {
  /** Which transport dials/listens on it. */
  transport: AddressTransport
  /** The transport address without peer id: `ws(s)://host:port[/path]` (IPv6 in brackets) or `memory://name`. */
  url: string
  /** ws only: the host (IPv6 without brackets). */
  host?: string
  /** ws only: the TCP port, 0 to 65535. */
  port?: number
  /** ws only: true for WebSocket over TLS (`wss://`). */
  secure?: boolean
  /** ws only: the HTTP path, as `/a/b`, when there is one (none means `/`). */
  path?: string
  /** The expected peer id (canonical base58), when the address names one. */
  peerId?: string
}

const MAX_ADDRESS_LENGTH = 1024
const MEMORY_NAME = /^[A-Za-z0-9._~-]{1,128}$/
const DNS_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/

/**
 * Parse an address in any accepted form (syntax only; port 0 and a missing peer id allowed).
 * @throws AddressError naming the problem; TypeError when `address` is not a string
 * @example parseAddress('/ip4/127.0.0.1/tcp/4001/ws') // { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001 }
 */
export function parseAddress(address: string): ParsedAddress {
  astring(address, 'address')
  if (address.length === 0) throw new AddressError('address is empty')
  if (address.length > MAX_ADDRESS_LENGTH) {
    throw new AddressError(`address of ${address.length} characters is longer than ${MAX_ADDRESS_LENGTH}`)
  }
  if (/[\s\u0000-\u001f\u007f]/.test(address)) throw new AddressError(`address '${show(address)}' contains whitespace or control characters`)
  if (address.startsWith('/')) return parseMultiaddr(address)
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(address)
  if (scheme === null) {
    throw new AddressError(`address '${show(address)}' is neither a ws:// or memory:// URL nor a multiaddr (/ip4/.../tcp/.../ws)`)
  }
  const name = scheme[1].toLowerCase()
  const rest = address.slice(scheme[0].length)
  if (name === 'ws' || name === 'wss') return parseWsUrl(address, rest, name === 'wss')
  if (name === 'memory') return parseMemoryUrl(address, rest)
  if (name === 'https' || name === 'http') {
    throw new AddressError(`${name}:// is not a WebSocket address: use ${name === 'https' ? 'wss' : 'ws'}:// in '${show(address)}'`)
  }
  throw new AddressError(`unsupported scheme '${name}://' in '${show(address)}' (expected ws://, wss:// or memory://)`)
}

/**
 * Parse an address to dial: as `parseAddress`, but a ws port must not be 0.
 * @example parseDialAddress('ws://127.0.0.1:4001/p2p/' + peerId)
 */
export function parseDialAddress(address: string): ParsedAddress {
  const parsed = parseAddress(address)
  if (parsed.port === 0) throw new AddressError(`cannot dial port 0 in '${show(address)}' (port 0 is only for listening)`)
  return parsed
}

/**
 * Parse an address to listen on: as `parseAddress`, but it must not name a peer id (the
 * listener's own id is added when addresses are announced). Port 0 picks a free port.
 * @example parseListenAddress('ws://127.0.0.1:0')
 */
export function parseListenAddress(address: string): ParsedAddress {
  const parsed = parseAddress(address)
  if (parsed.peerId !== undefined) {
    throw new AddressError(`a listen address cannot name a peer id: '${show(address)}' (drop the /p2p/... part)`)
  }
  if (parsed.secure || parsed.path !== undefined) {
    throw new AddressError(`cannot listen on '${show(address)}' by itself: to serve wss:// or a path, pass { server, path } with your node:https or node:http server`)
  }
  return parsed
}

/**
 * The full dialable address of a transport url and a peer id: `<url>/p2p/<peerId>`.
 * @param url `ws://host:port` or `memory://name` (any form parseAddress accepts, without peer id)
 * @param peerId a peer id in either form (printed canonical)
 * @example formatAddress('ws://127.0.0.1:4001', swarm.peerId)
 */
export function formatAddress(url: string, peerId: string): string {
  astring(url, 'url')
  astring(peerId, 'peerId')
  const parsed = parseAddress(url)
  if (parsed.peerId !== undefined) throw new AddressError(`url '${show(url)}' already names a peer id`)
  return `${parsed.url}/p2p/${parsePeerId(peerId)}`
}

/**
 * The multiaddr form of a parsed address: `/ip4|ip6|dns/<host>/tcp/<port>[/tls]/ws[/http-path/<p>][/p2p/<id>]`
 * or `/memory/<name>[/p2p/<id>]`. (A /dns4 or /dns6 name comes back as /dns, /wss as /tls/ws.)
 * @example toMultiaddr(parseAddress('ws://[::1]:4001')) // '/ip6/::1/tcp/4001/ws'
 */
export function toMultiaddr(parsed: ParsedAddress): string {
  if (typeof parsed !== 'object' || parsed === null) throw new TypeError('"parsed" expected a ParsedAddress')
  astring(parsed.url, 'parsed.url')
  // Re-parse the url so a hand-made object is checked, and the output is normalised.
  const again = parseAddress(parsed.url)
  const peer = parsed.peerId === undefined ? '' : `/p2p/${parsePeerId(parsed.peerId)}`
  if (again.transport === 'memory') return `/memory/${again.url.slice('memory://'.length)}${peer}`
  const host = again.host!
  const kind = isIPv4(host) ? 'ip4' : isIPv6(host) ? 'ip6' : 'dns'
  const tls = again.secure ? '/tls' : ''
  const path = again.path === undefined ? '' : `/http-path/${encodeURIComponent(again.path.slice(1))}`
  return `/${kind}/${host}/tcp/${again.port}${tls}/ws${path}${peer}`
}

/** `ws://` or `wss://`, host (IPv6 in brackets), port and path: the url a transport dials. */
function wsUrl(secure: boolean | undefined, host: string, port: number, path: string | undefined): string {
  return `${secure ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}${path ?? ''}`
}

/** A parsed ws address, with `secure` and `path` only when they apply. */
function wsAddress(host: string, port: number, secure: boolean, path: string | undefined, peerId: string | undefined): ParsedAddress {
  const out: ParsedAddress = { transport: 'ws', url: wsUrl(secure, host, port, path), host, port }
  if (secure) out.secure = true
  if (path !== undefined) out.path = path
  if (peerId !== undefined) out.peerId = peerId
  return out
}

/**
 * Check an HTTP path for a ws address: `/seg[/seg…]`, segments of A-Z a-z 0-9 . _ ~ -, none
 * `p2p`. `/` (or '') means no path. Returns the path, or undefined for none.
 * @throws AddressError naming the problem
 */
export function checkWsPath(path: string, where: string): string | undefined {
  if (path === '' || path === '/') return undefined
  if (path.length > MAX_PATH_LENGTH) throw new AddressError(`path of ${path.length} characters in ${where} is longer than ${MAX_PATH_LENGTH}`)
  if (!path.startsWith('/')) throw new AddressError(`path '${show(path)}' in ${where} must start with '/'`)
  for (const segment of path.slice(1).split('/')) {
    if (!PATH_SEGMENT.test(segment)) {
      throw new AddressError(`path '${show(path)}' in ${where} has a bad segment '${show(segment)}' (1-64 characters of A-Z a-z 0-9 . _ ~ -)`)
    }
    if (segment === 'p2p') throw new AddressError(`path '${show(path)}' in ${where} must not have a 'p2p' segment (it introduces the peer id)`)
  }
  return path
}

// ---------------------------------------------------------------------------------------------

function parseWsUrl(address: string, rest: string, secure: boolean): ParsedAddress {
  for (const c of ['?', '#', '@', '\\']) {
    if (rest.includes(c)) {
      const what = c === '@' ? 'user info' : c === '?' ? 'a query' : c === '#' ? 'a fragment' : 'a backslash'
      throw new AddressError(`ws address '${show(address)}' must not contain ${what}`)
    }
  }
  const slash = rest.indexOf('/')
  const authority = slash === -1 ? rest : rest.slice(0, slash)
  const path = slash === -1 ? '' : rest.slice(slash)
  if (authority.length === 0) throw new AddressError(`missing host in '${show(address)}'`)
  let hostText: string
  let portText: string | undefined
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']')
    if (close === -1) throw new AddressError(`unclosed '[' in host of '${show(address)}'`)
    hostText = authority.slice(1, close)
    const after = authority.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) throw new AddressError(`unexpected '${show(after)}' after IPv6 host in '${show(address)}'`)
    portText = after === '' ? undefined : after.slice(1)
    if (!isIPv6(hostText) || hostText.includes('%')) {
      throw new AddressError(`'${show(hostText)}' is not a valid IPv6 address (zone ids are not supported)`)
    }
  } else {
    const colon = authority.lastIndexOf(':')
    hostText = colon === -1 ? authority : authority.slice(0, colon)
    portText = colon === -1 ? undefined : authority.slice(colon + 1)
    if (hostText.includes(':')) throw new AddressError(`IPv6 host must be in brackets, as in ws://[::1]:4001, in '${show(address)}'`)
  }
  if (portText === undefined) throw new AddressError(`missing port in '${show(address)}' (as in ws://host:4001)`)
  const host = authority.startsWith('[') ? normaliseIPv6(hostText) : parseHostName(hostText, 'ws')
  const port = parsePort(portText)
  const { path: httpPath, peerId } = splitWsPath(address, path)
  return wsAddress(host, port, secure, httpPath, peerId)
}

/** `[/path][/p2p/<id>][/]` → the path (checked) and the peer id. */
function splitWsPath(address: string, path: string): { path?: string; peerId?: string } {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  const at = trimmed.lastIndexOf('/p2p/')
  const tail = at === -1 ? '' : trimmed.slice(at)
  const head = at === -1 ? trimmed : trimmed.slice(0, at)
  const peerId = tail === '' ? (trimmed.endsWith('/p2p') ? parsePath(address, '/p2p/') : undefined) : parsePath(address, tail)
  return { path: checkWsPath(head, `'${show(address)}'`), peerId }
}

function parseMemoryUrl(address: string, rest: string): ParsedAddress {
  const slash = rest.indexOf('/')
  const name = slash === -1 ? rest : rest.slice(0, slash)
  const path = slash === -1 ? '' : rest.slice(slash)
  if (name.length === 0) throw new AddressError(`missing name in '${show(address)}' (as in memory://node-1)`)
  checkMemoryName(name)
  const peerId = parsePath(address, path)
  const url = `memory://${name}`
  return peerId === undefined ? { transport: 'memory', url } : { transport: 'memory', url, peerId }
}

/** '' or '/' → no peer id; '/p2p/<id>' (optionally with a trailing '/') → the canonical id. */
function parsePath(address: string, path: string): string | undefined {
  if (path === '' || path === '/') return undefined
  const match = /^\/p2p\/([^/]*)\/?$/.exec(path)
  if (match === null) throw new AddressError(`unexpected path '${show(path)}' in '${show(address)}' (expected /p2p/<peerId> or nothing)`)
  if (match[1] === '') throw new AddressError(`missing peer id after /p2p/ in '${show(address)}'`)
  return parsePeerId(match[1])
}

function parseMultiaddr(address: string): ParsedAddress {
  const parts = address.split('/')
  // parts[0] is '' (the leading slash)
  let i = 1
  const next = (protocol: string): string => {
    const value = parts[i++]
    if (value === undefined || value === '') throw new AddressError(`missing value after /${protocol} in '${show(address)}'`)
    return value
  }
  const take = (): string | undefined => {
    if (i >= parts.length) return undefined
    const p = parts[i++]
    if (p === '') throw new AddressError(`empty component in multiaddr '${show(address)}'`)
    return p
  }
  const first = take()
  if (first === undefined) throw new AddressError(`empty multiaddr '${show(address)}'`)
  let result: ParsedAddress
  if (first === 'memory') {
    const name = next('memory')
    checkMemoryName(name)
    result = { transport: 'memory', url: `memory://${name}` }
  } else if (first === 'ip4' || first === 'ip6' || first === 'dns' || first === 'dns4' || first === 'dns6') {
    const hostText = next(first)
    let host: string
    if (first === 'ip4') {
      if (!isIPv4(hostText)) throw new AddressError(`'${show(hostText)}' is not a valid IPv4 address`)
      host = hostText
    } else if (first === 'ip6') {
      if (!isIPv6(hostText) || hostText.includes('%')) {
        throw new AddressError(`'${show(hostText)}' is not a valid IPv6 address (zone ids are not supported)`)
      }
      host = normaliseIPv6(hostText)
    } else {
      host = parseHostName(hostText, first)
      if (isIPv4(host)) throw new AddressError(`/${first} expects a host name, got the IP address '${host}' (use /ip4)`)
    }
    const tcp = take()
    if (tcp === undefined) throw new AddressError(`multiaddr '${show(address)}' has no /tcp/<port>`)
    if (tcp !== 'tcp') throw unknownProtocol(tcp, 'tcp', address)
    const port = parsePort(next('tcp'))
    let ws = take()
    if (ws === undefined) throw new AddressError(`multiaddr '${show(address)}' has no /ws: only WebSocket multiaddrs can be dialed`)
    const secure = ws === 'wss' || ws === 'tls'
    if (ws === 'tls') ws = take()
    if (ws !== 'ws' && ws !== 'wss') throw unknownProtocol(ws ?? '', secure ? 'ws after /tls' : 'ws, wss or tls', address)
    let httpPath: string | undefined
    if (parts[i] === 'http-path') {
      i++
      let decoded: string
      try {
        decoded = `/${decodeURIComponent(next('http-path'))}`
      } catch {
        throw new AddressError(`bad percent-encoding after /http-path in '${show(address)}'`)
      }
      httpPath = checkWsPath(decoded, `'${show(address)}'`)
    }
    result = wsAddress(host, port, secure, httpPath, undefined)
  } else if (first === 'p2p') {
    throw new AddressError(`multiaddr '${show(address)}' has a peer id but no transport address (as in /ip4/127.0.0.1/tcp/4001/ws/p2p/<id>)`)
  } else {
    throw unknownProtocol(first, 'ip4, ip6, dns, dns4, dns6 or memory', address)
  }
  const tail = take()
  if (tail !== undefined) {
    if (tail !== 'p2p') throw unknownProtocol(tail, 'p2p or the end', address)
    result.peerId = parsePeerId(next('p2p'))
    const extra = take()
    if (extra !== undefined) throw new AddressError(`unexpected '/${show(extra)}' after the peer id in '${show(address)}' (/p2p must come last)`)
  }
  return result
}

function unknownProtocol(name: string, expected: string, address: string): AddressError {
  return new AddressError(`unknown multiaddr protocol '${show(name)}' (expected ${expected}) in '${show(address)}'`)
}

function parsePort(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new AddressError(`port '${show(text)}' is not a number`)
  if (text.length > 5 || Number(text) > 65535) throw new AddressError(`port ${show(text)} out of range (0-65535)`)
  return Number(text)
}

function parsePeerId(text: string): string {
  const bytes = peerIdBytes(text)
  if (bytes === null) throw new AddressError(`peer id '${show(text)}' is not a valid peer id (base58btc or base32 of a sha256)`)
  return peerIdFromDigest(bytes)
}

function parseHostName(text: string, where: string): string {
  if (text.length === 0) throw new AddressError(`missing host in ${where} address`)
  const host = text.toLowerCase()
  if (isIPv4(host)) return host
  if (host.length > 253) throw new AddressError(`host name of ${host.length} characters is longer than 253`)
  const labels = host.split('.')
  if (labels[labels.length - 1] === '' && labels.length > 1) labels.pop() // a trailing dot is allowed
  for (const label of labels) {
    if (!DNS_LABEL.test(label)) throw new AddressError(`'${show(text)}' is not a valid host name (bad label '${show(label)}')`)
  }
  // A name whose last label is all digits would be read as an IPv4 address by other parsers.
  if (/^[0-9]+$/.test(labels[labels.length - 1])) throw new AddressError(`'${show(text)}' is not a valid IPv4 address`)
  return host
}

function normaliseIPv6(text: string): string {
  // WHATWG URL prints IPv6 in its canonical compressed lowercase form.
  return new URL(`ws://[${text}]/`).hostname.slice(1, -1)
}

function checkMemoryName(name: string): void {
  if (!MEMORY_NAME.test(name)) {
    throw new AddressError(`memory name '${show(name)}' is not valid (1-128 characters of A-Z a-z 0-9 . _ ~ -)`)
  }
}

/** At most 80 characters of a string, for messages. */
function show(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
