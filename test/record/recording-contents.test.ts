/**
 * What a recording holds and how a bad one is refused, on the simulator (fast, deterministic):
 * no key in any encoding; another format or xswarm version is a typed error; a truncated or
 * corrupt file says where; a replay that departs from the recording stops; the size bound rotates into segments and then stops, with
 * `record.stopped`, and the segments still replay.
 * @module
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base58, base64, hex } from '@scure/base'
import { afterAll, describe, expect, it } from 'vitest'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { eventToJson } from '../../src/cli/log.js'
import { frameRecord, preamble, readRecords, RECORDING_FORMAT, RecordingError } from '../../src/record/format.js'
import { replay } from '../../src/record/replay.js'
import type { Swarm } from '../../src/swarm.js'
import { createSimulation } from '../../src/testing/simulation.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()
const dir = mkdtempSync(join(tmpdir(), 'xswarm-recording-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * A suite that keeps every secret it sees or makes: private keys, shared secrets, HKDF keys and
 * outputs, AEAD keys. Digests are public and kept apart: Noise's first chaining key is the
 * digest of the protocol name (an HKDF key, yet public).
 */
function keepingSecrets(secrets: Uint8Array[], digests: Uint8Array[]): CryptoSuite {
  const s = nobleSuite
  return {
    ...s,
    name: 'keeping',
    sha256: (d) => { const out = s.sha256(d); digests.push(out); return out },
    x25519PublicKey: (k) => (secrets.push(k), s.x25519PublicKey(k)),
    x25519: (k, p) => { secrets.push(k); const out = s.x25519(k, p); if (out) secrets.push(out); return out },
    hmacSha256: (k, d) => { const out = s.hmacSha256(k, d); secrets.push(k, out); return out },
    aeadEncrypt: (k, n, ad, p) => (secrets.push(k), s.aeadEncrypt(k, n, ad, p)),
    aeadDecrypt: (k, n, ad, c) => (secrets.push(k), s.aeadDecrypt(k, n, ad, c)),
    ed25519PublicKey: (k) => (secrets.push(k), s.ed25519PublicKey(k)),
    ed25519Sign: (k, m) => (secrets.push(k), s.ed25519Sign(k, m)),
  }
}

/** Two recorded nodes on a private network that connect, exchange a pubsub message and close. */
async function session(record: (name: string) => unknown, crypto?: CryptoSuite): Promise<{ a: Swarm; b: Swarm }> {
  const sim = createSimulation()
  const swarmKey = new Uint8Array(32).fill(0x5a)
  const a = await createSimTestSwarm(sim, { seed: 1, swarmKey, record: record('a') as never, ...(crypto ? { crypto } : {}) })
  const b = await createSimTestSwarm(sim, { seed: 2, swarmKey, record: record('b') as never, secretKey: new Uint8Array(32).fill(0x3c), ...(crypto ? { crypto } : {}) })
  a.subscribe('t')
  b.subscribe('t')
  await connectSim(sim, a, b)
  await sim.run({ forMs: 3000 })
  for (let i = 0; i < 40; i++) b.publish('t', new TextEncoder().encode(`message ${i} ${'x'.repeat(200)}`))
  await sim.run({ forMs: 5000 })
  let closed = 0
  for (const s of [a, b]) void s.close().then(() => closed++)
  await sim.run({ until: () => closed === 2, forMs: 10_000 })
  await sim.run({ forMs: 10 })
  return { a, b }
}

const lines = (events: readonly { type: string }[]): string[] => events.map((e) => eventToJson(e as never))

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle))
}

describe('a recording', () => {
  it('holds no key: identity secrets, the swarm key, static and ephemeral keys, shared secrets, chaining and session keys — raw, hex, base64 or base58', async () => {
    const secrets: Uint8Array[] = [new Uint8Array(32).fill(0x5a), new Uint8Array(32).fill(0x3c)]
    const file = (name: string) => join(dir, `secret-${name}.rec`)
    const digests: Uint8Array[] = []
    const nodes = await session(file, keepingSecrets(secrets, digests))
    const isPublic = new Set(digests.map((d) => hex.encode(d)))
    expect(eventsOf(nodes.a).some((e) => e.type === 'pubsub.message')).toBe(true)
    const unique = [...new Map(secrets.filter((k) => k.length >= 16 && k.some((b) => b !== 0) && !isPublic.has(hex.encode(k))).map((k) => [hex.encode(k), k])).values()]
    expect(unique.length).toBeGreaterThan(20)
    for (const name of ['a', 'b']) {
      const bytes = readFileSync(file(name))
      for (const key of unique) {
        const forms = [key.subarray(0, 16), Buffer.from(hex.encode(key.subarray(0, 16))), Buffer.from(base64.encode(key).slice(0, 20)), Buffer.from(base58.encode(key).slice(0, 20))]
        for (const form of forms) expect(indexOf(bytes, form), `${hex.encode(key)} found in recording ${name}`).toBe(-1)
      }
      // It still replays, with no key.
      expect(lines((await replay(file(name))).events)).toEqual(lines(eventsOf(nodes[name as 'a' | 'b'])))
    }
  })

  it('rotates into segments at maxBytes, stops at maxSegments with record.stopped, and the segments replay', async () => {
    const path = join(dir, 'rotating.rec')
    const { a } = await session((name) => (name === 'a' ? { path, maxBytes: 4096, maxSegments: 3 } : undefined))
    expect([path, `${path}.1`, `${path}.2`].every(existsSync)).toBe(true)
    expect(existsSync(`${path}.3`)).toBe(false)
    const stopped = eventsOf(a).find((e) => e.type === 'record.stopped') as { reason?: string; inputs?: number } | undefined
    expect(stopped?.reason).toBe('size-limit')
    const replayed = await replay(path)
    expect(replayed.endReason).toBe('size-limit')
    expect(replayed.inputs).toBe(stopped?.inputs)
    const live = lines(eventsOf(a).filter((e) => e.type !== 'record.stopped'))
    expect(replayed.events.length).toBeGreaterThan(3)
    expect(lines(replayed.events)).toEqual(live.slice(0, replayed.events.length))
  })

  it('of another format or another xswarm version is refused with a typed error; a truncated or corrupt one says where', async () => {
    const path = join(dir, 'plain.rec')
    const { a } = await session((name) => (name === 'a' ? path : undefined))
    const bytes = readFileSync(path)
    expect(lines((await replay(path)).events)).toEqual(lines(eventsOf(a)))

    const other = Uint8Array.from(bytes)
    other[6] = RECORDING_FORMAT + 1
    writeFileSync(join(dir, 'other-format.rec'), other)
    await expect(replay(join(dir, 'other-format.rec'))).rejects.toMatchObject({ name: 'RecordingError', code: 'recording-version', message: expect.stringMatching(new RegExp(`format ${RECORDING_FORMAT + 1}; this xswarm reads format ${RECORDING_FORMAT}`)) })

    const records = [...readRecords(bytes, 'plain.rec')]
    const header = { ...(records[0] as object), xswarm: '0.0.1' }
    writeFileSync(join(dir, 'old.rec'), Buffer.concat([preamble(), frameRecord(header), ...records.slice(1).map(frameRecord)]))
    await expect(replay(join(dir, 'old.rec'))).rejects.toMatchObject({ code: 'recording-version', message: expect.stringMatching(/made by xswarm 0\.0\.1, this is xswarm/) })
    await expect(replay(join(dir, 'old.rec'), { anyVersion: true })).resolves.toMatchObject({ endReason: 'closed' })

    writeFileSync(join(dir, 'cut.rec'), bytes.subarray(0, bytes.length - 3))
    await expect(replay(join(dir, 'cut.rec'))).rejects.toMatchObject({ code: 'recording-corrupt', message: expect.stringMatching(/truncated/) })
    const garbled = Uint8Array.from(bytes)
    garbled.fill(0xc1, 200, 260) // 0xc1 is never used in msgpack
    writeFileSync(join(dir, 'garbled.rec'), garbled)
    await expect(replay(join(dir, 'garbled.rec'))).rejects.toBeInstanceOf(RecordingError)
    writeFileSync(join(dir, 'text.rec'), 'hello')
    await expect(replay(join(dir, 'text.rec'))).rejects.toMatchObject({ code: 'recording-version', message: expect.stringMatching(/not an xswarm recording/) })
  })

  it('that the replayed node departs from stops with replay-diverged; one that needs a protocol replay was not given says which', async () => {
    const path = join(dir, 'diverge.rec')
    await session((name) => (name === 'a' ? path : undefined))
    const records = [...readRecords(readFileSync(path), 'diverge.rec')]
    // Flip the first signature verification the machines were answered: the handshake takes another path.
    const verify = records.findIndex((r) => Array.isArray(r) && r[0] === 'c' && r[1] === 8)
    expect(verify).toBeGreaterThan(0)
    const flipped = records.map((r, i) => (i === verify ? ['c', 8, !(r as unknown[])[2]] : r))
    writeFileSync(join(dir, 'flipped.rec'), Buffer.concat([preamble(), ...flipped.map(frameRecord)]))
    await expect(replay(join(dir, 'flipped.rec'))).rejects.toMatchObject({ name: 'RecordingError', code: 'replay-diverged' })

    const header = { ...(records[0] as { protocols: string[] }), protocols: [...(records[0] as { protocols: string[] }).protocols, '/mine/1'] }
    writeFileSync(join(dir, 'mine.rec'), Buffer.concat([preamble(), frameRecord(header), ...records.slice(1).map(frameRecord)]))
    await expect(replay(join(dir, 'mine.rec'))).rejects.toMatchObject({ code: 'replay-missing-protocol', message: expect.stringMatching(/\/mine\/1: pass the same protocol definitions/) })
  })
})
