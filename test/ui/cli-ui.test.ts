/**
 * `xswarm node --ui PORT` and `xswarm demo --ui`: the live page's server starts on 127.0.0.1,
 * its URL is printed, its /events stream names the node, and it stops with the command; bad
 * flags are usage errors. (The page itself is tested in Chromium: live-page.test.ts.)
 * @module
 */
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { cli } from '../../src/cli/cli.js'

/** Run a command until `ready(line)` says so, then stop it as Ctrl-C would. */
async function runUntil(argv: string[], ready: (line: string) => boolean): Promise<{ code: number; lines: string[]; url?: string; checked?: unknown }> {
  const stop = new AbortController()
  const lines: string[] = []
  let url: string | undefined
  let onReady!: () => void
  const isReady = new Promise<void>((resolve) => { onReady = resolve })
  const sink = (line: string): void => {
    lines.push(line)
    url ??= /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1]
    if (ready(line)) onReady()
  }
  const running = cli(argv, { out: sink, err: sink, signal: stop.signal })
  await Promise.race([isReady, running])
  const first = await firstMessage(url)
  stop.abort()
  return { code: await running, lines, url, checked: first }
}

/** The first `node` message of the page's /events stream. */
function firstMessage(url: string | undefined): Promise<unknown> {
  if (!url) return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}events`)
    const timer = setTimeout(() => { socket.close(); reject(new Error('no node message from /events within 10 s')) }, 10_000)
    socket.on('message', (data) => {
      const m = JSON.parse(String(data)) as { t: string }
      if (m.t !== 'node') return
      clearTimeout(timer)
      socket.close()
      resolve(m)
    })
    socket.on('error', reject)
  })
}

describe('the --ui flags', () => {
  it('xswarm node --ui 0 serves the live page on 127.0.0.1 until the node stops', async () => {
    const r = await runUntil(['node', '--listen', 'ws://127.0.0.1:0', '--no-discovery', '--ui', '0'], (l) => l.startsWith('listening '))
    expect(r.code).toBe(0)
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(r.checked).toMatchObject({ t: 'node', node: 'node' })
    await expect(fetch(r.url!)).rejects.toThrow() // closed with the node
  })

  it('xswarm demo --ui serves the page for every node', async () => {
    const r = await runUntil(['demo', '--nodes', '2', '--ui'], (l) => /all links up|the link is up/.test(l))
    expect(r.code).toBe(0)
    expect(r.checked).toMatchObject({ t: 'node', node: 'node0' })
  })

  it('bad values are usage errors', async () => {
    const err: string[] = []
    const io = { out: () => {}, err: (l: string) => err.push(l) }
    expect(await cli(['node', '--listen', 'ws://127.0.0.1:0', '--ui', 'x'], io)).toBe(2)
    expect(await cli(['demo', '--ui-port', '7400'], io)).toBe(2)
    expect(err.join('\n')).toMatch(/--ui expected a whole number[\s\S]*--ui-port needs --ui/)
  })
})
