/**
 * Noise test vectors: the XX and XXpsk3 handshakes reproduce the public snow and cacophony
 * vectors byte for byte (handshake messages, transport messages after the split, handshake
 * hash), on both crypto suites.
 *
 * Vector format (Noise wiki): `messages[i]` is sent by the initiator when i is even and by the
 * responder when i is odd, through the handshake and on into transport messages after the split
 * (empty associated data). Ciphertexts are the bytes on the wire.
 * @module
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { nativeSuite } from '../../src/crypto/native.js'
import { decryptWithAd, encryptWithAd, type CipherState } from '../../machines/secure/cipher-state.js'
import {
  initHandshake,
  isNoiseError,
  readMessage,
  writeMessage,
  type HandshakeState,
  type NoiseError,
  type NoisePattern,
} from '../../machines/secure/noise.js'

interface Vector {
  protocol_name: string
  init_prologue: string
  init_psks?: string[]
  init_static: string
  init_ephemeral: string
  resp_prologue: string
  resp_psks?: string[]
  resp_static: string
  resp_ephemeral: string
  handshake_hash?: string
  messages: { payload: string; ciphertext: string }[]
}

const PROTOCOLS: Record<string, NoisePattern> = {
  Noise_XX_25519_ChaChaPoly_SHA256: 'XX',
  Noise_XXpsk3_25519_ChaChaPoly_SHA256: 'XXpsk3',
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

function load(file: string): Vector[] {
  const text = readFileSync(new URL(`../fixtures/noise/${file}`, import.meta.url), 'utf8')
  return (JSON.parse(text) as { vectors: Vector[] }).vectors.filter((v) => v.protocol_name in PROTOCOLS)
}

function side(suite: CryptoSuite, v: Vector, initiator: boolean): HandshakeState {
  const p = initiator ? 'init' : 'resp'
  const priv = hex(v[`${p}_static`])
  const psks = v[`${p}_psks`] ?? []
  return initHandshake({
    suite,
    pattern: PROTOCOLS[v.protocol_name],
    initiator,
    prologue: hex(v[`${p}_prologue`]),
    staticKey: { privateKey: priv, publicKey: suite.x25519PublicKey(priv) },
    ephemeralPrivateKey: hex(v[`${p}_ephemeral`]),
    ...(psks.length > 0 ? { psk: hex(psks[0]) } : {}),
  })
}

/** Runs one vector; returns the number of messages checked. */
function run(suite: CryptoSuite, v: Vector): number {
  const states = [side(suite, v, true), side(suite, v, false)]
  const ciphers: { send: CipherState; recv: CipherState }[] = []
  const hashes: Uint8Array[] = []
  const statics: Uint8Array[] = []
  v.messages.forEach((m, i) => {
    const from = i % 2 // 0 = initiator, 1 = responder
    const to = 1 - from
    if (ciphers.length < 2) {
      const w = writeMessage(states[from], hex(m.payload))
      if (isNoiseError(w)) throw new Error(`message ${i}: write ${w.error}`)
      expect(toHex(w.message), `message ${i} ciphertext`).toBe(m.ciphertext)
      const r = readMessage(states[to], w.message)
      if (isNoiseError(r)) throw new Error(`message ${i}: read ${r.error}`)
      expect(toHex(r.payload), `message ${i} payload`).toBe(m.payload)
      states[from] = w.state
      states[to] = r.state
      for (const [who, res] of [[from, w], [to, r]] as const) {
        if (res.split) {
          ciphers[who] = res.split
          hashes[who] = res.handshakeHash as Uint8Array
          statics[who] = res.remoteStatic as Uint8Array
        }
      }
    } else {
      const c = encryptWithAd(suite, ciphers[from].send, new Uint8Array(0), hex(m.payload))
      expect(c && toHex(c), `transport message ${i} ciphertext`).toBe(m.ciphertext)
      const p = decryptWithAd(suite, ciphers[to].recv, new Uint8Array(0), hex(m.ciphertext))
      expect(p && toHex(p), `transport message ${i} payload`).toBe(m.payload)
    }
  })
  expect(ciphers.length, 'handshake completed on both sides').toBe(2)
  expect(toHex(hashes[0])).toBe(toHex(hashes[1]))
  if (v.handshake_hash !== undefined) expect(toHex(hashes[0]), 'handshake hash').toBe(v.handshake_hash)
  expect(toHex(statics[0])).toBe(toHex(nobleSuite.x25519PublicKey(hex(v.resp_static))))
  expect(toHex(statics[1])).toBe(toHex(nobleSuite.x25519PublicKey(hex(v.init_static))))
  return v.messages.length
}

for (const suite of [nobleSuite, nativeSuite]) {
  describe(`noise vectors (${suite.name})`, () => {
    for (const file of ['snow.txt', 'cacophony.txt']) {
      it(`reproduces every XX/XXpsk3 vector in ${file}`, () => {
        const vectors = load(file)
        expect(vectors.length).toBeGreaterThan(0)
        let messages = 0
        for (const v of vectors) messages += run(suite, v)
        expect(messages).toBeGreaterThan(3 * vectors.length) // transport messages were checked too
        if (file === 'cacophony.txt') {
          expect(vectors.some((v) => v.protocol_name.includes('psk3'))).toBe(true)
          expect(vectors.every((v) => v.handshake_hash !== undefined)).toBe(true)
        }
      })
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Beyond the vectors: failures are returned, never thrown, and states are never mutated.

function keys(suite: CryptoSuite, seed: number): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = nobleSuite.sha256(Uint8Array.of(seed))
  return { privateKey, publicKey: suite.x25519PublicKey(privateKey) }
}

function pair(suite: CryptoSuite, pattern: NoisePattern, opts: { prologue?: [string, string]; psk?: [number, number] } = {}) {
  const [ip, rp] = opts.prologue ?? ['xswarm', 'xswarm']
  const psk = (n: number) => nobleSuite.sha256(Uint8Array.of(100 + n))
  const common = { suite, pattern }
  const init = initHandshake({
    ...common,
    initiator: true,
    prologue: new TextEncoder().encode(ip),
    staticKey: keys(suite, 1),
    ephemeralPrivateKey: keys(suite, 2).privateKey,
    ...(pattern === 'XXpsk3' ? { psk: psk(opts.psk?.[0] ?? 0) } : {}),
  })
  const resp = initHandshake({
    ...common,
    initiator: false,
    prologue: new TextEncoder().encode(rp),
    staticKey: keys(suite, 3),
    ephemeralPrivateKey: keys(suite, 4).privateKey,
    ...(pattern === 'XXpsk3' ? { psk: psk(opts.psk?.[1] ?? 0) } : {}),
  })
  return { init, resp }
}

function ok<T extends object>(result: T): Exclude<T, NoiseError> {
  if (isNoiseError(result)) throw new Error(`unexpected ${result.error}`)
  return result as Exclude<T, NoiseError>
}

const bytes = (s: string) => new TextEncoder().encode(s)

for (const suite of [nobleSuite, nativeSuite]) {
  describe(`noise handshake behaviour (${suite.name})`, () => {
    for (const pattern of ['XX', 'XXpsk3'] as const) {
      it(`${pattern}: completes, splits into matching transport ciphers, exposes the remote static early`, () => {
        const { init, resp } = pair(suite, pattern)
        const m1 = ok(writeMessage(init, bytes('one')))
        const r1 = ok(readMessage(resp, m1.message))
        expect(new TextDecoder().decode(r1.payload)).toBe('one')
        const m2 = ok(writeMessage(r1.state, bytes('two')))
        const r2 = ok(readMessage(m1.state, m2.message))
        expect(r2.state.remoteStatic).toEqual(keys(suite, 3).publicKey)
        expect(r2.split).toBeUndefined()
        const m3 = ok(writeMessage(r2.state, bytes('three')))
        const r3 = ok(readMessage(m2.state, m3.message))
        expect(new TextDecoder().decode(r3.payload)).toBe('three')
        expect(m3.state.complete && r3.state.complete).toBe(true)
        expect(m3.split && r3.split).toBeTruthy()
        expect(m3.handshakeHash).toEqual(r3.handshakeHash)
        // the completed states keep no handshake secret
        expect(m3.state.e.privateKey.length + r3.state.e.privateKey.length + m3.state.ck.length).toBe(0)
        expect(m3.remoteStatic).toEqual(keys(suite, 3).publicKey)
        expect(r3.remoteStatic).toEqual(keys(suite, 1).publicKey)
        const a = m3.split!
        const b = r3.split!
        const c = encryptWithAd(suite, a.send, new Uint8Array(0), bytes('hi')) as Uint8Array
        expect(new TextDecoder().decode(decryptWithAd(suite, b.recv, new Uint8Array(0), c) as Uint8Array)).toBe('hi')
        const d = encryptWithAd(suite, b.send, new Uint8Array(0), bytes('yo')) as Uint8Array
        expect(new TextDecoder().decode(decryptWithAd(suite, a.recv, new Uint8Array(0), d) as Uint8Array)).toBe('yo')
      })
    }

    it('never mutates a state: the same step twice gives the same bytes, and a failed read leaves the state usable', () => {
      const { init, resp } = pair(suite, 'XX')
      const snapshot = JSON.stringify({ h: Array.from(init.h), ck: Array.from(init.ck), i: init.messageIndex })
      const a = ok(writeMessage(init, bytes('p')))
      const b = ok(writeMessage(init, bytes('p')))
      expect(a.message).toEqual(b.message)
      expect(JSON.stringify({ h: Array.from(init.h), ck: Array.from(init.ck), i: init.messageIndex })).toBe(snapshot)
      const r1 = ok(readMessage(resp, a.message))
      const m2 = ok(writeMessage(r1.state, bytes('q')))
      const tampered = m2.message.slice()
      tampered[tampered.length - 1] ^= 1
      expect(readMessage(a.state, tampered)).toEqual({ error: 'decrypt-failed', detail: 'payload' })
      expect(a.state.messageIndex).toBe(1)
      expect(ok(readMessage(a.state, m2.message)).state.messageIndex).toBe(2)
    })

    it('wrong turn, completed handshake and bad configuration are errors', () => {
      const { init, resp } = pair(suite, 'XX')
      expect(readMessage(init, new Uint8Array(32))).toMatchObject({ error: 'wrong-turn' })
      expect(writeMessage(resp, new Uint8Array(0))).toMatchObject({ error: 'wrong-turn' })
      let i = init
      let r = resp
      const w1 = ok(writeMessage(i, new Uint8Array(0)))
      const r1 = ok(readMessage(r, w1.message))
      const w2 = ok(writeMessage(r1.state, new Uint8Array(0)))
      const r2 = ok(readMessage(w1.state, w2.message))
      const w3 = ok(writeMessage(r2.state, new Uint8Array(0)))
      const r3 = ok(readMessage(w2.state, w3.message))
      i = w3.state
      r = r3.state
      expect(writeMessage(i, new Uint8Array(0))).toMatchObject({ error: 'handshake-complete' })
      expect(readMessage(r, new Uint8Array(64))).toMatchObject({ error: 'handshake-complete' })

      const base = { suite, initiator: true, prologue: new Uint8Array(0), staticKey: keys(suite, 1), ephemeralPrivateKey: keys(suite, 2).privateKey }
      const bad = [
        initHandshake({ ...base, pattern: 'XXpsk3' }),
        initHandshake({ ...base, pattern: 'XXpsk3', psk: new Uint8Array(31) }),
        initHandshake({ ...base, pattern: 'XX', psk: new Uint8Array(32) }),
        initHandshake({ ...base, pattern: 'XX', ephemeralPrivateKey: new Uint8Array(31) }),
        initHandshake({ ...base, pattern: 'XX', staticKey: { privateKey: new Uint8Array(32), publicKey: new Uint8Array(0) } }),
        initHandshake({ ...base, pattern: 'NN' as NoisePattern }),
        initHandshake(null as never),
      ]
      for (const state of bad) {
        expect(writeMessage(state, new Uint8Array(0))).toMatchObject({ error: 'bad-config' })
        expect(readMessage(state, new Uint8Array(32))).toMatchObject({ error: 'bad-config' })
      }
    })

    it('short, oversized and garbage messages are errors', () => {
      const { init, resp } = pair(suite, 'XX')
      expect(readMessage(resp, new Uint8Array(31))).toMatchObject({ error: 'bad-length' })
      expect(readMessage(resp, new Uint8Array(65536))).toMatchObject({ error: 'too-long' })
      expect(readMessage(resp, 'x' as never)).toMatchObject({ error: 'bad-length' })
      expect(writeMessage(init, new Uint8Array(65535 - 31))).toMatchObject({ error: 'too-long' })
      expect(ok(writeMessage(init, new Uint8Array(65535 - 32))).message.length).toBe(65535)
      const w1 = ok(writeMessage(init, new Uint8Array(0)))
      const r1 = ok(readMessage(resp, w1.message))
      const w2 = ok(writeMessage(r1.state, new Uint8Array(0)))
      // message 2 is e(32) + encrypted s(48) + payload tag(16)
      expect(w2.message.length).toBe(96)
      expect(readMessage(w1.state, w2.message.subarray(0, 79))).toMatchObject({ error: 'bad-length' })
      expect(readMessage(w1.state, w2.message.subarray(0, 95))).toMatchObject({ error: 'bad-length' })
      const badS = w2.message.slice()
      badS[40] ^= 1
      expect(readMessage(w1.state, badS)).toMatchObject({ error: 'decrypt-failed', detail: 's' })
    })

    it('a low-order ephemeral key from the peer is rejected', () => {
      for (const low of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
        const { init, resp } = pair(suite, 'XX')
        // The responder accepts message 1 (no DH yet) but cannot answer it.
        const r1 = ok(readMessage(resp, low))
        expect(writeMessage(r1.state, new Uint8Array(0))).toMatchObject({ error: 'low-order-key', detail: 'ee' })
        // The initiator gets a message 2 whose e is low order.
        const w1 = ok(writeMessage(init, new Uint8Array(0)))
        const msg2 = new Uint8Array(96)
        msg2.set(low)
        expect(readMessage(w1.state, msg2)).toMatchObject({ error: 'low-order-key', detail: 'ee' })
      }
    })

    it('a prologue mismatch or a psk mismatch fails with decrypt-failed', () => {
      {
        const { init, resp } = pair(suite, 'XX', { prologue: ['xswarm/1', 'xswarm/2'] })
        const w1 = ok(writeMessage(init, new Uint8Array(0)))
        const r1 = ok(readMessage(resp, w1.message))
        const w2 = ok(writeMessage(r1.state, new Uint8Array(0)))
        expect(readMessage(w1.state, w2.message)).toMatchObject({ error: 'decrypt-failed' })
      }
      {
        const { init, resp } = pair(suite, 'XXpsk3', { psk: [0, 1] })
        const w1 = ok(writeMessage(init, new Uint8Array(0)))
        const r1 = ok(readMessage(resp, w1.message))
        const w2 = ok(writeMessage(r1.state, new Uint8Array(0)))
        const r2 = ok(readMessage(w1.state, w2.message))
        const w3 = ok(writeMessage(r2.state, new Uint8Array(0)))
        expect(readMessage(w2.state, w3.message)).toMatchObject({ error: 'decrypt-failed' })
      }
    })
  })
}
