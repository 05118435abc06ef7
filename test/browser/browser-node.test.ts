/**
 * The browser build in headless Chromium: a page loads `xswarm` bundled for browsers
 * (bench/browser-bundle.ts: the browser WebSocket, the @noble suite), keeps its identity in
 * IndexedDB, dials a Node swarm on 127.0.0.1, subscribes to a topic, receives the Node side's
 * message and publishes an answer that the Node side receives, then asks an actor hosted on the
 * Node side and gets its reply. Skips with the reason when there is no Chromium
 * (test/helpers/chromium.ts).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendTo, setup, type AnyActorRef } from 'xstate'
import { bundleForBrowser } from '../../bench/browser-bundle.js'
import { ensureBuilt } from '../process/_nodes.js'
import { launchChromium, skipReason } from '../helpers/chromium.js'
import { createTestSwarm, drive, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

/** Answers `get {replyTo}` with `count {n: 42}`. */
const counter = setup({
  types: { events: {} as { type: 'get'; replyTo: AnyActorRef } },
}).createMachine({
  on: { get: { actions: sendTo(({ event }) => event.replyTo, { type: 'count', n: 42 }) } },
})

/** The page's program: runs in Chromium, imports the bundle, reports on `window.result`. */
const APP = `
import { createSwarm, loadBrowserIdentity } from '/xswarm.js'
const result = (window.result = { events: [] })
try {
  const secretKey = await loadBrowserIdentity('test')
  const again = await loadBrowserIdentity('test')
  result.sameKey = secretKey.every((b, i) => b === again[i])
  const swarm = await createSwarm({ secretKey, discovery: false })
  result.peerId = swarm.peerId
  swarm.subscribe('room')
  swarm.dial(new URLSearchParams(location.search).get('addr'))
  for await (const e of swarm) {
    result.events.push(e.type)
    if (e.type === 'pubsub.message') {
      result.received = new TextDecoder().decode(e.data)
      swarm.publish('room', new TextEncoder().encode('pong from the browser'))
      // An actor on the Node side, asked from the page (the reply comes back over the same connection).
      swarm.actors.ask(new URLSearchParams(location.search).get('actor'), { type: 'get' }, { timeout: 15000 })
        .then((reply) => { result.reply = reply }, (error) => { result.askError = String(error) })
    }
  }
} catch (error) {
  result.error = String(error && error.stack || error)
}
`

let server: Server
let base: string
beforeAll(async () => {
  if (skipReason) return
  ensureBuilt()
  const bundle = await bundleForBrowser()
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/app.js"></script>')
    if (path === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(APP)
    if (path === '/xswarm.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.code)
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 180_000)
afterAll(async () => {
  if (server) await new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))
})

describe.skipIf(skipReason !== undefined)(`browser node in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('a page dials a Node swarm, subscribes, receives a message and publishes one back, asks an actor on the Node side', async () => {
    const node = await createTestSwarm({ ping: false })
    node.subscribe('room')
    const hosted = node.actors.spawn(counter, { name: 'counter', accept: 'any' })
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      const problems: string[] = []
      page.on('pageerror', (e) => problems.push(e.message))
      await page.goto(`${base}/?addr=${encodeURIComponent(node.addresses[0])}&actor=${encodeURIComponent(hosted.address)}`)
      let browserPeer: string | undefined
      let answer: string | undefined
      await drive([node], () => browserPeer !== undefined, {
        timeoutMs: 20_000, what: 'the browser peer subscribed to room',
        onEvent: (_s, e) => { if (e.type === 'pubsub.peer.subscribed' && e.topic === 'room') browserPeer = e.peer as string },
      })
      node.publish('room', new TextEncoder().encode('hello browser'))
      await drive([node], () => answer !== undefined, {
        timeoutMs: 20_000, what: 'the answer from the browser',
        onEvent: (_s, e) => { if (e.type === 'pubsub.message' && e.from === browserPeer) answer = new TextDecoder().decode(e.data as Uint8Array) },
      })
      // The Node side is driven while the page's ask goes there and its reply comes back.
      let replied = false
      const driving = drive([node], () => replied, { timeoutMs: 20_000, what: "the page's ask answered" })
      try {
        await page.waitForFunction('window.result.reply || window.result.askError', undefined, { timeout: 20_000 })
      } finally {
        replied = true
        await driving
      }
      const result = (await page.evaluate('window.result')) as { peerId: string; received: string; sameKey: boolean; error?: string; events: string[]; reply?: unknown; askError?: string }
      expect(result.error).toBeUndefined()
      expect(problems).toEqual([])
      expect(answer).toBe('pong from the browser')
      expect(result.received).toBe('hello browser')
      expect(result.peerId).toBe(browserPeer)
      expect(node.isConnected(result.peerId)).toBe(true)
      expect(result.sameKey).toBe(true) // the identity came back from IndexedDB
      expect(result.events).toContain('peer.connected')
      expect(result.askError).toBeUndefined()
      expect(result.reply).toEqual({ type: 'count', n: 42 })
    } finally {
      await browser.close()
    }
  }, 60_000)
})
