/**
 * `node:buffer`'s isUtf8 for the browser build (package.json `browser` maps node:buffer here):
 * a fatal TextDecoder refuses invalid UTF-8 the same way.
 * @module
 */
const fatal = new TextDecoder('utf-8', { fatal: true })

export function isUtf8(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes)
    return true
  } catch {
    return false
  }
}
