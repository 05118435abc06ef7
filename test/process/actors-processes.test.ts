/**
 * The actor layer between three OS processes over real WebSockets: `xswarm node --json --data
 * DIR --actors fixtures/work-actors.mjs`, a coordinator and two workers. One worker is killed
 * with SIGKILL in the middle of the run and restarted from its --data on the same port (same
 * identity, so the same actor address). Every job is done exactly once (at-least-once delivery,
 * an idempotent coordinator), and every ask ends with a reply or a typed error.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ensureBuilt, killAll, Node, until } from './_nodes.js'

const FIXTURE = 'test/process/fixtures/work-actors.mjs'
const TYPED = new Set(['reply', 'unreachable', 'no-such-actor', 'rejected', 'overloaded', 'actor-stopped', 'peer-disconnected', 'timeout', 'swarm-closed'])
let dir: string

beforeAll(() => {
  ensureBuilt()
  dir = mkdtempSync(join(tmpdir(), 'xswarm-actors-'))
}, 180_000)

afterAll(() => {
  killAll()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const node = (name: string, listen: string, dial: string[]) =>
  new Node(name, ['node', '--listen', listen, '--json', '--no-discovery', '--data', join(dir, name), '--actors', FIXTURE, ...dial.flatMap((a) => ['--dial', a])])

it('a coordinator and two workers; one worker is SIGKILLed mid-run and restarted: every job done once, every ask answered', async () => {
  const coordinator = node('coordinator', 'ws://127.0.0.1:0', [])
  const detail = () => [coordinator, ...workers].map((n) => n.describe(12)).join('\n')
  const workers: Node[] = []
  await until(() => coordinator.address !== '', 'the coordinator listening', 30_000, detail)
  workers.push(node('w1', 'ws://127.0.0.1:0', [coordinator.address]), node('w2', 'ws://127.0.0.1:0', [coordinator.address]))
  const done = () => coordinator.events.filter((e) => e.type === 'work.done')
  await until(() => done().length >= 5 && workers[1].address !== '', 'five jobs done', 45_000, detail)

  const victim = workers[1]
  const port = new URL(victim.address.replace(/\/p2p\/.*$/, '')).port
  process.kill(victim.pid, 'SIGKILL')
  await victim.exited
  const again = node('w2', `ws://127.0.0.1:${port}`, [coordinator.address])
  workers.push(again)
  await until(() => coordinator.events.some((e) => e.type === 'work.complete'), 'all 30 jobs done', 60_000, detail)
  await until(() => again.address !== '', 'the restarted worker listening', 10_000, detail)
  expect(again.peerId).toBe(victim.peerId)

  const ids = done().map((e) => e.id as number)
  expect(ids.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
  // Every ask ends, with a reply or a typed error (asks time out after 1 s).
  const started = () => coordinator.events.filter((e) => e.type === 'ask.start').map((e) => e.n as number)
  const ended = () => new Map(coordinator.events.filter((e) => e.type === 'ask.end').map((e) => [e.n as number, e.result as string]))
  const last = Math.max(...started())
  await until(() => [...Array(last).keys()].every((i) => ended().has(i + 1)), 'every ask started so far to end', 10_000, detail)
  expect(started().length).toBeGreaterThan(3)
  for (const [, result] of ended()) expect(TYPED.has(result), result).toBe(true)
  expect([...ended().values()]).toContain('reply')
}, 120_000)
