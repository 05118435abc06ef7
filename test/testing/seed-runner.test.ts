/**
 * The seed runner finds a bug and its seed replays it: a deliberately broken flooding pubsub
 * (broken-flood.ts) run over seeds with every fault, in worker threads, fails within a few
 * hundred seeds; the failing seed is shrunk, and the printed command (and the same parameters
 * in process) reproduce the same failure, byte for byte.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { describeReport } from '../../src/cli/sim.js'
import { FAULTS } from '../../src/testing/faults.js'
import { runSeeds } from '../../src/testing/runner.js'
import { runScenario } from '../../src/testing/scenario.js'
import { brokenFloodScenario } from './broken-flood.js'

const SPEC = 'test/testing/broken-flood.ts#brokenFloodScenario'

describe('seed runner', () => {
  it('finds the broken protocol within a few hundred seeds, shrinks it, and the reported command replays it', async () => {
    const result = await runSeeds({
      scenario: SPEC, seeds: { from: 1, count: 300 }, nodes: 5, steps: 20, faults: [...FAULTS], workers: 2, stopAtFailure: true, maxShrinkRuns: 8,
    })
    expect(result.failures.length).toBeGreaterThan(0)
    const [first] = result.failures
    expect(first.report.failure?.invariant).toBe('pubsub-exactly-once')
    expect(first.shrunk.failure?.invariant).toBe('pubsub-exactly-once')
    expect(first.command).toContain(`--seed ${first.shrunk.params.seed} --nodes ${first.shrunk.params.nodes}`)

    // The same parameters in this thread: the same failure, the same report.
    const again = await runScenario(brokenFloodScenario, first.shrunk.params)
    expect(JSON.stringify(again)).toBe(JSON.stringify(first.shrunk))

    // The printed command, run as printed, says the same.
    const out = await promisify(execFile)('sh', ['-c', `${first.command} --json`], { cwd: process.cwd(), timeout: 60_000 }).catch((e: { stdout: string; code: number }) => e)
    expect((out as { code?: number }).code).toBe(1)
    expect(JSON.parse((out as { stdout: string }).stdout)).toEqual(JSON.parse(JSON.stringify(first.shrunk)))
  }, 120_000)

  it("the README's worked example is what its replay command prints today", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const replay = /--scenario test\/testing\/broken-flood\.ts#brokenFloodScenario --seed (\d+) --nodes (\d+) --steps (\d+) --faults (\S+)\n/.exec(readme)
    expect(replay, 'the README shows a shrunk replay command').not.toBeNull()
    const [, seed, nodes, steps, faults] = replay!
    const report = await runScenario(brokenFloodScenario, { seed: +seed, nodes: +nodes, steps: +steps, faults: faults.split(',') as never })
    expect(report.failure, 'the seed the README shows still fails').toBeDefined()
    const lines = describeReport(SPEC, report)
    const story = lines.slice(lines.indexOf('faults:'), lines.findIndex((line) => line.startsWith('FAILED')) + 1).join('\n')
    expect(readme, 'update the worked example in the README ("Simulate, record, replay") to what the replay prints').toContain(story)
  }, 60_000)

  it('the correct pubsub passes the seeds the broken copy fails', async () => {
    const result = await runSeeds({ scenario: 'pubsub', seeds: { from: 1, count: 8 }, nodes: 5, steps: 20, faults: [...FAULTS], workers: 0 })
    expect(result.runs).toBe(8)
    expect(result.failures.map((f) => f.report.failure)).toEqual([])
  }, 120_000)
})
