/**
 * The live network page in headless Chromium: three swarms over real WebSockets feed the
 * page's hub (their readable inspection streams and swarm events); the page shows the three
 * nodes and their two links, each topic's mesh, the selected node's actors as statecharts with
 * their active states highlighted (the root's per-peer chart card right below the root), and a
 * connection actor leaving `open` when its peer goes.
 * Screenshots go to test-results/ui/ (not committed; README's picture is a copy of one).
 * Skips with a message when Chromium is missing.
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { buildPage } from '../../src/ui/build.js'
import { startUi, PACKAGE_ROOT, type UiServer } from '../../src/ui/server.js'
import type { Swarm } from '../../src/swarm.js'
import { launchChromium, skipReason } from '../helpers/chromium.js'
import { createTestSwarm, drive, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()
const missing = skipReason
if (missing) console.warn(`skipping the live page test: ${missing}`)
const SHOTS = join(PACKAGE_ROOT, 'test-results', 'ui')
const TOPIC = 'live'

describe.skipIf(missing !== undefined)('live network page (headless Chromium)', () => {
  let browser: Browser
  let ui: UiServer
  beforeAll(async () => {
    await buildPage()
    await mkdir(SHOTS, { recursive: true })
    browser = await launchChromium()
    ui = await startUi({ port: 0 })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await ui?.close()
  })

  it('shows the nodes and their links, the meshes, the actors as charts; a connection actor changes state when its peer disconnects', async () => {
    const nodes = ['node0', 'node1', 'node2'].map((name) => ui.hub.node(name))
    const swarms: Swarm[] = []
    for (const node of nodes) {
      const swarm = await createTestSwarm({ inspect: node.inspect })
      node.peerId(swarm.peerId)
      swarm.subscribe(TOPIC)
      swarms.push(swarm)
    }
    const feed = (swarm: Swarm, e: { type: string }) => nodes[swarms.indexOf(swarm)].event(e as never)
    swarms[0].dial(swarms[1].addresses[0])
    swarms[1].dial(swarms[2].addresses[0])
    const connected = () => swarms[0].isConnected(swarms[1].peerId) && swarms[1].isConnected(swarms[2].peerId) && swarms[2].isConnected(swarms[1].peerId)
    await drive(swarms, connected, { what: 'both links up', onEvent: feed })

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(ui.url)
    // Keep the swarms running (ping, pubsub heartbeats) while the page is looked at.
    let stop = false
    const running = drive(swarms, () => stop, { timeoutMs: 60_000, what: 'the test to end', onEvent: feed })
    try {

      await page.waitForFunction(() => document.querySelectorAll('[data-node]').length === 3 && document.querySelectorAll('[data-link]').length === 2)
      // node0 (selected first) has a connection actor to node1, drawn open, with active states highlighted.
      const open = await page.waitForSelector('.actor[data-value^="open"]')
      const actorId = await open.getAttribute('data-actor')
      expect(actorId).toMatch(/^[cd]\d+$/)
      expect(await open.$$eval('g.st.active', (els) => els.length)).toBeGreaterThanOrEqual(2)
      expect(await page.$$eval('.actor', (els) => els.length)).toBeGreaterThanOrEqual(3) // root, protocols, connection
      await page.waitForSelector('[data-mesh]') // the topic's mesh over the links
      // The root's per-peer chart: node1's card (swarmPeer, connected) right below the root.
      await page.waitForSelector('.actor[data-actor="swarmPeer"][data-value="connected"]')
      const firstTwo = await page.$$eval('.actor', (els) => els.slice(0, 2).map((el) => [el.querySelector('h3')!.textContent, el.getAttribute('data-actor')]))
      expect(firstTwo[0][0]).toMatch(/^swarm /)
      expect(firstTwo[1][1]).toBe('swarmPeer')
      await page.screenshot({ path: join(SHOTS, 'live-page.png') })

      // node1 goes away: node0's connection actor leaves `open`, and the link disappears.
      await swarms[1].close()
      await page.waitForFunction((id) => {
        const card = document.querySelector<HTMLElement>(`.actor[data-actor="${id}"]`)
        return card !== null && (!card.dataset.value!.startsWith('open') || card.dataset.status !== 'active')
      }, actorId, { timeout: 20_000 })
      await page.waitForFunction(() => document.querySelectorAll('[data-link]').length === 0)
      await page.screenshot({ path: join(SHOTS, 'live-page-disconnected.png') })

      // Another node's actors on a click.
      await page.click('[data-node="node2"]')
      await page.waitForFunction(() => document.getElementById('actors-title')!.textContent!.startsWith('Actors of node2'))
      expect(await page.$$eval('[data-event]', (els) => els.length)).toBeGreaterThan(0)
      expect(await page.$$eval('#log div', (els) => els.length)).toBeGreaterThan(0)
      expect(pageErrors).toEqual([])
    } finally {
      stop = true
      await running
    }
  }, 60_000)
})
