/**
 * CryptoSuite known answers and strictness, run on nobleSuite, nativeSuite (libsodium where
 * sodium-native loads) and opensslSuite (nativeSuite where it does not):
 * RFC 8032 (ed25519), RFC 7748 (x25519), RFC 8439 §2.8.2 (ChaCha20-Poly1305), FIPS 180 (sha256),
 * RFC 4231 (HMAC-SHA256); small-order and malformed inputs rejected without throwing; and the
 * suites agree on random inputs.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { nativeBackend, nativeSuite } from '../../src/crypto/native.js'
import { opensslSuite } from '../../src/crypto/openssl.js'
import { OPENSSL_FROM_BYTES, OPENSSL_VERIFY_FROM_BYTES } from '../../src/crypto/sodium.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'))
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

const RFC8032 = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
]

// Group order L of ed25519, little-endian, for the S + L malleability check.
const L = (1n << 252n) + 27742317777372353535851937790883648493n

function addL(signature: Uint8Array): Uint8Array {
  const out = signature.slice()
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(out[i])
  s += L
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn)
    s >>= 8n
  }
  return out
}

const IDENTITY = hex('01' + '00'.repeat(31))
const ZERO32 = new Uint8Array(32)

// Low-order / degenerate X25519 u-coordinates (0, 1, the order-8 points, p-1, p, p+1).
const X25519_LOW_ORDER = [
  '00'.repeat(32),
  '01' + '00'.repeat(31),
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]

for (const suite of [nobleSuite, nativeSuite, opensslSuite] as CryptoSuite[]) {
  describe(`CryptoSuite ${suite.name}`, () => {
    it('sha256("abc") and the empty string (FIPS 180-4)', () => {
      expect(toHex(suite.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
      expect(toHex(suite.sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    })

    it('hmacSha256 (RFC 4231 test case 2)', () => {
      expect(toHex(suite.hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      )
    })

    it('ed25519 sign and verify: RFC 8032 test vectors 1 and 2', () => {
      for (const v of RFC8032) {
        const secret = hex(v.secret)
        expect(toHex(suite.ed25519PublicKey(secret))).toBe(v.publicKey)
        const signature = suite.ed25519Sign(secret, hex(v.message))
        expect(toHex(signature)).toBe(v.signature)
        expect(suite.ed25519Verify(hex(v.signature), hex(v.message), hex(v.publicKey))).toBe(true)
      }
    })

    it('ed25519 rejects tampered signatures, messages and keys', () => {
      const v = RFC8032[1]
      const sig = hex(v.signature)
      const msg = hex(v.message)
      const pub = hex(v.publicKey)
      for (const i of [0, 31, 32, 63]) {
        const bad = sig.slice()
        bad[i] ^= 1
        expect(suite.ed25519Verify(bad, msg, pub)).toBe(false)
      }
      expect(suite.ed25519Verify(sig, hex('73'), pub)).toBe(false)
      expect(suite.ed25519Verify(sig, new Uint8Array(0), pub)).toBe(false)
      expect(suite.ed25519Verify(sig, msg, hex(RFC8032[0].publicKey))).toBe(false)
      // S + L is the same signature modulo L: malleable encodings are rejected (S must be < L).
      expect(suite.ed25519Verify(addL(sig), msg, pub)).toBe(false)
    })

    it('ed25519 rejects the degenerate identity-key signature and every small-order key', () => {
      const degenerate = new Uint8Array(64)
      degenerate.set(IDENTITY, 0) // R = identity, S = 0
      for (const message of [new Uint8Array(0), utf8('anything'), randomBytes(100)]) {
        expect(suite.ed25519Verify(degenerate, message, IDENTITY)).toBe(false)
        for (const torsion of ED25519_TORSION_SUBGROUP) {
          expect(suite.ed25519Verify(degenerate, message, hex(torsion))).toBe(false)
          const withR = new Uint8Array(64)
          withR.set(hex(torsion), 0)
          expect(suite.ed25519Verify(withR, message, hex(torsion))).toBe(false)
        }
      }
    })

    it('ed25519 rejects a non-canonical public key encoding (y >= p)', () => {
      const sig = hex(RFC8032[0].signature)
      // y = p + 1 (decodes to y = 1 under the lax ZIP-215 rules only)
      expect(suite.ed25519Verify(sig, new Uint8Array(0), hex('ee' + 'ff'.repeat(30) + '7f'))).toBe(false)
      expect(suite.ed25519Verify(sig, new Uint8Array(0), hex('ff'.repeat(32)))).toBe(false)
    })

    it('keys in a reused buffer: each call uses the bytes the buffer holds now (no stale cached key)', () => {
      const skA = randomBytes(32)
      const skB = randomBytes(32)
      const message = utf8('reused buffer')
      const sigA = suite.ed25519Sign(skA, message)
      const sigB = suite.ed25519Sign(skB, message)
      const pub = suite.ed25519PublicKey(skA).slice()
      expect(suite.ed25519Verify(sigA, message, pub)).toBe(true)
      pub.set(suite.ed25519PublicKey(skB))
      expect(suite.ed25519Verify(sigA, message, pub)).toBe(false)
      expect(suite.ed25519Verify(sigB, message, pub)).toBe(true)
      // A signing seed rewritten in place signs, and names its public key, with its new bytes.
      const seed = new Uint8Array(randomBytes(32))
      suite.ed25519Sign(seed, message)
      seed.set(skB)
      expect(toHex(suite.ed25519Sign(seed, message))).toBe(toHex(sigB))
      expect(toHex(suite.ed25519PublicKey(seed))).toBe(toHex(suite.ed25519PublicKey(skB)))
      // The same for x25519: a secret and a public key rewritten in place.
      const secret = new Uint8Array(randomBytes(32))
      const other = new Uint8Array(randomBytes(32))
      const peerSecret = new Uint8Array(randomBytes(32))
      const peerPublic = suite.x25519PublicKey(peerSecret).slice()
      const first = suite.x25519(secret, peerPublic)
      secret.set(other)
      expect(toHex(suite.x25519(secret, peerPublic))).toBe(toHex(suite.x25519(other.slice(), peerPublic.slice())))
      expect(toHex(suite.x25519(secret, peerPublic))).not.toBe(toHex(first))
      const otherPublic = suite.x25519PublicKey(other)
      peerPublic.set(otherPublic)
      expect(toHex(suite.x25519(peerSecret, peerPublic))).toBe(toHex(suite.x25519(peerSecret, otherPublic.slice())))
    })

    it('ed25519 verify gives false, never throws, on malformed lengths', () => {
      const v = RFC8032[0]
      const sig = hex(v.signature)
      const pub = hex(v.publicKey)
      expect(suite.ed25519Verify(sig.subarray(0, 63), new Uint8Array(0), pub)).toBe(false)
      expect(suite.ed25519Verify(new Uint8Array(65), new Uint8Array(0), pub)).toBe(false)
      expect(suite.ed25519Verify(sig, new Uint8Array(0), pub.subarray(0, 31))).toBe(false)
      expect(suite.ed25519Verify(sig, new Uint8Array(0), new Uint8Array(33))).toBe(false)
      expect(suite.ed25519Verify(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0))).toBe(false)
      expect(suite.ed25519Verify(null as unknown as Uint8Array, new Uint8Array(0), pub)).toBe(false)
    })

    it('x25519: RFC 7748 §5.2 and §6.1 vectors', () => {
      expect(
        toHex(
          suite.x25519(
            hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
            hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
          ),
        ),
      ).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552')
      // The u-coordinate's top bit is set: it must be masked, not rejected.
      expect(
        toHex(
          suite.x25519(
            hex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
            hex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
          ),
        ),
      ).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957')
      const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
      const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
      const alicePub = suite.x25519PublicKey(alice)
      const bobPub = suite.x25519PublicKey(bob)
      expect(toHex(alicePub)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
      expect(toHex(bobPub)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
      const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
      expect(toHex(suite.x25519(alice, bobPub))).toBe(shared)
      expect(toHex(suite.x25519(bob, alicePub))).toBe(shared)
    })

    it('x25519 gives null for low-order and malformed public keys, never throws', () => {
      const priv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
      for (const low of X25519_LOW_ORDER) expect(suite.x25519(priv, hex(low)), low).toBeNull()
      expect(suite.x25519(priv, ZERO32)).toBeNull()
      expect(suite.x25519(priv, new Uint8Array(31))).toBeNull()
      expect(suite.x25519(priv, new Uint8Array(33).fill(9))).toBeNull()
      expect(suite.x25519(priv, new Uint8Array(0))).toBeNull()
      expect(suite.x25519(priv, null as unknown as Uint8Array)).toBeNull()
    })

    it('chacha20-poly1305: RFC 8439 §2.8.2 AEAD vector', () => {
      const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
      const nonce = hex('070000004041424344454647')
      const ad = hex('50515253c0c1c2c3c4c5c6c7')
      const plaintext = utf8(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
      )
      const expected =
        'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
        '1ae10b594f09e26a7e902ecbd0600691'
      const sealed = suite.aeadEncrypt(key, nonce, ad, plaintext)
      expect(toHex(sealed)).toBe(expected)
      expect(toHex(suite.aeadDecrypt(key, nonce, ad, hex(expected)))).toBe(toHex(plaintext))
    })

    it('aeadDecrypt gives null on tampering, wrong key/nonce/ad, short input; never throws', () => {
      const key = randomBytes(32)
      const nonce = randomBytes(12)
      const ad = utf8('ad')
      const sealed = suite.aeadEncrypt(key, nonce, ad, utf8('hello world'))
      for (const i of [0, 5, sealed.length - 16, sealed.length - 1]) {
        const bad = sealed.slice()
        bad[i] ^= 0x80
        expect(suite.aeadDecrypt(key, nonce, ad, bad)).toBeNull()
      }
      expect(suite.aeadDecrypt(randomBytes(32), nonce, ad, sealed)).toBeNull()
      expect(suite.aeadDecrypt(key, randomBytes(12), ad, sealed)).toBeNull()
      expect(suite.aeadDecrypt(key, nonce, utf8('da'), sealed)).toBeNull()
      expect(suite.aeadDecrypt(key, nonce, ad, sealed.subarray(0, 15))).toBeNull()
      expect(suite.aeadDecrypt(key, nonce, ad, new Uint8Array(0))).toBeNull()
      expect(suite.aeadDecrypt(key, nonce, ad, sealed.subarray(0, sealed.length - 1))).toBeNull()
      // Empty plaintext: just the tag.
      const empty = suite.aeadEncrypt(key, nonce, ad, new Uint8Array(0))
      expect(empty.length).toBe(16)
      expect(suite.aeadDecrypt(key, nonce, ad, empty)).toEqual(new Uint8Array(0))
    })
  })
}

describe('nativeSuite runs on libsodium here (sodium-native ships a binary for this platform)', () => {
  it('nativeBackend', () => {
    expect(nativeBackend).toBe('libsodium')
  })
})

for (const suite of [nativeSuite, opensslSuite]) {
  describe(`noble and ${suite.name} agree`, () => {
    it('on random inputs (bounded loop)', () => {
      for (let i = 0; i < 24; i++) {
        const data = randomBytes(i * 37)
        expect(toHex(suite.sha256(data))).toBe(toHex(nobleSuite.sha256(data)))
        const hkey = randomBytes(i * 5)
        expect(toHex(suite.hmacSha256(hkey, data))).toBe(toHex(nobleSuite.hmacSha256(hkey, data)))

        const seed = randomBytes(32)
        const pub = nobleSuite.ed25519PublicKey(seed)
        expect(toHex(suite.ed25519PublicKey(seed))).toBe(toHex(pub))
        const sig = nobleSuite.ed25519Sign(seed, data)
        expect(toHex(suite.ed25519Sign(seed, data))).toBe(toHex(sig))
        expect(suite.ed25519Verify(sig, data, pub)).toBe(true)
        expect(nobleSuite.ed25519Verify(sig, data, pub)).toBe(true)
        const randomSig = randomBytes(64)
        const randomPub = randomBytes(32)
        expect(suite.ed25519Verify(randomSig, data, randomPub)).toBe(nobleSuite.ed25519Verify(randomSig, data, randomPub))

        const a = randomBytes(32)
        const b = randomBytes(32)
        const aPub = nobleSuite.x25519PublicKey(a)
        expect(toHex(suite.x25519PublicKey(a))).toBe(toHex(aPub))
        expect(toHex(suite.x25519(b, aPub))).toBe(toHex(nobleSuite.x25519(b, aPub)))
        const randomU = randomBytes(32)
        expect(toHex(suite.x25519(a, randomU))).toBe(toHex(nobleSuite.x25519(a, randomU)))

        const key = randomBytes(32)
        const nonce = randomBytes(12)
        const ad = randomBytes(i)
        const pt = randomBytes(i === 23 ? 70_000 : i * 61)
        const sealed = nobleSuite.aeadEncrypt(key, nonce, ad, pt)
        expect(toHex(suite.aeadEncrypt(key, nonce, ad, pt))).toBe(toHex(sealed))
        expect(toHex(suite.aeadDecrypt(key, nonce, ad, sealed))).toBe(toHex(pt))
        expect(toHex(nobleSuite.aeadDecrypt(key, nonce, ad, sealed))).toBe(toHex(pt))
      }
    })
  })

  describe(`${suite.name} signs for many identities in one process`, () => {
    it('ten seeds in turn, each its own object and each a fresh copy, sign as noble does', () => {
      const seeds = Array.from({ length: 10 }, () => new Uint8Array(randomBytes(32)))
      for (let round = 0; round < 3; round++) {
        for (const seed of seeds) {
          const message = randomBytes(40)
          const expected = toHex(nobleSuite.ed25519Sign(seed, message))
          expect(toHex(suite.ed25519Sign(seed, message))).toBe(expected)
          expect(toHex(suite.ed25519Sign(seed.slice(), message))).toBe(expected)
        }
      }
    })
  })

  describe(`${suite.name} Ed25519 on both sides of nativeSuite's libsodium/OpenSSL split`, () => {
    it('signs as noble and verifies, and refuses a flipped bit, at 8 KiB and 32 KiB and one byte under', () => {
      const seed = randomBytes(32)
      const pub = nobleSuite.ed25519PublicKey(seed)
      for (const size of [OPENSSL_FROM_BYTES - 1, OPENSSL_FROM_BYTES, OPENSSL_VERIFY_FROM_BYTES - 1, OPENSSL_VERIFY_FROM_BYTES]) {
        const message = randomBytes(size)
        const sig = suite.ed25519Sign(seed, message)
        expect(toHex(sig)).toBe(toHex(nobleSuite.ed25519Sign(seed, message)))
        expect(suite.ed25519Verify(sig, message, pub)).toBe(true)
        const bad = message.slice()
        bad[size - 1] ^= 0x01
        expect(suite.ed25519Verify(sig, bad, pub)).toBe(false)
      }
    })
  })

  describe(`${suite.name} ChaCha20-Poly1305 from empty to 64 KiB`, () => {
    const key = randomBytes(32)
    const nonce = randomBytes(12)
    // nativeSuite's libsodium/OpenSSL split is at OPENSSL_FROM_BYTES (8 KiB)
    const sizes = [0, 1, 448, 4096, OPENSSL_FROM_BYTES - 1, OPENSSL_FROM_BYTES, 65_536]
    // none (Noise transport frames), the 32-byte handshake hash, and longer
    const ads = [new Uint8Array(0), randomBytes(32), randomBytes(33)]

    it('agrees with noble for every size and additional data, both ways', () => {
      for (const size of sizes) {
        for (const ad of ads) {
          const pt = randomBytes(size)
          const sealed = suite.aeadEncrypt(key, nonce, ad, pt)
          expect(toHex(sealed)).toBe(toHex(nobleSuite.aeadEncrypt(key, nonce, ad, pt)))
          expect(toHex(suite.aeadDecrypt(key, nonce, ad, sealed))).toBe(toHex(pt))
          expect(toHex(nobleSuite.aeadDecrypt(key, nonce, ad, sealed))).toBe(toHex(pt))
        }
      }
    })

    it('refuses a flipped bit in the body or the tag, or the wrong additional data', () => {
      for (const size of sizes) {
        const ad = ads[1]
        const sealed = suite.aeadEncrypt(key, nonce, ad, randomBytes(size))
        for (const i of [0, size, sealed.length - 1]) {
          const bad = sealed.slice()
          bad[i] ^= 0x01
          expect(suite.aeadDecrypt(key, nonce, ad, bad)).toBeNull()
        }
        expect(suite.aeadDecrypt(key, nonce, randomBytes(32), sealed)).toBeNull()
      }
    })

    it('a sealed or opened message does not change when the next one is sealed (no shared output buffer)', () => {
      const first = suite.aeadEncrypt(key, nonce, ads[0], new Uint8Array(100).fill(1))
      const copy = first.slice()
      const opened = suite.aeadDecrypt(key, nonce, ads[0], first)
      suite.aeadEncrypt(key, nonce, ads[0], new Uint8Array(100).fill(2))
      suite.aeadDecrypt(key, nonce, ads[0], suite.aeadEncrypt(key, nonce, ads[0], new Uint8Array(100).fill(3)))
      expect(toHex(first)).toBe(toHex(copy))
      expect(opened).toEqual(new Uint8Array(100).fill(1))
    })
  })
}

describe('known difference between the suites (SECURITY.md, "Ed25519: noble and native")', () => {
  const Point = ed25519.Point
  const le = (b: Uint8Array): bigint => b.reduceRight((x, byte) => (x << 8n) | BigInt(byte), 0n)
  const toLE = (x: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((x >> BigInt(8 * i)) & 0xffn))
  const a = 0x1234567890abcdefn
  const A = Point.BASE.multiply(a).toBytes()
  /** A signature by the owner of `a` whose R is the given point, made with nonce `r` (S = r + k·a). */
  const crafted = (R: Uint8Array, r: bigint, msg: Uint8Array): Uint8Array => {
    const k = le(sha512(Uint8Array.from([...R, ...A, ...msg]))) % L
    return Uint8Array.from([...R, ...toLE((r + k * a) % L)])
  }

  it('a signature whose R has a small-order component: noble (cofactored) accepts, libsodium and OpenSSL (cofactorless) reject', () => {
    const r = 12345n
    const R = Point.BASE.multiply(r).add(Point.fromHex(ED25519_TORSION_SUBGROUP[1])).toBytes()
    const msg = utf8('crafted')
    const sig = crafted(R, r, msg)
    expect(nobleSuite.ed25519Verify(sig, msg, A)).toBe(true)
    expect(nativeSuite.ed25519Verify(sig, msg, A)).toBe(false)
    expect(opensslSuite.ed25519Verify(sig, msg, A)).toBe(false)
  })

  it('a signature whose R is the identity (small order): noble and OpenSSL accept, libsodium rejects', () => {
    const msg = utf8('crafted by the key owner')
    const sig = crafted(Point.ZERO.toBytes(), 0n, msg)
    expect(nobleSuite.ed25519Verify(sig, msg, A)).toBe(true)
    expect(opensslSuite.ed25519Verify(sig, msg, A)).toBe(true)
    expect(nativeSuite.ed25519Verify(sig, msg, A)).toBe(nativeBackend === 'openssl')
  })
})
