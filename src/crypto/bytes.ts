/**
 * Small byte helpers shared by the Node suites (./openssl.ts, ./sodium.ts).
 * @module
 */

/** The ChaCha20-Poly1305 tag after every ciphertext. */
export const TAG_LENGTH = 16

/** A plain Uint8Array over a Buffer's bytes (no copy): what the machines get. */
export function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** Whether every byte is zero (an X25519 result from a low-order point); reads them all. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]
  return acc === 0
}

/** Throws for a local secret key (Ed25519 seed or X25519 scalar) that is not 32 bytes. */
export function checkSecretKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('"secretKey" expected Uint8Array of length 32')
}
