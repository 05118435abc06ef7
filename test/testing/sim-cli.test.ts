/**
 * `xswarm sim` is a function of its arguments: the same arguments print the same report, byte
 * for byte, and another seed another; and seeds across the scenarios with every fault keep
 * every invariant (the CI share of seed exploration; the long runs are bench/sim.ts).
 */
import { describe, expect, it } from 'vitest'
import { cli } from '../../src/cli/cli.js'
import { FAULTS } from '../../src/testing/faults.js'
import { runSeeds } from '../../src/testing/runner.js'

async function sim(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await cli(['sim', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('xswarm sim', () => {
  it('prints the same report for the same arguments and another for another seed', async () => {
    const args = ['--scenario', 'pubsub', '--nodes', '4', '--steps', '6', '--faults', 'all']
    const a = await sim([...args, '--seed', '3'])
    const b = await sim([...args, '--seed', '3'])
    const c = await sim([...args, '--seed', '4'])
    expect(a.code).toBe(0)
    expect(a.out).toContain('ok: every invariant held')
    expect(a.out).toContain('replay: npx xswarm sim --scenario pubsub --seed 3 --nodes 4 --steps 6 --faults latency,reorder,reset,loss,partition,crash,skew')
    expect(a.err).toMatch(/simulated\/wall/)
    expect(b.out).toBe(a.out)
    expect(c.out).not.toBe(a.out)
    const json = await sim([...args, '--seed', '3', '--json'])
    expect(JSON.parse(json.out).params).toEqual({ seed: 3, nodes: 4, steps: 6, faults: [...FAULTS] })
  }, 60_000)

  it('says what is wrong with bad arguments', async () => {
    expect((await sim(['--faults', 'meteor'])).err).toMatch(/unknown fault "meteor"/)
    expect((await sim(['--scenario', 'nope'])).err).toMatch(/unknown scenario "nope"/)
    expect((await sim(['--nodes', '0'])).code).toBe(2)
  })
})

describe('seed exploration in CI', () => {
  it.each([
    ['pubsub', 60, 5, 10],
    ['discovery', 24, 5, 6],
    ['actors', 30, 5, 30],
  ] as const)('%s: %i seeds, %i nodes, every fault: every invariant holds', async (scenario, count, nodes, steps) => {
    const result = await runSeeds({ scenario, seeds: { from: 1, count }, nodes, steps, faults: [...FAULTS], workers: 2 })
    expect(result.runs).toBe(count)
    expect(result.failures.map((f) => `${f.command}: ${f.report.failure?.message}`)).toEqual([])
  }, 120_000)
})
