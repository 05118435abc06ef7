/**
 * `xswarm export`: every built-in chart (and a user protocol's) is written as XState source the
 * Stately editor imports and as an SVG; importing the generated source gives a machine with the
 * same states and transitions (guards, actions, delays by name) as the one it came from.
 * @module
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { AnyStateMachine } from 'xstate'
import { builtinMachines, isMachine } from '../../src/charts/catalog.js'
import { chartOf, statesOf, type Chart } from '../../src/charts/chart.js'
import { cli } from '../../src/cli/cli.js'
import { createElk } from '../../src/charts/elk.js'
import { layoutChart } from '../../src/charts/layout.js'
import { chartSvg } from '../../src/charts/svg.js'
import { chartMachine } from '../fixtures/chart-protocol.js'

const dirs: string[] = []
afterAll(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }) })

async function exportTo(args: string[]): Promise<{ dir: string; out: string[]; code: number; err: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'xswarm-export-'))
  dirs.push(dir)
  const out: string[] = []
  const err: string[] = []
  const code = await cli(['export', '--out', dir, ...args], { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { dir, out, code, err }
}

/** A chart in a canonical order, so two charts compare by content. */
function canonical(chart: Chart): unknown {
  return {
    id: chart.id,
    states: statesOf(chart).map(({ children, ...s }) => ({ ...s, children: children.map((c) => c.id) })),
    transitions: chart.transitions.map((t) => JSON.stringify(t)).sort(),
    names: chart.names,
  }
}

async function reimported(dir: string, name: string): Promise<AnyStateMachine> {
  const module = (await import(join(dir, `${name}.machine.ts`))) as { machine: unknown }
  expect(isMachine(module.machine), `${name}.machine.ts exports a machine`).toBe(true)
  return module.machine as AnyStateMachine
}

describe('xswarm export', () => {
  it('writes every built-in machine as importable source and SVG; each re-imports to the same chart', async () => {
    const machines = builtinMachines()
    expect(machines.map((m) => m.machine.id)).toEqual(expect.arrayContaining(['swarm', 'connection', 'ping']))
    const { dir, code } = await exportTo([])
    expect(code).toBe(0)
    const files = await readdir(dir)
    for (const { name, machine } of machines) {
      expect(files).toContain(`${name}.machine.ts`)
      expect(files).toContain(`${name}.svg`)
      const source = await readFile(join(dir, `${name}.machine.ts`), 'utf8')
      expect(source).toMatch(/setup\(/)
      expect(source).toMatch(/\.createMachine\(/)
      const chart = chartOf(machine)
      expect(canonical(chartOf(await reimported(dir, name))), name).toEqual(canonical(chart))
      // The diagram draws every state.
      const svg = await readFile(join(dir, `${name}.svg`), 'utf8')
      for (const state of statesOf(chart)) expect(svg, `${name}.svg draws ${state.id}`).toContain(`data-state="${state.id}"`)
    }
  }, 60_000)

  it('a user protocol module: eventless transitions, not/and guards, delays, regions, history and invokes survive', async () => {
    const { dir, code, out } = await exportTo(['--no-builtins', '--protocol', join(import.meta.dirname, '..', 'fixtures', 'chart-protocol.ts')])
    expect(code).toBe(0)
    expect(out.some((f) => f.endsWith('chartFixture.machine.ts'))).toBe(true)
    expect(out.some((f) => f.endsWith('worker.svg'))).toBe(true) // its child machine too
    const original = chartOf(chartMachine)
    const copy = chartOf(await reimported(dir, 'chartFixture'))
    expect(canonical(copy)).toEqual(canonical(original))
    expect(copy.transitions.filter((t) => t.kind === 'always')).toHaveLength(1)
    expect(copy.transitions.find((t) => t.event === 'start')?.guard).toEqual({ op: 'and', args: ['ready', { op: 'not', args: ['allowed'] }] })
    expect(copy.transitions.filter((t) => t.kind === 'after').map((t) => t.detail).sort()).toEqual([500, 'later', 'patience'])
    const source = await readFile(join(dir, 'chartFixture.machine.ts'), 'utf8')
    expect(source).toContain('patience: 2500') // a constant delay keeps its value
  })

  it('docs/charts has the current diagram of every built-in chart the README links', async () => {
    const docs = join(import.meta.dirname, '..', '..', 'docs', 'charts')
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
    const elk = createElk()
    const stale: string[] = []
    for (const { name, machine } of builtinMachines()) {
      expect(readme, `README links docs/charts/${name}.svg`).toContain(`docs/charts/${name}.svg`)
      const current = chartSvg(await layoutChart(chartOf(machine), elk))
      const committed = await readFile(join(docs, `${name}.svg`), 'utf8').catch(() => '')
      if (committed !== current) stale.push(name)
    }
    expect(stale, 'regenerate: npx tsx src/cli/main.ts export --out tmp/charts && cp tmp/charts/*.svg docs/charts/').toEqual([])
  }, 60_000)

  it('a protocol definition brings its per-peer chart (handler) along', async () => {
    const { code, out } = await exportTo(['--no-builtins', '--protocol', join(import.meta.dirname, '..', 'fixtures', 'handler-protocol.ts')])
    expect(code).toBe(0)
    expect(out.some((f) => f.endsWith('fixtureBehaviour.machine.ts'))).toBe(true)
    expect(out.some((f) => f.endsWith('fixturePeer.machine.ts'))).toBe(true)
    expect(out.some((f) => f.endsWith('fixturePeer.svg'))).toBe(true)
  })

  it('refuses a module that exports no machine, and a missing one, with a clear message', async () => {
    const none = await exportTo(['--no-builtins', '--protocol', join(import.meta.dirname, '..', '..', 'src', 'charts', 'svg.ts')])
    expect(none.code).toBe(1)
    expect(none.err.join('\n')).toMatch(/exports no XState machine/)
    const missing = await exportTo(['--protocol', join(tmpdir(), 'no-such-module.js')])
    expect(missing.code).toBe(1)
    expect(missing.err.join('\n')).toMatch(/--protocol .*no-such-module\.js/)
  })
})
