/**
 * `xswarm export [--out DIR] [--protocol FILE]…`: every built-in statechart, and the machines
 * of user protocol modules, as XState source the Stately editor imports (`<id>.machine.ts`) and
 * as an SVG diagram laid out by elkjs (`<id>.svg`).
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { builtinMachines, loadUserMachines, type ExportedMachine } from '../charts/catalog.js'
import { chartOf } from '../charts/chart.js'
import { createElk } from '../charts/elk.js'
import { layoutChart } from '../charts/layout.js'
import { chartSource } from '../charts/source.js'
import { chartSvg } from '../charts/svg.js'
import { CliError, EXIT_OK, parseFlags, wantsHelp, type Io } from './args.js'

export const EXPORT_HELP = `Usage: xswarm export [--out DIR] [--protocol FILE]...

Writes every built-in statechart (and the machines of your protocol modules) to DIR:
  <id>.machine.ts   XState v5 source: open it in the Stately editor (Import from code)
  <id>.svg          the chart as a diagram (laid out with elkjs)

Options:
  --out DIR          where to write (default: xswarm-charts); created if missing
  --protocol FILE    a JS module (ESM) exporting XState machines or protocol definitions
                     ({ id, machine }, e.g. from defineProtocol); repeatable
  --no-builtins      only the machines of --protocol modules
  -h, --help         show this help`

/** Write the source and the diagram of each machine; returns the files written. */
export async function exportCharts(machines: ExportedMachine[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const elk = createElk()
  const written: string[] = []
  const used = new Set<string>()
  for (const { name: wanted, machine, origin } of machines) {
    let name = wanted
    for (let i = 2; used.has(name); i++) name = `${wanted}-${i}`
    used.add(name)
    const chart = chartOf(machine)
    const source = join(dir, `${name}.machine.ts`)
    await writeFile(source, chartSource(chart, machine.implementations.delays as Record<string, unknown>, { origin }))
    const svg = join(dir, `${name}.svg`)
    await writeFile(svg, chartSvg(await layoutChart(chart, elk)))
    written.push(source, svg)
  }
  return written
}

export async function exportCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) {
    io.out(EXPORT_HELP)
    return EXIT_OK
  }
  const flags = parseFlags('xswarm export', args, {
    out: { type: 'string' },
    protocol: { type: 'string', multiple: true },
    'no-builtins': { type: 'boolean' },
  })
  const machines = flags['no-builtins'] ? [] : builtinMachines()
  for (const file of flags.protocol ?? []) {
    try {
      machines.push(...(await loadUserMachines(file)))
    } catch (error) {
      throw new CliError(`--protocol ${file}: ${(error as Error).message}`)
    }
  }
  if (machines.length === 0) throw new CliError('nothing to export (--no-builtins and no --protocol)')
  const dir = flags.out ?? 'xswarm-charts'
  const written = await exportCharts(machines, dir)
  for (const file of written) io.out(file)
  io.err(`exported ${machines.length} charts to ${dir}`)
  return EXIT_OK
}
