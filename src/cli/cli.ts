/**
 * The `xswarm` command line: dispatch a subcommand, turn errors into messages and exit codes.
 * `src/cli/main.ts` is the executable; this module is importable (and tested) on its own.
 * @module
 */
import { chatCommand, CHAT_HELP } from './chat.js'
import { demoCommand, DEMO_HELP } from './demo.js'
import { exportCommand, EXPORT_HELP } from './export.js'
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Io } from './args.js'
import { keyCommand, KEY_HELP } from './key.js'
import { nodeCommand, NODE_HELP } from './node.js'
import { simCommand, SIM_HELP } from './sim.js'
import { replayCommand, REPLAY_HELP } from './replay.js'
import { packageVersion } from './version.js'
import { XswarmError } from '../errors.js'

export const MAIN_HELP = `xswarm: a peer-to-peer runtime; the whole network, as one node sees it, is one XState statechart.

Usage: xswarm <command> [options]

Commands:
  demo    run a local network of N nodes in this process and show it working
  node    run one node: listen, dial, keep an identity, subscribe to topics
  chat    chat with other nodes on a pubsub topic (stdin/stdout)
  key     generate a swarm key for a private network
  sim     run a simulated network on virtual time, with seeded faults (or many seeds)
  replay  replay a recording of a node (xswarm node --record) and print its events
  export  write every statechart as Stately-editor source and as an SVG diagram

Options:
  -h, --help      show this help (xswarm <command> --help for a command's own)
  -v, --version   print the version

Start here: xswarm demo`

const commands: Record<string, { run: (args: string[], io: Io) => Promise<number>; help: string }> = {
  demo: { run: demoCommand, help: DEMO_HELP },
  node: { run: nodeCommand, help: NODE_HELP },
  chat: { run: chatCommand, help: CHAT_HELP },
  key: { run: keyCommand, help: KEY_HELP },
  sim: { run: simCommand, help: SIM_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
}

/** Run `xswarm <argv>`; resolves to the exit code. Never throws. */
export async function cli(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    if (name === 'help' && args[0] && commands[args[0]]) {
      io.out(commands[args[0]].help)
      return EXIT_OK
    }
    if (name === undefined) {
      io.err(MAIN_HELP)
      return EXIT_USAGE
    }
    io.out(MAIN_HELP)
    return EXIT_OK
  }
  if (name === '-v' || name === '--version' || name === 'version') {
    io.out(packageVersion())
    return EXIT_OK
  }
  const command = commands[name]
  if (!command) {
    const what = name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}'`
    io.err(`xswarm: ${what} (commands: ${Object.keys(commands).join(', ')}; see xswarm --help)`)
    return EXIT_USAGE
  }
  try {
    return await command.run(args, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`xswarm ${name}: ${error.message} (see xswarm ${name} --help)`)
      return EXIT_USAGE
    }
    if (error instanceof CliError || error instanceof XswarmError) {
      io.err(`xswarm ${name}: error: ${error.message}`)
      return EXIT_FAILURE
    }
    io.err(`xswarm ${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    return EXIT_FAILURE
  }
}
