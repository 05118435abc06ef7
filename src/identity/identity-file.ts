/**
 * Identity file: a node's ed25519 secret key on disk, so its peer id survives restarts.
 *
 * Format (JSON, one object, mode 0600):
 *   { "version": 1, "type": "ed25519", "secretKey": "<base64 of 32 bytes>", "peerId": "<peer id>" }
 * The peer id is redundant on purpose: it lets a human see which node a file belongs to, and a
 * file whose peer id does not match its key is detected as corrupt.
 *
 * An identity is never silently replaced: a file that cannot be read as an identity throws
 * XswarmError IDENTITY_CORRUPT (naming the file and the problem) and is left untouched, and
 * writing where a file exists throws IDENTITY_EXISTS. Files are created atomically: the content
 * is written and fsynced to a temporary file in the same directory, then hard-linked into place
 * (link fails if the target exists, so two processes creating the same identity at once end
 * up sharing one); rename is the fallback on file systems without hard links. Errors from the
 * file system itself (EACCES, EISDIR...) are passed through unchanged.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { base64 } from '@scure/base'
import { peerIdBytes } from '../../machines/lib/peer-id.js'
import { ErrorCodes, XswarmError } from '../errors.js'
import { astring } from '../validate.js'
import { assertKeyPair, equalBytes, generateKeyPair, keyPairFromSecret, peerIdOf, type KeyPair } from './keypair.js'

/** The identity file format version this module reads and writes. */
export const IDENTITY_FILE_VERSION = 1
/** Larger files are refused as corrupt without being parsed. */
const MAX_FILE_BYTES = 64 * 1024

/** A node identity: its key pair and the peer id it stands for. */
export interface Identity {
  readonly keyPair: KeyPair
  readonly peerId: string
}

/**
 * Read the identity at `path`, or create one there (and any missing directories, mode 0700) if
 * the file does not exist.
 * @returns the identity, with `created: true` when this call wrote the file
 * @throws XswarmError IDENTITY_CORRUPT when the file exists but is not a valid identity
 * @example const { peerId } = await loadOrCreateIdentity(join(homedir(), '.xswarm', 'identity.json'))
 */
export async function loadOrCreateIdentity(path: string): Promise<Identity & { created: boolean }> {
  astring(path, 'path')
  try {
    return { ...(await readIdentity(path)), created: false }
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const keyPair = generateKeyPair()
  try {
    const identity = await writeIdentity(path, keyPair)
    return { ...identity, created: true }
  } catch (error) {
    // Another process created it between our read and our link: use theirs.
    if (error instanceof XswarmError && error.code === ErrorCodes.IDENTITY_EXISTS) {
      return { ...(await readIdentity(path)), created: false }
    }
    throw error
  }
}

/**
 * Read and check the identity at `path`.
 * @throws XswarmError IDENTITY_CORRUPT naming the problem; file-system errors (ENOENT...) as they are
 */
export async function readIdentity(path: string): Promise<Identity> {
  astring(path, 'path')
  const text = await readSmallFile(path)
  const corrupt = (problem: string): XswarmError =>
    new XswarmError(ErrorCodes.IDENTITY_CORRUPT, `identity file '${path}' is corrupt: ${problem} (the file was left as it is)`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw corrupt(`not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt('not a JSON object')
  const file = json as Record<string, unknown>
  if (file.version !== IDENTITY_FILE_VERSION) {
    throw corrupt(`unsupported version ${JSON.stringify(file.version)} (expected ${IDENTITY_FILE_VERSION})`)
  }
  if (file.type !== 'ed25519') throw corrupt(`unsupported key type ${JSON.stringify(file.type)} (expected "ed25519")`)
  if (typeof file.secretKey !== 'string') throw corrupt('"secretKey" is missing or not a string')
  let secretKey: Uint8Array
  try {
    secretKey = base64.decode(file.secretKey)
  } catch {
    throw corrupt('"secretKey" is not valid base64')
  }
  if (secretKey.length !== 32) throw corrupt(`"secretKey" decodes to ${secretKey.length} bytes, expected 32`)
  if (typeof file.peerId !== 'string') throw corrupt('"peerId" is missing or not a string')
  const stored = peerIdBytes(file.peerId)
  if (stored === null) throw corrupt(`"peerId" '${file.peerId.slice(0, 64)}' is not a valid peer id`)
  const keyPair = keyPairFromSecret(secretKey)
  secretKey.fill(0)
  const peerId = peerIdOf(keyPair.publicKey)
  if (!equalBytes(stored, peerIdBytes(peerId)!)) {
    throw corrupt(`"peerId" ${file.peerId} does not match the key, whose peer id is ${peerId}`)
  }
  return { keyPair, peerId }
}

/**
 * Write `keyPair` as a new identity file at `path` (mode 0600, atomically). Never overwrites;
 * does not create directories (loadOrCreateIdentity does).
 * @throws XswarmError IDENTITY_EXISTS when a file already exists at `path`
 */
export async function writeIdentity(path: string, keyPair: KeyPair): Promise<Identity> {
  astring(path, 'path')
  assertKeyPair(keyPair)
  const peerId = peerIdOf(keyPair.publicKey)
  const content =
    JSON.stringify(
      { version: IDENTITY_FILE_VERSION, type: 'ed25519', secretKey: base64.encode(keyPair.secretKey), peerId },
      null,
      2,
    ) + '\n'
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const exists = (): XswarmError =>
    new XswarmError(ErrorCodes.IDENTITY_EXISTS, `identity file '${path}' already exists; identities are never overwritten`)
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.chmod(0o600) // whatever the umask
      await handle.writeFile(content, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await link(temp, path)
    } catch (error) {
      if (isErrno(error, 'EEXIST')) throw exists()
      if (!isErrno(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK')) throw error
      // No hard links here: rename, after checking (best effort) that nothing is in the way.
      if (await pathExists(path)) throw exists()
      await rename(temp, path)
    }
  } finally {
    await unlink(temp).catch(() => {})
  }
  await syncDirectory(dir)
  return { keyPair: { secretKey: Uint8Array.from(keyPair.secretKey), publicKey: Uint8Array.from(keyPair.publicKey) }, peerId }
}

async function readSmallFile(path: string): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size > MAX_FILE_BYTES) {
      throw new XswarmError(
        ErrorCodes.IDENTITY_CORRUPT,
        `identity file '${path}' is corrupt: ${size} bytes, larger than any identity file (the file was left as it is)`,
      )
    }
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw error
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the new directory entry durable; not possible everywhere (Windows), hence best effort.
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // ignore
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as { code?: unknown }).code as string)
}
