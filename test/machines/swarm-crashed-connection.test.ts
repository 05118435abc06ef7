/**
 * A connection actor that throws (a bug in it: its chart has a reason for every way out, so
 * nothing a peer sends should make it throw) is a connection that ended with reason
 * `internal-error`. The root closes its socket (or cancels its dial), reports `swarm.error`
 * `connection-failed`, and routes the end as it routes any `conn.ended`: to its peer's chart
 * (swarm/peer.machine.ts), as a failed dial, or only forgotten. Here a connection is made to
 * throw by an event whose field one of its guards or actions reads throws.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { Ev } from './model-walk.js'
import { connectX, opened, probing, startRunningRoot, X } from './swarm-fixtures.js'

function startRoot() {
  const { root, out, send } = startRunningRoot()
  const context = () => root.getSnapshot().context
  return {
    root, context,
    send: (...events: Ev[]) => { for (const e of events) send(e) },
    /** Take what the root emitted so far, of these types. */
    take: (...types: string[]) => out.splice(0).filter((e) => types.includes(e.type)),
    /**
     * Make connection `key`'s actor throw while it handles `type` (a frame while handshaking,
     * the socket's opening while dialing): the field its guard or action reads throws.
     */
    crash: (key: string, type: 'conn.frame' | 'io.conn.opened', field: 'protocol' | 'connId') => {
      const event = { type, get [field](): never { throw new Error('a bug in a connection action') } }
      context().conns.get(key)!.ref.send(event as never)
    },
  }
}

const failure = (key: string) => ({ type: 'swarm.error', code: 'connection-failed', message: expect.stringMatching(new RegExp(`^${key}: [^]*a bug in a connection action$`)) })

describe('a connection actor that throws ends like a connection that closed, with reason internal-error', () => {
  it("the peer's connection: the peer is disconnected (internal-error), its socket closed, nothing left", () => {
    const r = startRoot()
    r.send(...connectX)
    expect(r.take('peer.connected')).toMatchObject([{ peer: X }])
    r.crash('c1', 'conn.frame', 'protocol')
    expect(r.take('effect.close', 'swarm.error', 'peer.disconnected')).toEqual([
      { type: 'effect.close', connId: 1, reason: 'internal-error' },
      failure('c1'),
      { type: 'peer.disconnected', peer: X, reason: 'internal-error' },
    ])
    expect([r.context().conns.size, r.context().peers.size, r.context().byConnId.size]).toEqual([0, 0, 0])
    expect(r.root.getSnapshot().status).toBe('active')
  })

  it('the connection being probed: the peer moves to the connection waiting for the probe, with no disconnect', () => {
    const r = startRoot()
    r.send(...probing)
    r.take()
    r.crash('c1', 'conn.frame', 'protocol')
    const out = r.take('effect.close', 'effect.bind', 'swarm.error', 'peer.disconnected', 'peer.connected')
    expect(out).toEqual([
      { type: 'effect.close', connId: 1, reason: 'internal-error' },
      failure('c1'),
      { type: 'effect.bind', peer: X, connId: 2 },
    ])
    expect(r.context().peers.get(X)).toMatchObject({ state: 'connected', key: 'c2' })
    expect([...r.context().conns.keys()]).toEqual(['c2'])
    expect(r.context().conns.get('c2')!.awaitingProbe).toBe(false)
  })

  it('the connection waiting for a probe: the probe goes on without it, and its failure leaves the root running', () => {
    const r = startRoot()
    r.send(...probing)
    r.take()
    r.crash('c2', 'conn.frame', 'protocol')
    expect(r.take('effect.close', 'swarm.error', 'peer.disconnected')).toEqual([{ type: 'effect.close', connId: 2, reason: 'internal-error' }, failure('c2')])
    expect(r.context().peers.get(X)).toMatchObject({ state: 'connected', key: 'c1' })
    r.send({ type: 'conn.probe.failed', key: 'c1' })
    expect(r.root.getSnapshot().status).toBe('active')
    expect(r.context().peers.get(X)).toMatchObject({ state: 'connected', key: 'c1' })
  })

  it('an inbound connection before its handshake: reported once, as the failure, not also as a refused connection', () => {
    const r = startRoot()
    r.send(opened(1))
    r.take()
    r.crash('c1', 'conn.frame', 'protocol')
    r.send({ type: 'io.conn.opened', connId: 2, remoteAddr: 'memory://r2' }) // a later input: a queued refusal would show by now
    expect(r.take('effect.close', 'swarm.error', 'connection.refused')).toEqual([{ type: 'effect.close', connId: 1, reason: 'internal-error' }, failure('c1')])
    expect([...r.context().conns.keys()]).toEqual(['c2'])
  })

  it('a dial: dial.failed internal-error (with the peer it was to reach), the dial cancelled and its slot freed', () => {
    const r = startRoot()
    const address = `memory://y/p2p/${X}`
    r.send({ type: 'cmd.dial', address, url: 'memory://y', peer: X })
    r.take()
    r.crash('d1', 'io.conn.opened', 'connId')
    expect(r.take('effect.cancelDial', 'swarm.error', 'dial.failed')).toEqual([
      { type: 'effect.cancelDial', dialId: 1 },
      failure('d1'),
      { type: 'dial.failed', address, reason: 'internal-error', peer: X },
    ])
    expect([r.context().conns.size, r.context().byDialId.size]).toEqual([0, 0])
    r.send({ type: 'cmd.dial', address: 'memory://z', url: 'memory://z' })
    expect(r.take('dial.failed', 'effect.dial')).toMatchObject([{ type: 'effect.dial', dialId: 2 }])
  })

  it('while the swarm closes: its peer is disconnected and the swarm closes', () => {
    const r = startRoot()
    r.send(...connectX, { type: 'cmd.close' })
    r.take()
    // A closing connection reads nothing of the events it still takes: its error is delivered as XState delivers one.
    r.send({ type: 'xstate.error.actor.c1', error: new Error('a bug in a connection action') })
    expect(r.take('peer.disconnected', 'swarm.closed')).toEqual([
      { type: 'peer.disconnected', peer: X, reason: 'internal-error' },
      { type: 'swarm.closed' },
    ])
    expect(r.root.getSnapshot().status).toBe('done')
  })
})
