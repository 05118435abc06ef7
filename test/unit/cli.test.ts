/**
 * The command line in-process (`cli(argv, io)`): argument validation and exit codes, the
 * swarm key file, the demo topology, log formatting, and a node started and stopped by signal.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../../src/cli/cli.js'
import { demoTopology } from '../../src/cli/demo.js'
import { eventToJson, shortId, table } from '../../src/cli/log.js'
import { formatSwarmKey, parseSwarmKey, readSwarmKey } from '../../src/cli/swarm-key.js'
import { formatChat, encodeChat } from '../../src/cli/chat.js'

let dir: string
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'xswarm-cli-unit-')) })
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await cli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('xswarm: usage errors exit 2 with a clear message', () => {
  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['demo', '--bogus'], /^xswarm demo: unknown option '--bogus' \(see xswarm demo --help\)$/],
    [['demo', 'extra'], /unexpected argument 'extra'/],
    [['demo', '--nodes', '1'], /--nodes expected a whole number from 2 to 50, got 1/],
    [['demo', '--nodes', '51'], /--nodes expected a whole number from 2 to 50, got 51/],
    [['demo', '--nodes', 'five'], /--nodes expected a whole number from 2 to 50, got 'five'/],
    [['demo', '--nodes', '2.5'], /--nodes expected a whole number/],
    [['demo', '--duration', '0'], /--duration expected a whole number from 1 to 3600, got 0/],
    [['demo', '--duration', '3601'], /--duration expected a whole number from 1 to 3600/],
    [['demo', '--nodes'], /option '--nodes' needs a value/],
    [['demo', '--help=yes'], /option '--help' does not take a value/],
    [['demo', '--actors', '--nodes', '3'], /--actors runs its own 3 nodes until done: it takes no --nodes/],
    [['node', '--listen'], /option '--listen' needs a value/],
    [['node', '--listen', '--json'], /option '--listen' needs a value \(got another option after it/],
    [['node'], /nothing to do: give --listen/],
    [['node', '--json'], /nothing to do/],
    [['node', '--listen', 'http://127.0.0.1:4001'], /--listen http:\/\/127\.0\.0\.1:4001: /],
    [['node', '--listen', 'ws://127.0.0.1:0', '--dial', 'ws://127.0.0.1:0'], /--dial ws:\/\/127\.0\.0\.1:0: .*port/],
    [['node', '--listen', 'ws://127.0.0.1:0', '--dial', 'nonsense'], /--dial nonsense: /],
    [['node', '--listen', 'ws://127.0.0.1:0', '--topic', ''], /--topic expected 1 to 256 characters/],
    [['chat', '--listen', 'ws://127.0.0.1:0'], /--topic T is required/],
    [['key', '--out'], /option '--out' needs a value/],
  ])('xswarm %j', async (argv, message) => {
    const { code, err } = await run(...argv)
    expect(code).toBe(2)
    expect(err).toMatch(message)
    expect(err).toMatch(/xswarm/)
  })

  it('no arguments: the help, exit 2; --help: exit 0', async () => {
    const none = await run()
    expect(none.code).toBe(2)
    expect(none.err).toMatch(/Usage: xswarm <command>/)
    const help = await run('--help')
    expect(help.code).toBe(0)
    expect(help.out).toMatch(/demo .*\n.*node .*\n.*chat .*\n.*key /)
  })

  it.each(['demo', 'node', 'chat', 'key'])('xswarm %s --help (and xswarm help %s)', async (command) => {
    for (const argv of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const { code, out } = await run(...argv)
      expect(code).toBe(0)
      expect(out).toMatch(new RegExp(`^Usage: xswarm ${command}`))
      const options = out.split('\n').map((l) => /^\s+(?:-\w, )?(--[\w-]+)/.exec(l)?.[1]).filter((o) => o !== undefined)
      expect(options.length, 'options listed').toBeGreaterThan(0)
      expect(options, 'each option listed once').toEqual([...new Set(options)])
    }
  })

  it('--version prints package.json version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const flag of ['--version', '-v']) expect(await run(flag)).toEqual({ code: 0, out: pkg.version, err: '' })
  })
})

describe('xswarm: runtime failures exit 1', () => {
  it('a corrupt identity file, left as it was', async () => {
    const file = join(dir, 'corrupt.json')
    writeFileSync(file, '{"version":1,"type":"ed25519","secretKey":"AAAA","peerId":"x"}')
    const { code, err } = await run('node', '--listen', 'ws://127.0.0.1:0', '--identity', file)
    expect(code).toBe(1)
    expect(err).toMatch(/error: identity file '.*corrupt\.json' is corrupt: "secretKey" decodes to 3 bytes/)
    expect(readFileSync(file, 'utf8')).toContain('"peerId":"x"')
  })

  it('an identity path that is a directory', async () => {
    const { code, err } = await run('node', '--listen', 'ws://127.0.0.1:0', '--identity', dir)
    expect(code).toBe(1)
    expect(err).toMatch(/is a directory/)
  })

  it.each([
    ['missing', undefined, /cannot read swarm key file/],
    ['short', '/key/swarm/psk/1.0.0/\n/base16/\nabcd\n', /should be 64 hex digits \(32 bytes\), got 4/],
    ['header', '/key/swarm/psk/2.0.0/\n/base16/\n' + 'ab'.repeat(32), /first line should be/],
    ['encoding', '/key/swarm/psk/1.0.0/\n/base64/\n' + 'ab'.repeat(32), /second line should be '\/base16\/'/],
    ['nothex', 'zz'.repeat(32), /not hexadecimal/],
    ['empty', '', /expected 3 lines/],
  ])('a bad swarm key file (%s)', async (name, content, message) => {
    const file = join(dir, `key-${name}`)
    if (content !== undefined) writeFileSync(file, content)
    const { code, err } = await run('node', '--listen', 'ws://127.0.0.1:0', '--swarm-key', file)
    expect(code).toBe(1)
    expect(err).toMatch(message)
  })

  it('cannot listen (port in use)', async () => {
    const { createServer } = await import('node:net')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const { code, err } = await run('node', '--listen', `ws://127.0.0.1:${port}`)
      expect(code).toBe(1)
      expect(err).toMatch(/cannot listen on ws:\/\/127\.0\.0\.1:\d+/)
    } finally {
      server.close()
    }
  })
})

describe('xswarm key', () => {
  it('writes a 0600 key file, refuses to overwrite, replaces with --force', async () => {
    const file = join(dir, 'swarm.key')
    const first = await run('key', '--out', file)
    expect(first.code).toBe(0)
    expect(first.err).toMatch(/wrote a new swarm key/)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    expect(await readSwarmKey(file)).toHaveLength(32)

    const again = await run('key', '--out', file)
    expect(again.code).toBe(1)
    expect(again.err).toMatch(/already exists; not overwriting it \(use --force/)
    expect(readFileSync(file, 'utf8')).toBe(text)

    chmodSync(file, 0o644)
    expect((await run('key', '--out', file, '--force')).code).toBe(0)
    expect(readFileSync(file, 'utf8')).not.toBe(text)
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('a directory that does not exist: exit 1, nothing written', async () => {
    const { code, err } = await run('key', '--out', join(dir, 'no', 'such', 'dir', 'swarm.key'))
    expect(code).toBe(1)
    expect(err).toMatch(/cannot create '.*swarm\.key': ENOENT/)
  })

  it('without --out prints a key file; the bare hex form and CRLF are read too', async () => {
    const { code, out } = await run('key')
    expect(code).toBe(0)
    const key = parseSwarmKey(out)
    expect(formatSwarmKey(key).trimEnd()).toBe(out)
    expect(parseSwarmKey(out.replace(/\n/g, '\r\n'))).toEqual(key)
    expect(parseSwarmKey(Buffer.from(key).toString('hex').toUpperCase() + '\n')).toEqual(key)
  })
})

describe('xswarm node in-process', () => {
  it('runs until its signal aborts, then closes gracefully (exit 0)', async () => {
    const stop = new AbortController()
    const out: string[] = []
    const done = cli(['node', '--listen', 'ws://127.0.0.1:0', '--json', '--no-discovery'], {
      out: (line) => {
        out.push(line)
        if (line.includes('swarm.listening')) stop.abort()
      },
      err: () => {},
      signal: stop.signal,
    })
    expect(await done).toBe(0)
    expect(JSON.parse(out[0]).type).toBe('swarm.listening')
    expect(JSON.parse(out.at(-1)!).type).toBe('swarm.closed')
  })
})

describe('xswarm demo in-process', () => {
  it('stopped early by its signal: every node still closed, summary printed, exit 0', async () => {
    const stop = new AbortController()
    const out: string[] = []
    const code = await cli(['demo', '--nodes', '2', '--duration', '60'], {
      out: (line) => {
        out.push(line)
        if (line.includes('the link is up')) stop.abort()
      },
      err: () => {},
      signal: stop.signal,
    })
    const text = out.join('\n')
    expect(code).toBe(0)
    expect(text).toMatch(/interrupted: shutting down/)
    expect(text).toMatch(/node0\(.{4}…\)\s+closed[\s\S]*node1\(.{4}…\)\s+closed/)
    expect(text).toMatch(/Summary: 2 nodes, 1 link,/)
    expect(text).toMatch(/ok: stopped early/)
  })
})

describe('xswarm demo --actors in-process', () => {
  it('asks, replies and the coordinator\'s actor.down, each with its trace id; exits 0 by itself', async () => {
    const out: string[] = []
    const code = await cli(['demo', '--actors'], { out: (line) => out.push(line), err: (line) => out.push(`err: ${line}`) })
    const text = out.join('\n')
    expect(code, text).toBe(0)
    // Each node's ask and the reply to it carry the same trace id, across two nodes.
    for (const node of ['node1', 'node2']) {
      const asked = new RegExp(`${node}  asks counter@node0: get replyTo=ask#\\d+@${node}\\s+trace (\\S+)`).exec(text)
      expect(asked, text).not.toBeNull()
      expect(text).toMatch(new RegExp(`node0  counter ← get replyTo=ask#\\d+@${node}\\s+trace ${asked![1].replace('.', '\\.')}`))
      expect(text).toMatch(new RegExp(`${node}  reply: count n=[12]\\s+trace ${asked![1].replace('.', '\\.')}`))
    }
    // Every job's result goes back under the job's trace; jobs 7-9 only to node1.
    for (let id = 1; id <= 9; id++) {
      const job = new RegExp(`(node[12])  worker ← job id=${id} replyTo=coordinator@node0\\s+trace (\\S+)`).exec(text)
      expect(job, `job ${id}`).not.toBeNull()
      expect(text).toMatch(new RegExp(`coordinator ← done id=${id} by="${job![1]}"\\s+trace ${job![2].replace('.', '\\.')}`))
      if (id > 6) expect(job![1]).toBe('node1')
    }
    expect(text.match(/coordinator ← actor\.down address=worker@node2 reason="node-closed"\s+trace \S+/g)).toHaveLength(1)
    expect(text).toMatch(/^ok: \d+ traced steps; asks answered, 9 jobs done exactly once/m)
  }, 30_000)
})

describe('demo topology', () => {
  it('a ring plus chords: every pair once, connected, deterministic', () => {
    expect(demoTopology(2)).toEqual([[0, 1]])
    expect(demoTopology(3)).toEqual([[0, 1], [1, 2], [2, 0]])
    expect(demoTopology(5)).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 2], [3, 0]])
    for (let n = 2; n <= 50; n++) {
      const edges = demoTopology(n)
      const keys = edges.map(([a, b]) => (a < b ? `${a}-${b}` : `${b}-${a}`))
      expect(new Set(keys).size).toBe(edges.length)
      expect(edges.every(([a, b]) => a !== b && a < n && b < n)).toBe(true)
      const degree = new Array(n).fill(0)
      for (const [a, b] of edges) { degree[a]++; degree[b]++ }
      expect(Math.min(...degree)).toBeGreaterThanOrEqual(n === 2 ? 1 : 2)
      expect(demoTopology(n)).toEqual(edges)
    }
  })
})

describe('log formatting', () => {
  it('short ids, aligned tables, JSON events with bytes', () => {
    expect(shortId('3fK9abcdef')).toBe('3fK9…')
    expect(table(['a', 'num'], [['xx', '1'], ['y', '100']], ['left', 'right'])).toEqual(['a   num', 'xx    1', 'y   100'])
    const line = eventToJson({ type: 'pubsub.message', topic: 't', data: new TextEncoder().encode('hi'), from: 'p', id: 'm' })
    expect(JSON.parse(line)).toEqual({ type: 'pubsub.message', topic: 't', data: 'aGk=', text: 'hi', from: 'p', id: 'm' })
    expect(JSON.parse(eventToJson({ type: 'x', data: new Uint8Array([0xff]) }))).toEqual({ type: 'x', data: '/w==' })
  })

  it('chat lines: name and text, control characters neutralised, foreign messages shown by peer id', () => {
    expect(formatChat(encodeChat('ada', 'hello'), 'PeerXYZ')).toBe('ada: hello')
    expect(formatChat(encodeChat('a\u001b[2Jb', 'x\u0007'), 'PeerXYZ')).toBe('a?[2Jb: x?')
    expect(formatChat(new TextEncoder().encode('plain'), 'PeerXYZ')).toBe('Peer…: plain')
    expect(formatChat(new Uint8Array([0xff, 0xfe]), 'PeerXYZ')).toBe('Peer…: <2 bytes>')
  })
})
