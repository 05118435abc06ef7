/**
 * The seed runner finds a bug and its seed replays it: a deliberately broken flooding pubsub
 * (broken-flood.ts) run over seeds with every fault, in worker threads, fails within a few
 * hundred seeds; the failing seed is shrunk, and the printed command (and the same parameters
 * in process) reproduce the same failure, byte for byte.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
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

  it('the correct pubsub passes the seeds the broken copy fails', async () => {
    const result = await runSeeds({ scenario: 'pubsub', seeds: { from: 1, count: 8 }, nodes: 5, steps: 20, faults: [...FAULTS], workers: 0 })
    expect(result.runs).toBe(8)
    expect(result.failures.map((f) => f.report.failure)).toEqual([])
  }, 120_000)
})
