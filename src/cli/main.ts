#!/usr/bin/env node
/**
 * The `xswarm` executable (package.json "bin"). See `xswarm --help`.
 *
 * SIGINT and SIGTERM ask the running command to stop (a node closes gracefully and exits 0);
 * a second signal exits at once with 130.
 * @module
 */
import { cli } from './cli.js'
import { ignoreBrokenPipes } from './log.js'

ignoreBrokenPipes()
const stop = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130)
    stop.abort()
  })
}
const io = {
  out: (line: string) => { process.stdout.write(line + '\n') },
  err: (line: string) => { process.stderr.write(line + '\n') },
  signal: stop.signal,
}
const code = await cli(process.argv.slice(2), io)
// Every swarm the command started is closed by now. Exit once the output is flushed rather
// than wait for stray handles (a socket the transport has not let go of yet) to time out.
process.exitCode = code
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
