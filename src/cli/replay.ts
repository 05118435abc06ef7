/**
 * `xswarm replay FILE`: feed a recording (`xswarm node --record FILE`) to a fresh node on a
 * virtual clock and print the events the live node printed; `--until N` stops after input N
 * and prints the state of every actor of the swarm (src/record/replay.ts).
 * @module
 */
import { CliError, EXIT_OK, intFlag, parseFlags, UsageError, type Io } from './args.js'
import { describeEvent } from './node.js'
import { eventToJson, Stopwatch } from './log.js'
import { replay, type ActorState } from '../record/replay.js'
import { RecordingError } from '../record/format.js'
import type { AnySwarmEvent } from '../swarm.js'

export const REPLAY_HELP = `Usage: xswarm replay FILE [--json] [--until N] [--snapshot] [--any-version]

Replay a recording made with xswarm node --record FILE (segments FILE.1, FILE.2, …
are read after it): a fresh node on a virtual clock takes the recorded inputs and
prints the events the live node printed. No key is needed: the recording holds the
answers the node got from its crypto (see SECURITY.md for what it does hold).

Each line starts with the number of the input that produced the event (#N) and its
time since the node started.

Options:
  --json            print one JSON object per event, one per line: the same lines as
                    xswarm node --json printed, byte for byte
  --until N         stop after input N and print the state of every actor of the
                    swarm (the root, its connections, protocols and their children)
  --snapshot        print that state at the end (implied by --until)
  --any-version     replay a recording made by another xswarm version (it may diverge)
  -h, --help        show this help

Exit code 1 for a recording that cannot be read (truncated, corrupt, another format
or version) or that the replayed node diverges from.`

/** The replay's stamps: the recorded time of the input being replayed. */
class RecordedClock extends Stopwatch {
  at = 0
  override ms(): number {
    return this.at
  }
}

export async function replayCommand(args: string[], io: Io): Promise<number> {
  const [file, ...rest] = args
  if (file === '-h' || file === '--help') {
    io.out(REPLAY_HELP)
    return EXIT_OK
  }
  if (file === undefined || file.startsWith('-')) throw new UsageError('expected the recording FILE first')
  const flags = parseFlags('xswarm replay', rest, {
    json: { type: 'boolean' }, until: { type: 'string' }, snapshot: { type: 'boolean' }, 'any-version': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (flags.help) {
    io.out(REPLAY_HELP)
    return EXIT_OK
  }
  const json = flags.json === true
  const until = flags.until === undefined ? undefined : intFlag('until', flags.until, 0, 0, Number.MAX_SAFE_INTEGER)
  const clock = new RecordedClock()
  const print = (event: AnySwarmEvent, input: number, time: number): void => {
    if (json) return io.out(eventToJson(event as never))
    clock.at = time
    for (const line of describeEvent(event, clock).split('\n')) io.out(`${`#${input}`.padEnd(7)} ${line}`)
  }
  let result: Awaited<ReturnType<typeof replay>>
  try {
    result = await replay(file, { onEvent: print, ...(until !== undefined ? { until } : {}), anyVersion: flags['any-version'] === true })
  } catch (error) {
    if (error instanceof RecordingError || error instanceof RangeError) throw error
    throw new CliError((error as Error).message)
  }
  const ended = result.endReason === undefined ? 'the recording stops without its end mark (the node did not close)' : `the recording ended: ${result.endReason}`
  io.err(`replayed ${result.inputs} inputs of ${file} (recorded by xswarm ${result.header.xswarm}, peer ${result.header.peerId}); ${until !== undefined && result.inputs >= until ? `stopped after input ${until}` : ended}`)
  if (until !== undefined || flags.snapshot) printSnapshot(result.snapshot(), result.inputs, result.time, json, io)
  return EXIT_OK
}

function printSnapshot(actors: ActorState[], inputs: number, time: number, json: boolean, io: Io): void {
  if (json) {
    for (const actor of actors) io.out(JSON.stringify({ actor: actor.path, ...actor, path: undefined }))
    return
  }
  io.out(`state after input ${inputs} (${(time / 1000).toFixed(3)} s): ${actors.length} actors`)
  for (const actor of actors) {
    io.out(`  ${actor.path}  ${actor.status}  ${JSON.stringify(actor.value ?? null)}`)
    if (actor.context !== undefined) io.out(`      context ${JSON.stringify(actor.context)}`)
  }
}
