/**
 * `xswarm sim`: run a scenario on the simulator (src/testing) and print a report; with
 * `--seeds N`, run it over N seeds in worker threads and print each failing seed with the
 * command that replays it.
 *
 * stdout is a function of the arguments, byte for byte (everything in it is simulated time);
 * the wall time and the ratio of simulated to wall time go to stderr.
 * @module
 */
import { EXIT_FAILURE, EXIT_OK, intFlag, parseFlags, UsageError, type Io } from './args.js'
import { parseFaults, type FaultName } from '../testing/faults.js'
import { loadScenario, paramsFor, replayCommand, runSeeds } from '../testing/runner.js'
import { runScenario, type RunReport } from '../testing/scenario.js'

export const SIM_HELP = `Usage: xswarm sim [--scenario NAME] [--seed S] [--nodes N] [--steps K] [--faults LIST] [--json]
       xswarm sim --seeds COUNT [same options] [--workers W]

Run a simulated network on virtual time and print a report. The same arguments print the
same report, byte for byte; another seed another.

Options:
  --scenario NAME   pubsub (default), discovery or actors, or path/to/module.js#export (a Scenario)
  --seed S          the seed (default 1)
  --nodes N         nodes (default: the scenario's)
  --steps K         steps (default: the scenario's)
  --faults LIST     none (default), all, or a list of: latency, reorder, reset, loss,
                    partition, crash, skew
  --json            the report as one JSON object
  --seeds COUNT     run COUNT seeds from S in worker threads; print each failing seed,
                    shrunk, with the command that replays it
  --workers W       worker threads for --seeds (default: the number of cores)

Exit code 1 when an invariant failed.`

export async function simCommand(args: string[], io: Io): Promise<number> {
  const flags = parseFlags('xswarm sim', args, {
    scenario: { type: 'string' }, seed: { type: 'string' }, nodes: { type: 'string' }, steps: { type: 'string' },
    faults: { type: 'string' }, json: { type: 'boolean' }, seeds: { type: 'string' }, workers: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (flags.help) {
    io.out(SIM_HELP)
    return EXIT_OK
  }
  const spec = flags.scenario ?? 'pubsub'
  let scenario
  try {
    scenario = await loadScenario(spec)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  let faults: FaultName[]
  try {
    faults = parseFaults(flags.faults ?? 'none')
  } catch (error) {
    throw new UsageError(`--faults: ${(error as Error).message}`)
  }
  const seed = intFlag('--seed', flags.seed, 1, 0, 2 ** 32)
  const nodes = intFlag('--nodes', flags.nodes, scenario.defaults.nodes, 1, 10_000)
  const steps = intFlag('--steps', flags.steps, scenario.defaults.steps, 0, 1_000_000)
  const started = performance.now()

  if (flags.seeds !== undefined) {
    const count = intFlag('--seeds', flags.seeds, 1, 1, 1_000_000)
    const workers = flags.workers === undefined ? undefined : intFlag('--workers', flags.workers, 1, 0, 256)
    const result = await runSeeds({ scenario: spec, seeds: { from: seed, count }, nodes, steps, faults, workers })
    const wall = performance.now() - started
    if (flags.json) {
      io.out(JSON.stringify({ scenario: result.scenario, runs: result.runs, failures: result.failures.map((f) => ({ seed: f.report.params.seed, failure: f.report.failure, shrunk: f.shrunk.params, command: f.command })) }))
    } else {
      io.out(`xswarm sim: scenario ${result.scenario}, seeds ${seed}..${seed + count - 1}, ${nodes} nodes, ${steps} steps, faults ${faultText(faults)}`)
      io.out(`${result.runs} runs, ${result.failures.length} failed`)
      for (const f of result.failures) {
        io.out(`seed ${f.report.params.seed}: ${f.shrunk.failure!.invariant}: ${f.shrunk.failure!.message}`)
        io.out(`  replay: ${f.command}`)
      }
    }
    io.err(`wall ${Math.round(wall)} ms, ${(result.runs / (wall / 60_000)).toFixed(1)} seeds per minute`)
    return result.failures.length > 0 ? EXIT_FAILURE : EXIT_OK
  }

  const report = await runScenario(scenario, paramsFor(scenario, seed, { nodes, steps, faults }))
  const wall = performance.now() - started
  if (flags.json) io.out(JSON.stringify(report))
  else for (const line of describeReport(spec, report)) io.out(line)
  io.err(`wall ${Math.round(wall)} ms; simulated/wall ${(report.simulatedMs / Math.max(1, wall)).toFixed(1)}×`)
  return report.failure ? EXIT_FAILURE : EXIT_OK
}

function faultText(faults: FaultName[]): string {
  return faults.length === 0 ? 'none' : faults.join(',')
}

/** The text report: parameters, faults as they happened, the verdict, figures, the replay command. */
export function describeReport(spec: string, r: RunReport): string[] {
  const p = r.params
  const lines = [`xswarm sim: scenario ${r.scenario}, seed ${p.seed}, ${p.nodes} nodes, ${p.steps} steps, faults ${faultText(p.faults)}`]
  if (r.faults.length > 0) lines.push('faults:', ...r.faults.map((f) => `  ${f}`))
  lines.push(r.failure ? `FAILED ${r.failure.invariant} at ${r.failure.at} ms: ${r.failure.message}` : 'ok: every invariant held')
  lines.push(`simulated ${r.simulatedMs} ms; ${r.inputs} inputs settled, ${r.events} events handed out`)
  for (const [key, value] of Object.entries(r.figures)) lines.push(`  ${key} ${value}`)
  lines.push(`replay: ${replayCommand(spec, p)}`)
  return lines
}
