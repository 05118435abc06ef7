/**
 * A swarm sharing a service's own node:http / node:https server (`listen: [{ server, path }]`):
 * peers connect through the path, the service's routes and its other upgrades are untouched,
 * wss:// dials trust a certificate the test made (and refuse it without), and the limit on
 * pending connections applies to upgrades through the shared server as on an own port.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createSwarm } from '../../src/create-swarm.js'
import type { Swarm } from '../../src/swarm.js'
import { cleanupSwarms, connect, createTestSwarm, drive, eventsOf, nextEvent, useSwarmCleanup } from '../helpers/swarm-test.js'
import { selfSignedCert } from '../helpers/tls.js'

useSwarmCleanup()

const servers: Server[] = []
afterEach(async () => {
  await cleanupSwarms() // the swarms' upgraded sockets first: server.close() waits for them
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** The service's own route: GET /hello → 200 "hello". */
function service(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/hello') res.writeHead(200, { 'content-type': 'text/plain' }).end('hello')
  else res.writeHead(404).end()
}

async function listening<S extends Server>(server: S): Promise<S> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** A swarm on `server` (driven by the helpers' cleanup like any test swarm). */
async function sharedSwarm(server: Server, path?: string, options: Parameters<typeof createSwarm>[0] = {}): Promise<Swarm> {
  return createTestSwarm({ ...options, listen: [{ server, ...(path ? { path } : {}) }] })
}

/** An upgrade request on a path, answered how? (status of the response, or 'open'). */
function upgradeStatus(url: string): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('open', () => (ws.terminate(), resolve('open')))
    ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()))
    ws.on('error', (err) => reject(err))
  })
}

describe('shared http server', () => {
  it('peers connect through the path; addresses read ws://host:port/<path>/p2p/<id>; other routes stay the server’s', async () => {
    const server = await listening(createHttpServer(service))
    const port = (server.address() as AddressInfo).port
    const a = await sharedSwarm(server, '/p2p-swarm')
    expect(a.addresses).toEqual([`ws://127.0.0.1:${port}/p2p-swarm/p2p/${a.peerId}`])
    const b = await createTestSwarm({ listen: [] })
    await connect(b, a)
    expect(eventsOf(b).find((e) => e.type === 'peer.connected')).toMatchObject({ peer: a.peerId, address: a.addresses[0] })

    const hello = await fetch(`http://127.0.0.1:${port}/hello`)
    expect([hello.status, await hello.text()]).toEqual([200, 'hello'])
    expect((await fetch(`http://127.0.0.1:${port}/p2p-swarm`)).status).toBe(404) // a plain GET is the service's
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/elsewhere`)).toBe(404)

    await a.close()
    const after = await fetch(`http://127.0.0.1:${port}/hello`)
    expect(after.status).toBe(200) // closing the swarm leaves the server running
    expect(server.listenerCount('upgrade')).toBe(0)
  })

  it('the default path is /xswarm, and the service’s own upgrade listener keeps its paths', async () => {
    const server = await listening(createHttpServer(service))
    const port = (server.address() as AddressInfo).port
    const own = new (await import('ws')).WebSocketServer({ noServer: true })
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/chat') own.handleUpgrade(req, socket, head, (ws) => ws.close())
    })
    const a = await sharedSwarm(server)
    expect(a.addresses[0]).toBe(`ws://127.0.0.1:${port}/xswarm/p2p/${a.peerId}`)
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/chat`)).toBe('open')
    const b = await createTestSwarm({ listen: [] })
    await connect(b, a)
  })

  it('a dialed multiaddr with /http-path reaches the same swarm', async () => {
    const server = await listening(createHttpServer(service))
    const port = (server.address() as AddressInfo).port
    const a = await sharedSwarm(server, '/a/b')
    const b = await createTestSwarm({ listen: [] })
    b.dial(`/ip4/127.0.0.1/tcp/${port}/ws/http-path/a%2Fb/p2p/${a.peerId}`)
    await drive([a, b], () => b.isConnected(a.peerId), { what: 'b connected to a over /http-path' })
  })

  it('pending upgrades count against maxPendingConnections as on an own listener (the oldest silent one is shed)', async () => {
    const server = await listening(createHttpServer(service))
    const a = await sharedSwarm(server, '/s', { limits: { maxPendingConnections: 1 } })
    const url = a.addresses[0].replace(/\/p2p\/.*$/, '')
    const silent = new WebSocket(url) // upgraded, never says a word: holds the one pending slot
    const shed = new Promise<string>((resolve) => silent.once('close', (_code, reason) => resolve(reason.toString())))
    await new Promise((resolve) => silent.once('open', resolve))
    await drive([a], () => a.stats().inputs > 3, { what: 'the swarm takes the first connection' })
    const second = new WebSocket(url)
    await new Promise((resolve) => second.once('open', resolve))
    let reason: string | undefined
    void shed.then((r) => (reason = r))
    await drive([a], () => reason !== undefined, { what: 'the silent connection shed' })
    expect(reason).toBe('too-many-pending-connections')
    second.terminate()
  })

  it('refuses a server that is not listening, a bad path and unknown keys, with the reason', async () => {
    const idle = createHttpServer(service)
    await expect(createSwarm({ listen: [{ server: idle }] })).rejects.toThrow(/not listening on a TCP port yet/)
    const server = await listening(createHttpServer(service))
    await expect(createSwarm({ listen: [{ server, path: 'x' }] })).rejects.toThrow(/must start with '\/'/)
    await expect(createSwarm({ listen: [{ server, path: '/p2p' }] })).rejects.toThrow(/'p2p' segment/)
    await expect(createSwarm({ listen: [{ server, port: 1 } as never] })).rejects.toThrow(/"options.listen\[0\].port" is not known/)
    await expect(createSwarm({ listen: [{ server: {} as never }] })).rejects.toThrow(/node:http or node:https server/)
    await expect(createSwarm({ listen: ['wss://127.0.0.1:0'] })).rejects.toThrow(/pass \{ server, path \}/)
  })
})

describe('shared https server (wss)', () => {
  it('a wss dial that trusts the test’s certificate connects; one that does not fails with tls-untrusted', async () => {
    const { key, cert } = await selfSignedCert()
    const server = await listening(createHttpsServer({ key, cert }, service))
    const port = (server.address() as AddressInfo).port
    const a = await sharedSwarm(server, '/swarm')
    expect(a.addresses).toEqual([`wss://127.0.0.1:${port}/swarm/p2p/${a.peerId}`])

    const untrusting = await createTestSwarm({ listen: [] })
    untrusting.dial(a.addresses[0])
    const failed = await nextEvent(untrusting, (e) => e.type === 'dial.failed', { what: 'dial.failed' })
    expect(failed).toMatchObject({ reason: 'tls-untrusted', address: a.addresses[0] })

    const trusting = await createTestSwarm({ listen: [], tls: { ca: cert } })
    await connect(trusting, a)
    const hello = await fetch(`https://127.0.0.1:${port}/hello`).catch((e: Error) => e)
    expect(hello).toBeInstanceOf(Error) // fetch does not trust it either: the route is still TLS-only, and still there
    const ws = await upgradeStatus(`wss://127.0.0.1:${port}/elsewhere`).catch((e: Error) => e.message)
    expect(ws).toMatch(/self-signed/)
  })
})
