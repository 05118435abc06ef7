/**
 * src/identity/address.ts: every accepted form, normalisation, and every refusal with its message.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { peerIdToBase32 } from '../../machines/lib/peer-id.js'
import { AddressError, ErrorCodes } from '../../src/errors.js'
import {
  formatAddress,
  parseAddress,
  parseDialAddress,
  parseListenAddress,
  toMultiaddr,
  type ParsedAddress,
} from '../../src/identity/address.js'

const vectors = JSON.parse(readFileSync(new URL('../vectors/identity.json', import.meta.url), 'utf8')) as Record<string, string>
const ID = vectors.peerId
const ID32 = vectors.peerIdBase32

describe('accepted forms', () => {
  it.each<[string, ParsedAddress]>([
    [`ws://127.0.0.1:4001/p2p/${ID}`, { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001, peerId: ID }],
    ['ws://127.0.0.1:4001', { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001 }],
    ['ws://127.0.0.1:4001/', { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001 }],
    [`ws://127.0.0.1:4001/p2p/${ID}/`, { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001, peerId: ID }],
    ['ws://localhost:80', { transport: 'ws', url: 'ws://localhost:80', host: 'localhost', port: 80 }],
    ['WS://Node-1.Example.COM:443', { transport: 'ws', url: 'ws://node-1.example.com:443', host: 'node-1.example.com', port: 443 }],
    [`ws://[::1]:4001/p2p/${ID}`, { transport: 'ws', url: 'ws://[::1]:4001', host: '::1', port: 4001, peerId: ID }],
    ['ws://[0:0:0:0:0:0:0:1]:4001', { transport: 'ws', url: 'ws://[::1]:4001', host: '::1', port: 4001 }],
    ['ws://[FE80::A]:1', { transport: 'ws', url: 'ws://[fe80::a]:1', host: 'fe80::a', port: 1 }],
    ['ws://0.0.0.0:0', { transport: 'ws', url: 'ws://0.0.0.0:0', host: '0.0.0.0', port: 0 }],
    ['ws://127.0.0.1:65535', { transport: 'ws', url: 'ws://127.0.0.1:65535', host: '127.0.0.1', port: 65535 }],
    [`ws://127.0.0.1:4001/p2p/${ID32}`, { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001, peerId: ID }],
    [`/ip4/127.0.0.1/tcp/4001/ws/p2p/${ID}`, { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001, peerId: ID }],
    ['/ip4/127.0.0.1/tcp/4001/ws', { transport: 'ws', url: 'ws://127.0.0.1:4001', host: '127.0.0.1', port: 4001 }],
    ['/ip6/::1/tcp/4001/ws', { transport: 'ws', url: 'ws://[::1]:4001', host: '::1', port: 4001 }],
    [`/ip6/::1/tcp/4001/ws/p2p/${ID32}`, { transport: 'ws', url: 'ws://[::1]:4001', host: '::1', port: 4001, peerId: ID }],
    [`/dns4/localhost/tcp/4001/ws/p2p/${ID}`, { transport: 'ws', url: 'ws://localhost:4001', host: 'localhost', port: 4001, peerId: ID }],
    ['/dns6/example.com/tcp/4001/ws', { transport: 'ws', url: 'ws://example.com:4001', host: 'example.com', port: 4001 }],
    ['/dns/example.com/tcp/4001/ws', { transport: 'ws', url: 'ws://example.com:4001', host: 'example.com', port: 4001 }],
    // TLS and paths (a swarm on a shared web server)
    [`wss://example.com:443/p2p/${ID}`, { transport: 'ws', url: 'wss://example.com:443', host: 'example.com', port: 443, secure: true, peerId: ID }],
    [`ws://127.0.0.1:8080/xswarm/p2p/${ID}`, { transport: 'ws', url: 'ws://127.0.0.1:8080/xswarm', host: '127.0.0.1', port: 8080, path: '/xswarm', peerId: ID }],
    ['wss://example.com:443/a/b.c_d~e-f/', { transport: 'ws', url: 'wss://example.com:443/a/b.c_d~e-f', host: 'example.com', port: 443, secure: true, path: '/a/b.c_d~e-f' }],
    [`/dns/example.com/tcp/443/tls/ws/http-path/a%2Fb/p2p/${ID}`, { transport: 'ws', url: 'wss://example.com:443/a/b', host: 'example.com', port: 443, secure: true, path: '/a/b', peerId: ID }],
    ['/ip4/127.0.0.1/tcp/443/wss', { transport: 'ws', url: 'wss://127.0.0.1:443', host: '127.0.0.1', port: 443, secure: true }],
    ['/ip4/127.0.0.1/tcp/80/ws/http-path/xswarm', { transport: 'ws', url: 'ws://127.0.0.1:80/xswarm', host: '127.0.0.1', port: 80, path: '/xswarm' }],
    [`memory://node-1/p2p/${ID}`, { transport: 'memory', url: 'memory://node-1', peerId: ID }],
    ['memory://node-1', { transport: 'memory', url: 'memory://node-1' }],
    [`/memory/node-1/p2p/${ID}`, { transport: 'memory', url: 'memory://node-1', peerId: ID }],
  ])('parses %s', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected)
  })
})

describe('refusals name the problem', () => {
  it.each([
    ['', 'address is empty'],
    ['ws://127.0.0.1:70000', 'port 70000 out of range (0-65535)'],
    ['ws://127.0.0.1:123456', 'port 123456 out of range'],
    ['ws://127.0.0.1:-1', "port '-1' is not a number"],
    ['ws://127.0.0.1:abc', "port 'abc' is not a number"],
    ['ws://127.0.0.1:', "port '' is not a number"],
    ['ws://127.0.0.1', "missing port in 'ws://127.0.0.1'"],
    ['ws://:4001', 'missing host'],
    ['ws://', 'missing host'],
    ['ws://127.0.0.1:4001/p2p/xyz', "peer id 'xyz' is not a valid peer id"],
    ['ws://127.0.0.1:4001/p2p/', 'missing peer id after /p2p/'],
    ['ws://127.0.0.1:4001/ch*t', "bad segment 'ch*t'"],
    [`ws://127.0.0.1:4001/p2p/a/p2p/${ID}`, "must not have a 'p2p' segment"],
    [`ws://127.0.0.1:4001/a//b/p2p/${ID}`, "bad segment ''"],
    [`ws://127.0.0.1:4001/${'a/'.repeat(130)}x`, 'longer than 256'],
    [`ws://127.0.0.1:4001/p2p/${ID}/extra`, 'unexpected path'],
    ['ws://127.0.0.1:4001?x=1', 'must not contain a query'],
    ['ws://127.0.0.1:4001#top', 'must not contain a fragment'],
    ['ws://user@127.0.0.1:4001', 'must not contain user info'],
    ['ws://::1:4001', 'IPv6 host must be in brackets'],
    ['ws://[::1:4001', "unclosed '['"],
    ['ws://[::g]:4001', "'::g' is not a valid IPv6 address"],
    ['ws://[fe80::1%25eth0]:4001', 'zone ids are not supported'],
    ['ws://[::1]4001', "unexpected '4001' after IPv6 host"],
    ['ws://999.1.1.1:4001', "'999.1.1.1' is not a valid IPv4 address"],
    ['ws://bad_host!:4001', "'bad_host!' is not a valid host name"],
    ['ws://-bad.example:4001', 'is not a valid host name'],
    [`ws://${'a'.repeat(64)}.com:4001`, 'is not a valid host name'],
    ['https://example.com:443', 'is not a WebSocket address: use wss://'],
    ['http://example.com:80', 'is not a WebSocket address: use ws://'],
    ['ftp://example.com:21', "unsupported scheme 'ftp://'"],
    ['example.com:4001', 'is neither a ws:// or memory:// URL nor a multiaddr'],
    ['ws://127.0.0.1:4001 ', 'contains whitespace'],
    ['memory://', 'missing name'],
    ['memory://no spaces', 'contains whitespace'],
    ['memory://bad*name', "memory name 'bad*name' is not valid"],
    ['memory://node/chat', "unexpected path '/chat'"],
    ['/ip4/127.0.0.1/udp/4001/ws', "unknown multiaddr protocol 'udp' (expected tcp)"],
    ['/ip4/127.0.0.1/tcp/4001/tls/http', "unknown multiaddr protocol 'http' (expected ws after /tls)"],
    ['/ip4/127.0.0.1/tcp/4001/ws/http-path/%zz', 'bad percent-encoding after /http-path'],
    ['/ip4/127.0.0.1/tcp/4001/ws/http-path/p2p', "must not have a 'p2p' segment"],
    ['/ip4/127.0.0.1/tcp/4001', 'has no /ws: only WebSocket multiaddrs can be dialed'],
    ['/ip4/127.0.0.1', 'has no /tcp/<port>'],
    ['/ip4/127.0.0.1/tcp', 'missing value after /tcp'],
    ['/ip4/127.0.0.1/tcp/99999/ws', 'port 99999 out of range'],
    ['/ip4/localhost/tcp/1/ws', "'localhost' is not a valid IPv4 address"],
    ['/ip6/127.0.0.1/tcp/1/ws', "'127.0.0.1' is not a valid IPv6 address"],
    ['/dns4/127.0.0.1/tcp/1/ws', 'expects a host name, got the IP address'],
    ['/ip4/127.0.0.1/tcp/4001/ws/p2p/xyz', "peer id 'xyz' is not a valid peer id"],
    [`/ip4/127.0.0.1/tcp/4001/ws/p2p/${ID}/ws`, '/p2p must come last'],
    ['/ip4/127.0.0.1/tcp/4001/ws/http', "unknown multiaddr protocol 'http' (expected p2p or the end)"],
    ['/ip4/127.0.0.1/tcp/4001/ws/', 'empty component'],
    ['/ip4//tcp/1/ws', 'missing value after /ip4'],
    [`/p2p/${ID}`, 'has a peer id but no transport address'],
    ['/onion3/abc/tcp/1/ws', "unknown multiaddr protocol 'onion3'"],
    ['/', 'empty component'],
    ['x'.repeat(2000), 'longer than 1024'],
  ])('refuses %s', (text, message) => {
    let error: unknown
    try {
      parseAddress(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(AddressError)
    expect((error as AddressError).code).toBe(ErrorCodes.INVALID_ADDRESS)
    expect((error as AddressError).message).toContain(message)
  })

  it('refuses a non-string with TypeError', () => {
    expect(() => parseAddress(4001 as unknown as string)).toThrow(TypeError)
  })
})

describe('dial and listen', () => {
  it('dial refuses port 0, listen allows it', () => {
    expect(() => parseDialAddress('ws://127.0.0.1:0')).toThrow('cannot dial port 0')
    expect(() => parseDialAddress('/ip4/127.0.0.1/tcp/0/ws')).toThrow(AddressError)
    expect(parseListenAddress('ws://127.0.0.1:0')).toEqual({ transport: 'ws', url: 'ws://127.0.0.1:0', host: '127.0.0.1', port: 0 })
    expect(parseDialAddress(`ws://127.0.0.1:4001/p2p/${ID}`).peerId).toBe(ID)
    expect(parseDialAddress('memory://a').url).toBe('memory://a')
  })

  it('listen refuses a peer id, dial does not need one', () => {
    expect(() => parseListenAddress(`ws://127.0.0.1:0/p2p/${ID}`)).toThrow('a listen address cannot name a peer id')
    expect(parseDialAddress('ws://127.0.0.1:4001').peerId).toBeUndefined()
    expect(parseListenAddress('memory://node-1')).toEqual({ transport: 'memory', url: 'memory://node-1' })
  })

  it('listen refuses wss:// and paths by themselves (they need a shared server)', () => {
    expect(() => parseListenAddress('wss://127.0.0.1:0')).toThrow('pass { server, path }')
    expect(() => parseListenAddress('ws://127.0.0.1:0/x')).toThrow('pass { server, path }')
  })
})

describe('formatting', () => {
  it('formats a full address with the canonical peer id', () => {
    expect(formatAddress('ws://127.0.0.1:4001', ID)).toBe(`ws://127.0.0.1:4001/p2p/${ID}`)
    expect(formatAddress('ws://[::1]:4001', ID32)).toBe(`ws://[::1]:4001/p2p/${ID}`)
    expect(formatAddress('/ip4/10.0.0.1/tcp/9/ws', ID)).toBe(`ws://10.0.0.1:9/p2p/${ID}`)
    expect(formatAddress('memory://n', ID)).toBe(`memory://n/p2p/${ID}`)
  })

  it('refuses a bad url or peer id', () => {
    expect(() => formatAddress('ws://127.0.0.1:4001', 'xyz')).toThrow("peer id 'xyz' is not a valid peer id")
    expect(() => formatAddress(`ws://127.0.0.1:4001/p2p/${ID}`, ID)).toThrow('already names a peer id')
    expect(() => formatAddress('ws://127.0.0.1', ID)).toThrow('missing port')
    expect(() => formatAddress(1 as unknown as string, ID)).toThrow(TypeError)
  })

  it.each([
    [`ws://127.0.0.1:4001/p2p/${ID}`, `/ip4/127.0.0.1/tcp/4001/ws/p2p/${ID}`],
    ['ws://[::1]:4001', '/ip6/::1/tcp/4001/ws'],
    ['ws://localhost:4001', '/dns/localhost/tcp/4001/ws'],
    [`/dns4/localhost/tcp/4001/ws/p2p/${ID32}`, `/dns/localhost/tcp/4001/ws/p2p/${ID}`],
    [`memory://node-1/p2p/${ID}`, `/memory/node-1/p2p/${ID}`],
    [`wss://example.com:443/a/b/p2p/${ID}`, `/dns/example.com/tcp/443/tls/ws/http-path/a%2Fb/p2p/${ID}`],
    ['ws://127.0.0.1:80/xswarm', '/ip4/127.0.0.1/tcp/80/ws/http-path/xswarm'],
  ])('toMultiaddr(%s) = %s, which parses back to the same address', (text, multiaddr) => {
    const parsed = parseAddress(text)
    expect(toMultiaddr(parsed)).toBe(multiaddr)
    expect(parseAddress(multiaddr)).toEqual(parsed)
  })

  it('round-trips formatAddress through parseAddress', () => {
    for (const url of ['ws://127.0.0.1:1', 'ws://[2001:db8::1]:65535', 'ws://a.b.c:80', 'memory://x']) {
      const parsed = parseAddress(formatAddress(url, peerIdToBase32(ID)))
      expect(parsed.url).toBe(url)
      expect(parsed.peerId).toBe(ID)
    }
  })
})

describe('splitAddress (machines: addresses from peers)', () => {
  it('accepts ws and wss addresses with a path, and refuses a p2p segment in the path', async () => {
    const { splitAddress } = await import('../../machines/lib/protocol.js')
    expect(splitAddress(`wss://example.com:443/a/b/p2p/${ID}`)).toEqual({ url: 'wss://example.com:443/a/b', peer: ID })
    expect(splitAddress(`ws://127.0.0.1:80/xswarm/p2p/${ID}`)).toEqual({ url: 'ws://127.0.0.1:80/xswarm', peer: ID })
    expect(splitAddress(`ws://127.0.0.1:80/p2p/x/p2p/${ID}`)).toBeUndefined()
    expect(splitAddress(`ws://127.0.0.1:80/a*b/p2p/${ID}`)).toBeUndefined()
  })
})
