/**
 * Frames out: encodes a protocol body once per settle, however many connections it goes to,
 * and an object in a body's lists once per settle, however many bodies it is in.
 *
 * A protocol that sends the same body object to several peers in one settle (pubsub forwarding
 * a message to its mesh) has it encoded once. When the bodies differ but share items (each
 * peer's RPC with the forwarded message and other parts), each shared item is encoded once and
 * copied into every frame it is in (src/codec/shared-items.ts; the bytes are the same as
 * encoding each body whole). The pump calls `forget()` after every input, so a body or item
 * mutated between settles is encoded again (an emitted body is data handed over: it is not
 * mutated within the settle that emitted it).
 * @module
 */
import { encodeFrame, type CodecLimits } from '../codec/frame.js'
import { encodeSharedFrame, sharesItems } from '../codec/shared-items.js'

export class FrameEncoder {
  private readonly codec: CodecLimits
  private lastBody: unknown = undefined
  private lastProtocol = ''
  private lastFrame: Uint8Array | null = null
  /** The encoded items of this settle's bodies' lists, by object. */
  private readonly items = new Map<object, Uint8Array>()

  constructor(codec: CodecLimits) {
    this.codec = codec
  }

  /** The frame `[protocol, body]` as bytes; throws a CodecError for a body that cannot travel. */
  encode(protocol: string, body: unknown): Uint8Array {
    if (this.lastFrame !== null && body === this.lastBody && protocol === this.lastProtocol && typeof body === 'object') {
      return this.lastFrame
    }
    const bytes = sharesItems(body) ? encodeSharedFrame(protocol, body, this.codec, this.items) : encodeFrame(protocol, body, this.codec)
    this.lastBody = body
    this.lastProtocol = protocol
    this.lastFrame = bytes
    return bytes
  }

  /** Called after every input (see the module comment). */
  forget(): void {
    this.lastBody = undefined
    this.lastFrame = null
    if (this.items.size > 0) this.items.clear()
  }
}
