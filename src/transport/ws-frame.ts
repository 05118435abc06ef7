/**
 * A WebSocket frame written by hand, for `WsConn.sendParts` (ws.ts): a message whose payload is
 * several buffers (a large encrypted frame: ciphertext, then tag) goes out as ws would write it,
 * header then payload, without joining the parts first (ws's `send` takes one buffer).
 *
 * Order: ws writes each frame to the socket during `send` while its sender is idle, which with
 * deflate off and no Blobs it always is; a frame written here then lands after every earlier
 * one. `senderIdle` checks it (ws 8, lib/sender.js: state 0), and a caller that finds ws busy
 * sends the joined message through ws instead.
 * @module
 */
import type { WebSocket } from 'ws'

/** Whether ws's sender writes a frame to the socket at once (nothing of its own is queued). */
export function senderIdle(ws: WebSocket): boolean {
  return (ws as unknown as { _sender?: { _state?: number } })._sender?._state === 0
}

/**
 * The header of a final binary frame of `length` bytes (RFC 6455 5.2). `masked` (our frames on a
 * connection we dialed) sets the mask bit and a zero masking key, as ws does with the transport's
 * `zeroMask`: the payload then goes out unchanged.
 */
export function frameHeader(length: number, masked: boolean): Buffer {
  const size = length < 126 ? 2 : length < 65536 ? 4 : 10
  const header = Buffer.alloc(size + (masked ? 4 : 0))
  header[0] = 0x82
  if (size === 2) header[1] = length
  else if (size === 4) {
    header[1] = 126
    header.writeUInt16BE(length, 2)
  } else {
    header[1] = 127
    header.writeUIntBE(length, 4, 6) // bytes 2-3 stay zero: payloads below 2^48 bytes
  }
  if (masked) header[1] |= 0x80
  return header
}
