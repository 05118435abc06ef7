/**
 * Frames out: encodes a protocol body once per settle, however many connections it goes to.
 *
 * A protocol that sends the same body object to several peers in one settle (pubsub forwarding
 * a message to its mesh) has it encoded once. The pump calls `forget()` after every input, so a
 * body mutated between settles is encoded again (an emitted body is data handed over: it is not
 * mutated within the settle that emitted it).
 * @module
 */
import { encodeFrame, type CodecLimits } from '../codec/frame.js'

export class FrameEncoder {
  private readonly codec: CodecLimits
  private lastBody: unknown = undefined
  private lastProtocol = ''
  private lastFrame: Uint8Array | null = null

  constructor(codec: CodecLimits) {
    this.codec = codec
  }

  /** The frame `[protocol, body]` as bytes; throws a CodecError for a body that cannot travel. */
  encode(protocol: string, body: unknown): Uint8Array {
    if (this.lastFrame !== null && body === this.lastBody && protocol === this.lastProtocol && typeof body === 'object') {
      return this.lastFrame
    }
    const bytes = encodeFrame(protocol, body, this.codec)
    this.lastBody = body
    this.lastProtocol = protocol
    this.lastFrame = bytes
    return bytes
  }

  /** Called after every input (see the module comment). */
  forget(): void {
    this.lastBody = undefined
    this.lastFrame = null
  }
}
