/**
 * Swarm key files: the 32-byte pre-shared key of a private network, as a small text file in
 * the format IPFS uses for its `swarm.key`:
 *
 *     /key/swarm/psk/1.0.0/
 *     /base16/
 *     <64 hex digits>
 *
 * Reading also accepts a file holding only the 64 hex digits. Surrounding whitespace and CRLF
 * line ends are tolerated; anything else is refused with a message naming the problem. Files
 * are written with mode 0600 and never overwritten unless asked.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { CliError } from './args.js'

export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
export const SWARM_KEY_ENCODING = '/base16/'
const MAX_FILE_BYTES = 4096

/** A fresh random 32-byte key. */
export function generateSwarmKey(): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

/** The text of a swarm key file. */
export function formatSwarmKey(key: Uint8Array): string {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('"key" expected Uint8Array of length 32')
  return `${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${Buffer.from(key).toString('hex')}\n`
}

/** Parse the text of a swarm key file; throws CliError naming the problem. */
export function parseSwarmKey(text: string, source = 'swarm key'): Uint8Array {
  const bad = (problem: string): CliError => new CliError(`${source} is not a valid swarm key file: ${problem}`)
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0)
  let hex: string
  if (lines.length === 1) {
    hex = lines[0]
  } else if (lines.length === 3) {
    if (lines[0] !== SWARM_KEY_HEADER) throw bad(`first line should be '${SWARM_KEY_HEADER}', got '${lines[0].slice(0, 40)}'`)
    if (lines[1] !== SWARM_KEY_ENCODING) {
      throw bad(`second line should be '${SWARM_KEY_ENCODING}' (the only encoding supported), got '${lines[1].slice(0, 40)}'`)
    }
    hex = lines[2]
  } else {
    throw bad(`expected 3 lines (${SWARM_KEY_HEADER}, ${SWARM_KEY_ENCODING}, 64 hex digits), got ${lines.length}`)
  }
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw bad('the key is not hexadecimal')
  if (hex.length !== 64) throw bad(`the key should be 64 hex digits (32 bytes), got ${hex.length}`)
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** Read and parse a swarm key file; every failure (missing, unreadable, malformed) is a CliError. */
export async function readSwarmKey(path: string): Promise<Uint8Array> {
  let text: string
  try {
    const handle = await open(path, 'r')
    try {
      const { size } = await handle.stat()
      if (size > MAX_FILE_BYTES) throw new CliError(`swarm key file '${path}' is not a valid swarm key file: ${size} bytes is too large`)
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`cannot read swarm key file '${path}': ${(error as Error).message}`)
  }
  return parseSwarmKey(text, `swarm key file '${path}'`)
}

/**
 * Write `key` to `path` with mode 0600. Without `force` an existing file is never touched;
 * with it the file is replaced atomically (written to a temporary file, then renamed).
 */
export async function writeSwarmKey(path: string, key: Uint8Array, force = false): Promise<void> {
  const content = formatSwarmKey(key)
  if (!force) {
    let handle
    try {
      handle = await open(path, 'wx', 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CliError(`'${path}' already exists; not overwriting it (use --force to replace it)`)
      }
      throw new CliError(`cannot create '${path}': ${(error as Error).message}`)
    }
    try {
      await handle.chmod(0o600)
      await handle.writeFile(content, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    return
  }
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory()) throw new CliError(`'${path}' is a directory`)
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.chmod(0o600)
      await handle.writeFile(content, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw new CliError(`cannot write '${path}': ${(error as Error).message}`)
  }
}
