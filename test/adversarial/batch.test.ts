/**
 * Batch frames from a peer that completed a correct handshake, over real WebSockets: a batch's
 * parts are served in order like frames sent alone; a batch of more than 256 parts, a body that
 * is not an array of frames, or a batch inside a batch closes the connection with its reason.
 */
import { describe, expect, it } from 'vitest'
import { BATCH_PROTOCOL, MAX_BATCH_PARTS, encodeBatch } from '../../src/codec/batch.js'
import { encodeFrame } from '../../src/codec/frame.js'
import { RawPeer, Target, rawIdentity, useFaultRecorder } from '../helpers/raw-peer.js'

let target: Target | undefined
useFaultRecorder(() => target)

const PING = '/xswarm/ping/1'

async function attacker(): Promise<{ peer: RawPeer; id: string; node: Target }> {
  target ??= await Target.start({ limits: { maxFramesPerSecond: 2000 } })
  const peer = await RawPeer.connect(target.address)
  const identity = rawIdentity()
  const since = performance.now()
  await peer.handshake({ identity })
  await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000, since, 'the attacker to be accepted')
  return { peer, id: identity.peerId, node: target }
}

function batchOf(frames: Uint8Array[]): Uint8Array {
  return encodeBatch(frames, frames.reduce((n, f) => n + f.length, 0))
}

async function expectDropped(peer: RawPeer, id: string, node: Target, reason: string): Promise<void> {
  expect((await peer.waitClosed(4000)).readable).toBe(reason)
  expect(await node.disconnectReason(id)).toBe(reason)
  await node.assertHonestAlive()
}

describe('batches from a peer', () => {
  it('every ping of a batch is answered, in order', async () => {
    const { peer, node } = await attacker()
    peer.sendPlaintext(batchOf(Array.from({ length: 40 }, (_, i) => encodeFrame(PING, [0, 100 + i]))))
    const pongs: number[] = []
    while (pongs.length < 40) {
      const f = await peer.nextFrame(3000)
      if (f.protocol === PING && Array.isArray(f.body) && f.body[0] === 1) pongs.push(f.body[1] as number)
    }
    expect(pongs).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i))
    peer.terminate()
    await node.assertHonestAlive()
  })

  it(`${MAX_BATCH_PARTS + 1} parts: batch-too-large`, async () => {
    const { peer, id, node } = await attacker()
    peer.sendPlaintext(batchOf(Array.from({ length: MAX_BATCH_PARTS + 1 }, (_, i) => encodeFrame(PING, [0, i]))))
    await expectDropped(peer, id, node, 'batch-too-large')
  })

  it('a body that is not an array of frames: batch-malformed', async () => {
    const { peer, id, node } = await attacker()
    peer.sendFrame(BATCH_PROTOCOL, { not: 'frames' })
    await expectDropped(peer, id, node, 'batch-malformed')
  })

  it('a batch inside a batch: batch-malformed', async () => {
    const { peer, id, node } = await attacker()
    const inner = batchOf([encodeFrame(PING, [0, 1]), encodeFrame(PING, [0, 2])])
    peer.sendPlaintext(batchOf([encodeFrame(PING, [0, 3]), inner]))
    await expectDropped(peer, id, node, 'batch-malformed')
  })

  it('a part that is not a frame closes the connection with the codec reason', async () => {
    const { peer, id, node } = await attacker()
    peer.sendPlaintext(batchOf([encodeFrame(PING, [0, 1]), Uint8Array.of(0x91, 0xc0)]))
    await expectDropped(peer, id, node, 'frame-malformed')
  })
})
