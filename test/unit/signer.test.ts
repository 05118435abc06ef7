// Protocol signers: a signature verifies over the message written behind the protocol's prefix
// (no copy), and only for that protocol.
import { describe, expect, it } from 'vitest'
import { nativeSuite } from '../../src/crypto/native.js'
import { createSignerIssuer, protocolSignaturePrefix, protocolSignedBytes, verifyPrefixedSignature } from '../../machines/lib/signer.js'
import { prefixedSignedBytes, signedBytes, PUBSUB_SIGNATURE_PREFIX } from '../../machines/pubsub/wire.js'

const secret = new Uint8Array(32).fill(9)
const issuer = createSignerIssuer(nativeSuite, secret)
const signer = issuer.issue('/test/sign/1')
const message = new TextEncoder().encode('hello')

function prefixed(protocol: string, bytes: Uint8Array): Uint8Array {
  const prefix = protocolSignaturePrefix(protocol)
  const out = new Uint8Array(prefix.length + bytes.length)
  out.set(prefix)
  out.set(bytes, prefix.length)
  return out
}

describe('verifyPrefixedSignature', () => {
  const signature = signer.sign(message)

  it('accepts the message behind its protocol prefix, as the signer signed it', () => {
    expect(prefixed('/test/sign/1', message)).toEqual(protocolSignedBytes('/test/sign/1', message))
    expect(verifyPrefixedSignature(nativeSuite, '/test/sign/1', signature, prefixed('/test/sign/1', message), signer.publicKey)).toBe(true)
  })

  it('refuses another protocol, a changed message, and bytes shorter than the prefix', () => {
    expect(verifyPrefixedSignature(nativeSuite, '/test/other/1', signature, prefixed('/test/sign/1', message), signer.publicKey)).toBe(false)
    expect(verifyPrefixedSignature(nativeSuite, '/test/other/1', signature, prefixed('/test/other/1', message), signer.publicKey)).toBe(false)
    const changed = prefixed('/test/sign/1', message)
    changed[changed.length - 1] ^= 1
    expect(verifyPrefixedSignature(nativeSuite, '/test/sign/1', signature, changed, signer.publicKey)).toBe(false)
    expect(verifyPrefixedSignature(nativeSuite, '/test/sign/1', signature, new Uint8Array(3), signer.publicKey)).toBe(false)
  })
})

describe('prefixedSignedBytes', () => {
  it('writes the signed bytes of signedBytes behind the prefix, with room for the signature', () => {
    const data = new Uint8Array(100).fill(4)
    const plain = signedBytes('12D3Koo', 7, 'tëpic', data)
    const { buffer, end } = prefixedSignedBytes(PUBSUB_SIGNATURE_PREFIX, '12D3Koo', 7, 'tëpic', data)
    expect(buffer.subarray(0, PUBSUB_SIGNATURE_PREFIX.length)).toEqual(PUBSUB_SIGNATURE_PREFIX)
    expect(buffer.subarray(PUBSUB_SIGNATURE_PREFIX.length, end)).toEqual(plain.buffer.subarray(0, plain.signedLength))
    expect(buffer.length - end).toBe(64)
  })
})
