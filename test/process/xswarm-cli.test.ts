/**
 * The `xswarm` executable as OS processes: two `xswarm node` processes on 127.0.0.1 connect,
 * are stopped by signal (by pid) and close gracefully; identities survive restarts; private
 * networks; `xswarm demo` runs to completion. Uses the build (dist/), made here if missing.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, main, readLines, root, type Json } from './_nodes.js'

const exec = promisify(execFile)

/** One spawned `xswarm` process, its output split into lines, JSON lines parsed. */
class Proc {
  readonly child: ChildProcess
  readonly lines: string[] = []
  readonly events: Json[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #waiters: (() => void)[] = []

  constructor(args: string[], stdin: 'ignore' | 'pipe' = 'ignore') {
    this.child = spawn(process.execPath, [main, ...args], { cwd: root, stdio: [stdin, 'pipe', 'pipe'] })
    live.add(this)
    readLines(this.child, (line) => this.lines.push(line), (event) => this.events.push(event), () => {
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        live.delete(this)
        for (const wake of this.#waiters.splice(0)) wake()
        resolve({ code, signal })
      })
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  /** Wait (bounded) until an event matches; fails with what was printed. */
  async waitFor(match: (e: Json) => boolean, what: string, timeoutMs = 10_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(match)
      if (found) return found
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${what} from pid ${this.pid} (exit ${this.child.exitCode})\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Wait (bounded) until `condition` holds. */
  async until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`not ${what} from pid ${this.pid}\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Wait for a line starting with `prefix` (or matching a RegExp). */
  async waitForLine(prefix: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const matches = (l: string): boolean => (typeof prefix === 'string' ? l.startsWith(prefix) : prefix.test(l))
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && this.child.exitCode === null) {
      const line = this.lines.find(matches)
      if (line) return line
      await new Promise((r) => setTimeout(r, 50))
    }
    const line = this.lines.find(matches)
    if (line) return line
    throw new Error(`no line ${String(prefix)} from pid ${this.pid}\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`)
  }

  /** Signal this process by its pid and wait (bounded) for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    process.kill(this.pid, signal)
    return await Promise.race([
      this.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`pid ${this.pid} did not exit within ${timeoutMs} ms of ${signal}\n${this.stderr}`)), timeoutMs)),
    ])
  }
}

const live = new Set<Proc>()
let dir: string

beforeAll(() => {
  ensureBuilt()
  dir = mkdtempSync(join(tmpdir(), 'xswarm-cli-'))
}, 180_000)

afterEach(() => {
  for (const proc of live) {
    try { process.kill(proc.pid, 'SIGKILL') } catch { /* already gone */ }
  }
  live.clear()
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** `ws://127.0.0.1:p/p2p/<id>` → `<id>`. */
const peerOf = (address: string): string => address.slice(address.lastIndexOf('/') + 1)

describe('xswarm node (two processes)', () => {
  it('connect, stop by SIGTERM, exit 0, the survivor sees peer.disconnected swarm-closed', async () => {
    const a = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--json', '--no-discovery', '--identity', join(dir, 'a.json')])
    const aListening = await a.waitFor((e) => e.type === 'swarm.listening', 'swarm.listening')
    const aAddress = aListening.addresses[0] as string
    expect(aAddress).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/p2p\/\w+$/)
    const aId = peerOf(aAddress)

    const b = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--dial', aAddress, '--json', '--no-discovery', '--identity', join(dir, 'b.json')])
    const bId = peerOf((await b.waitFor((e) => e.type === 'swarm.listening', 'swarm.listening')).addresses[0])
    await b.waitFor((e) => e.type === 'peer.connected' && e.peer === aId, 'peer.connected(a)')
    await a.waitFor((e) => e.type === 'peer.connected' && e.peer === bId, 'peer.connected(b)')

    expect(await b.stop('SIGTERM')).toEqual({ code: 0, signal: null })
    expect(b.events.at(-1)?.type).toBe('swarm.closed')
    const gone = await a.waitFor((e) => e.type === 'peer.disconnected' && e.peer === bId, 'peer.disconnected(b)')
    expect(gone.reason).toBe('swarm-closed')

    expect(await a.stop('SIGINT')).toEqual({ code: 0, signal: null })
    expect(a.events.at(-1)?.type).toBe('swarm.closed')
    for (const file of ['a.json', 'b.json']) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600)
  })

  it('keeps its peer id across restarts with the same --identity file (human output)', async () => {
    const file = join(dir, 'same.json')
    const first = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--no-discovery', '--identity', file])
    const line1 = await first.waitForLine('listening ')
    expect(first.lines.some((l) => l.includes('(created)'))).toBe(true)
    expect((await first.stop()).code).toBe(0)

    const second = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--no-discovery', '--identity', file])
    const line2 = await second.waitForLine('listening ')
    expect(second.lines.some((l) => l.includes('(loaded)'))).toBe(true)
    expect(peerOf(line2)).toBe(peerOf(line1))
    expect(line2).toMatch(/^listening ws:\/\/127\.0\.0\.1:\d+\/p2p\//)
    expect((await second.stop()).code).toBe(0)
  })

  it('--data DIR keeps the identity (and, with discovery, the peers it knew) across restarts', async () => {
    const data = join(dir, 'data')
    const a = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--json', '--no-discovery'])
    const aAddress = (await a.waitFor((e) => e.type === 'swarm.listening', 'swarm.listening')).addresses[0] as string
    const b = new Proc(['node', '--dial', aAddress, '--json', '--data', data])
    await b.waitFor((e) => e.type === 'peer.connected', 'peer.connected')
    expect((await b.stop()).code).toBe(0)
    expect(statSync(join(data, 'identity.json')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(data, 'peers.json'), 'utf8')).toContain(peerOf(aAddress))

    // Restarted with nothing to dial: same peer id, and discovery finds a again from peers.json.
    const again = new Proc(['node', '--json', '--data', data])
    const connected = await again.waitFor((e) => e.type === 'peer.connected', 'peer.connected')
    expect(connected.peer).toBe(peerOf(aAddress))
    // a saw the same peer id both times.
    const connections = (): string[] => a.events.filter((e) => e.type === 'peer.connected').map((e) => e.peer as string)
    await a.waitFor(() => connections().length >= 2, 'the second connection')
    expect(connections()[1]).toBe(connections()[0])
    for (const proc of [again, a]) expect((await proc.stop()).code).toBe(0)
  })

  it('a private network: same --swarm-key connects, another key is refused', async () => {
    for (const name of ['k1', 'k2']) await exec(process.execPath, [main, 'key', '--out', join(dir, name)], { timeout: 10_000 })
    const a = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--json', '--no-discovery', '--swarm-key', join(dir, 'k1')])
    const address = (await a.waitFor((e) => e.type === 'swarm.listening', 'swarm.listening')).addresses[0] as string

    const friend = new Proc(['node', '--dial', address, '--json', '--no-discovery', '--swarm-key', join(dir, 'k1')])
    await friend.waitFor((e) => e.type === 'peer.connected', 'peer.connected')
    const stranger = new Proc(['node', '--dial', address, '--json', '--no-discovery', '--swarm-key', join(dir, 'k2')])
    // The stranger never stays connected: the listener refuses its handshake.
    const refused = await stranger.waitFor((e) => e.type === 'dial.failed' || e.type === 'peer.disconnected', 'refusal')
    expect(refused.reason).toMatch(/private-network|handshake/)
    expect(a.events.filter((e) => e.type === 'peer.connected')).toHaveLength(1)

    for (const proc of [stranger, friend, a]) expect((await proc.stop()).code).toBe(0)
  })

  it('a second Ctrl-C while closing exits at once with 130', async () => {
    const a = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--no-discovery'])
    const address = (await a.waitForLine('listening ')).slice('listening '.length)
    const b = new Proc(['node', '--dial', address, '--json', '--no-discovery'])
    await b.waitFor((e) => e.type === 'peer.connected', 'peer.connected')
    // b stops answering, so a's graceful close waits for it (up to timeouts.close).
    process.kill(b.pid, 'SIGSTOP')
    try {
      process.kill(a.pid, 'SIGINT')
      await a.until(() => /closing \(peers are told swarm-closed\)/.test(a.stderr), 'closing')
      expect(await a.stop('SIGINT')).toEqual({ code: 130, signal: null })
    } finally {
      process.kill(b.pid, 'SIGCONT')
    }
    expect((await b.stop()).code).toBe(0)
  })

  it('a corrupt identity file: exit 1 with a clear message, the file untouched', async () => {
    const file = join(dir, 'corrupt.json')
    execFileSync('sh', ['-c', `printf '{"version":1,"type":"ed25519"' > '${file}'`])
    const proc = new Proc(['node', '--listen', 'ws://127.0.0.1:0', '--identity', file])
    expect((await proc.exited).code).toBe(1)
    expect(proc.stderr).toMatch(/identity file .*corrupt\.json' is corrupt: not valid JSON/)
    expect(readFileSync(file, 'utf8')).toBe('{"version":1,"type":"ed25519"')
  })
})

describe('xswarm chat (two processes)', () => {
  it('lines typed in one chat arrive in the other as "name: text"; end of input leaves gracefully', async () => {
    const ada = new Proc(['chat', '--listen', 'ws://127.0.0.1:0', '--topic', 'lobby', '--name', 'ada', '--no-discovery'], 'pipe')
    const address = (await ada.waitForLine('listening ')).slice('listening '.length)
    const bob = new Proc(['chat', '--dial', address, '--topic', 'lobby', '--name', 'bob', '--no-discovery'], 'pipe')
    await bob.waitForLine(/^\* .* joined lobby$/)
    await ada.waitForLine(/^\* .* joined lobby$/)

    // A plain node on the same topic sees the chat as pubsub.message events (--topic, --json).
    const watcher = new Proc(['node', '--dial', address, '--topic', 'lobby', '--json', '--no-discovery'])
    await ada.waitForLine(/^\* .* joined lobby$/)
    await watcher.waitFor((e) => e.type === 'pubsub.subscribed' && e.topic === 'lobby', 'pubsub.subscribed')
    await ada.until(() => ada.lines.filter((l) => / joined lobby$/.test(l)).length === 2, 'two joins')

    bob.child.stdin!.write('hello ada\n')
    await ada.waitForLine('bob: hello ada')
    const seen = await watcher.waitFor((e) => e.type === 'pubsub.message', 'pubsub.message')
    expect(seen).toMatchObject({ topic: 'lobby', text: JSON.stringify({ name: 'bob', text: 'hello ada' }) })
    expect(Buffer.from(seen.data as string, 'base64').toString()).toBe(seen.text)
    expect((await watcher.stop()).code).toBe(0)
    ada.child.stdin!.write('hi bob\n')
    await bob.waitForLine('ada: hi bob')

    bob.child.stdin!.end() // Ctrl-D
    expect((await bob.exited).code).toBe(0)
    await ada.waitForLine(/^\* bob \(.{4}…\) disconnected \(swarm-closed\)$/)
    ada.child.stdin!.write('/quit\n')
    expect((await ada.exited).code).toBe(0)
  })
})

describe('xswarm (the executable)', () => {
  it('demo --nodes 3 --duration 2 runs, closes every node and exits 0 with a summary', async () => {
    const { stdout } = await exec(process.execPath, [main, 'demo', '--nodes', '3', '--duration', '2'], { timeout: 20_000 })
    // It ran for the duration asked (as it reports it), then shut down.
    expect(Number(/Summary: 3 nodes, 3 links, (\d+\.\d) s/.exec(stdout)?.[1])).toBeGreaterThanOrEqual(2)
    for (const node of ['node0', 'node1', 'node2']) {
      expect(stdout).toMatch(new RegExp(`^  ${node}\\s+\\w{32,}\\s+2\\s+\\d+\\s+\\d+\\.\\d\\d`, 'm'))
      expect(stdout).toMatch(new RegExp(`${node}\\(.{4}…\\)\\s+closed`))
    }
    expect(stdout).toMatch(/disconnected from node0\(.{4}…\) \(swarm-closed\)/)
    expect(stdout).toMatch(/ok: all 3 links up/)
    // Every node's greeting reached the two others.
    expect(stdout).toMatch(/greetings$/m)
    expect(stdout.match(/greeting reached all 2 other nodes in \d+\.\d\d ms/g)).toHaveLength(3)
    expect(stdout).toMatch(/3 of 3 greetings reached every node/)
  })

  it('demo --actors runs on its own and exits 0; demo --help lists it', async () => {
    const { stdout } = await exec(process.execPath, [main, 'demo', '--actors'], { timeout: 30_000 })
    expect(stdout).toMatch(/node1  reply: count n=[12]\s+trace \S+/)
    expect(stdout).toMatch(/coordinator ← actor\.down address=worker@node2 reason="node-closed"/)
    expect(stdout).toMatch(/^ok: \d+ traced steps/m)
    expect((await exec(process.execPath, [main, 'demo', '--help'], { timeout: 10_000 })).stdout).toMatch(/^\s+--actors\s/m)
  })

  it('--version, and exit 2 for an unknown command or flag', async () => {
    const { stdout } = await exec(process.execPath, [main, '--version'], { timeout: 10_000 })
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    for (const args of [['frobnicate'], ['demo', '--nodes', '1'], ['node', '--listen']]) {
      const error = await exec(process.execPath, [main, ...args], { timeout: 10_000 }).then(() => undefined, (e: { code: number; stderr: string }) => e)
      expect(error?.code).toBe(2)
      expect(error?.stderr).toMatch(/xswarm/)
    }
  })
})
