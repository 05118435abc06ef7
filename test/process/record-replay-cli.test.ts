/**
 * Record and replay as OS processes: `xswarm node --json --record FILE` exchanges with an
 * `xswarm chat` process (a connection, pings, a pubsub message), is stopped by signal, and
 * `xswarm replay FILE --json` prints the lines it printed, byte for byte; `--until N` prints
 * the state of its actors; a bad file exits 1 with a clear message.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, killAll, main, Node, root } from './_nodes.js'

const exec = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'xswarm-replay-cli-'))
beforeAll(() => ensureBuilt(), 180_000)
afterAll(() => {
  killAll()
  rmSync(dir, { recursive: true, force: true })
})

const replayCli = (args: string[]) => exec(process.execPath, [main, 'replay', ...args], { cwd: root, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })

describe('xswarm node --record, xswarm replay', () => {
  it('replay --json prints what the live node printed, line for line; --until prints every actor', async () => {
    const file = join(dir, 'node.rec')
    const a = new Node('a', ['node', '--listen', 'ws://127.0.0.1:0', '--json', '--no-discovery', '--topic', 'room', '--record', file])
    const address = await a.listening()
    const chat = spawn(process.execPath, [main, 'chat', '--dial', address, '--topic', 'room', '--name', 'bo', '--no-discovery'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
    try {
      await a.waitFor((e) => e.type === 'pubsub.peer.subscribed', 'the chat subscribed', 15_000)
      chat.stdin.write('hello from the chat\n')
      await a.waitFor((e) => e.type === 'pubsub.message', 'the chat message', 15_000)
      chat.stdin.end()
      await a.waitFor((e) => e.type === 'peer.disconnected', 'the chat left', 15_000)
    } finally {
      if (chat.exitCode === null) chat.kill('SIGKILL')
    }
    expect((await a.stop('SIGTERM')).code).toBe(0)
    expect(a.lines.at(-1)).toBe('{"type":"swarm.closed"}')

    const { stdout } = await replayCli([file, '--json'])
    expect(stdout.split('\n').slice(0, -1)).toEqual(a.lines)

    // Stop at the input that brought the chat message (its number depends on timing: pings, timers).
    const { stdout: all } = await replayCli([file, '--until', '100000'])
    const at = Number(/^#(\d+) +\+[\d.]+s +message /m.exec(all)?.[1])
    expect(at).toBeGreaterThan(0)
    const { stdout: readable, stderr } = await replayCli([file, '--until', String(at)])
    expect(stderr).toMatch(new RegExp(`replayed ${at} inputs .* stopped after input ${at}`))
    expect(readable).toMatch(/^#\d+ +listening ws:\/\/127\.0\.0\.1:/m)
    expect(readable).toMatch(new RegExp(`state after input ${at} \\([\\d.]+ s\\): \\d+ actors`))
    expect(readable).toMatch(/^ {2}swarm .*active/m)
    expect(readable).toMatch(/^ {2}swarm\/protocol:\/xswarm\/pubsub\/1/m)
  }, 90_000)

  it('a file that is not a recording, or is missing, exits 1 with what is wrong', async () => {
    writeFileSync(join(dir, 'bad.rec'), 'not a recording')
    await expect(replayCli([join(dir, 'bad.rec')])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/xswarm replay: error: .*not an xswarm recording/) })
    await expect(replayCli([join(dir, 'missing.rec')])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot read the recording/) })
  })
})
