/**
 * src/identity/identity-file.ts, in a temporary directory: created with mode 0600, reused, never
 * overwritten, and every corrupt variant throws IDENTITY_CORRUPT and leaves the file untouched.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ErrorCodes, XswarmError } from '../../src/errors.js'
import { loadOrCreateIdentity, readIdentity, writeIdentity } from '../../src/identity/identity-file.js'
import { generateKeyPair, keyPairFromSecret, peerIdOf } from '../../src/identity/keypair.js'

const vectors = JSON.parse(readFileSync(new URL('../vectors/identity.json', import.meta.url), 'utf8')) as Record<string, string>
const dir = mkdtempSync(join(tmpdir(), 'xswarm-identity-'))
let n = 0
const fresh = (): string => join(dir, `id-${++n}`, 'identity.json')
const posix = process.platform !== 'win32'

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('loadOrCreateIdentity', () => {
  it('creates the file (and its directory) with mode 0600 on first use', async () => {
    const path = fresh()
    const first = await loadOrCreateIdentity(path)
    expect(first.created).toBe(true)
    expect(first.peerId).toBe(peerIdOf(first.keyPair.publicKey))
    if (posix) expect(statSync(path).mode & 0o777).toBe(0o600)
    const json = JSON.parse(readFileSync(path, 'utf8'))
    expect(json).toEqual({ version: 1, type: 'ed25519', secretKey: expect.any(String), peerId: first.peerId })
    expect(Buffer.from(json.secretKey, 'base64')).toHaveLength(32)
  })

  it('reuses the file afterwards', async () => {
    const path = fresh()
    const first = await loadOrCreateIdentity(path)
    const before = readFileSync(path)
    const second = await loadOrCreateIdentity(path)
    expect(second.created).toBe(false)
    expect(second.peerId).toBe(first.peerId)
    expect(second.keyPair.secretKey).toEqual(first.keyPair.secretKey)
    expect(readFileSync(path)).toEqual(before)
  })

  it('gives one identity to concurrent creators', async () => {
    const path = fresh()
    const results = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateIdentity(path)))
    expect(new Set(results.map((r) => r.peerId)).size).toBe(1)
    expect(results.filter((r) => r.created)).toHaveLength(1)
  })

  it('reads a file with the RFC 8032 test-1 key as its known peer id', async () => {
    const path = join(dir, 'vector.json')
    const secretKey = Buffer.from(vectors.secretKey, 'hex').toString('base64')
    writeFileSync(path, JSON.stringify({ version: 1, type: 'ed25519', secretKey, peerId: vectors.peerId }))
    const identity = await loadOrCreateIdentity(path)
    expect(identity).toMatchObject({ peerId: vectors.peerId, created: false })
    expect(Buffer.from(identity.keyPair.publicKey).toString('hex')).toBe(vectors.publicKey)
    // The base32 form of the same id is not corrupt either.
    writeFileSync(path, JSON.stringify({ version: 1, type: 'ed25519', secretKey, peerId: vectors.peerIdBase32 }))
    expect((await readIdentity(path)).peerId).toBe(vectors.peerId)
  })
})

describe('corrupt files throw IDENTITY_CORRUPT and are left untouched', () => {
  const key = keyPairFromSecret(Buffer.from(vectors.secretKey, 'hex'))
  const good = { version: 1, type: 'ed25519', secretKey: Buffer.from(key.secretKey).toString('base64'), peerId: vectors.peerId }
  const otherPeer = peerIdOf(generateKeyPair().publicKey)

  it.each<[string, string, string]>([
    ['bad JSON', '{"version": 1,', 'not valid JSON'],
    ['an empty file', '', 'not valid JSON'],
    ['a JSON array', '[]', 'not a JSON object'],
    ['JSON null', 'null', 'not a JSON object'],
    ['a wrong version', JSON.stringify({ ...good, version: 2 }), 'unsupported version 2'],
    ['a missing version', JSON.stringify({ ...good, version: undefined }), 'unsupported version undefined'],
    ['a wrong type', JSON.stringify({ ...good, type: 'secp256k1' }), 'unsupported key type "secp256k1"'],
    ['a missing secret key', JSON.stringify({ ...good, secretKey: undefined }), '"secretKey" is missing or not a string'],
    ['a secret key that is not base64', JSON.stringify({ ...good, secretKey: '!!!!' }), '"secretKey" is not valid base64'],
    ['a 31-byte secret key', JSON.stringify({ ...good, secretKey: Buffer.alloc(31).toString('base64') }), 'decodes to 31 bytes, expected 32'],
    ['a 33-byte secret key', JSON.stringify({ ...good, secretKey: Buffer.alloc(33).toString('base64') }), 'decodes to 33 bytes, expected 32'],
    ['a missing peer id', JSON.stringify({ ...good, peerId: undefined }), '"peerId" is missing or not a string'],
    ['an invalid peer id', JSON.stringify({ ...good, peerId: 'xyz' }), `"peerId" 'xyz' is not a valid peer id`],
    ['a peer id of another key', JSON.stringify({ ...good, peerId: otherPeer }), `"peerId" ${otherPeer} does not match the key`],
    ['a huge file', ' '.repeat(70_000), 'larger than any identity file'],
  ])('%s', async (_name, content, problem) => {
    const path = join(dir, `corrupt-${++n}.json`)
    writeFileSync(path, content, { mode: 0o600 })
    const before = statSync(path)
    for (const load of [loadOrCreateIdentity, readIdentity]) {
      let error: unknown
      try {
        await load(path)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(XswarmError)
      expect((error as XswarmError).code).toBe(ErrorCodes.IDENTITY_CORRUPT)
      expect((error as XswarmError).message).toContain(`identity file '${path}' is corrupt`)
      expect((error as XswarmError).message).toContain(problem)
    }
    expect(readFileSync(path, 'utf8')).toBe(content)
    const after = statSync(path)
    expect(after.mtimeMs).toBe(before.mtimeMs)
    expect(after.ino).toBe(before.ino)
  })
})

describe('writeIdentity and readIdentity', () => {
  it('writes a readable identity and never overwrites one', async () => {
    const path = fresh()
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(path, '..'), { recursive: true })
    const pair = generateKeyPair()
    const written = await writeIdentity(path, pair)
    expect(written.peerId).toBe(peerIdOf(pair.publicKey))
    if (posix) expect(statSync(path).mode & 0o777).toBe(0o600)
    expect((await readIdentity(path)).keyPair.secretKey).toEqual(pair.secretKey)
    const before = readFileSync(path)
    await expect(writeIdentity(path, generateKeyPair())).rejects.toMatchObject({ code: ErrorCodes.IDENTITY_EXISTS })
    expect(readFileSync(path)).toEqual(before)
  })

  it('leaves no temporary files behind', async () => {
    const path = fresh()
    await loadOrCreateIdentity(path)
    await writeIdentity(path, generateKeyPair()).catch(() => {})
    const { readdirSync } = await import('node:fs')
    expect(readdirSync(join(path, '..'))).toEqual(['identity.json'])
  })

  it('passes file-system errors through (a missing file is ENOENT, not corrupt)', async () => {
    await expect(readIdentity(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('checks its arguments', async () => {
    const pair = generateKeyPair()
    await expect(writeIdentity(fresh(), { secretKey: pair.secretKey, publicKey: generateKeyPair().publicKey })).rejects.toThrow(
      '"keyPair.publicKey" does not belong to "keyPair.secretKey"',
    )
    await expect(writeIdentity(fresh(), { secretKey: new Uint8Array(31), publicKey: pair.publicKey })).rejects.toThrow(RangeError)
    await expect(loadOrCreateIdentity(7 as unknown as string)).rejects.toThrow(TypeError)
  })
})
