/**
 * `xswarm key`: generate a swarm key (the 32-byte pre-shared key of a private network).
 * @module
 */
import { EXIT_OK, parseFlags, type Io } from './args.js'
import { formatSwarmKey, generateSwarmKey, writeSwarmKey } from './swarm-key.js'

export const KEY_HELP = `Usage: xswarm key [--out FILE] [--force]

Generate a swarm key: 32 random bytes that make a private network. Only nodes
started with the same key (xswarm node --swarm-key FILE) can connect to each other;
the key is mixed into every handshake (Noise XXpsk3), so a node without it cannot
even complete one.

Options:
  --out FILE   write the key to FILE (mode 0600). Without --out the key file is
               printed to stdout.
  --force      replace FILE if it exists (default: refuse)
  -h, --help   show this help

File format (the one IPFS uses for swarm.key):
  /key/swarm/psk/1.0.0/
  /base16/
  <64 hex digits>
A file holding only the 64 hex digits is accepted too.

Keep the file secret: anyone who has it can join the network.`

export async function keyCommand(args: string[], io: Io): Promise<number> {
  const flags = parseFlags('xswarm key', args, {
    out: { type: 'string' },
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (flags.help) {
    io.out(KEY_HELP)
    return EXIT_OK
  }
  const key = generateSwarmKey()
  if (flags.out === undefined) {
    io.out(formatSwarmKey(key).trimEnd())
    return EXIT_OK
  }
  await writeSwarmKey(flags.out, key, flags.force === true)
  key.fill(0)
  io.err(`wrote a new swarm key to ${flags.out} (mode 0600); give it only to your own nodes: --swarm-key ${flags.out}`)
  return EXIT_OK
}
