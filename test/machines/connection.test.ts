/**
 * The connection machine alone: every transition, with a stubbed handshake, a recording parent
 * and a simulated clock (see connection-harness.ts). No shell, no sockets, no real time.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { Reasons } from '../../machines/vocab.js'
import {
  CONTROL_PROTOCOL, HANDSHAKE_PROTOCOL, HELLO, PEER_B, TIMEOUTS, failWrite, failure, inboundInput, openOutbound, outboundInput,
  ping, pong, ready, startConnection, success,
} from './connection-harness.js'

describe('connection machine: the way to open', () => {
  it('dial → opened → handshaking → confirming → (ready) → authenticating → accepted → open, with the effects of each step', () => {
    const h = startConnection(outboundInput())
    expect(h.state()).toBe('dialing')
    expect(h.drain()).toEqual({ effects: [{ type: 'effect.dial', dialId: 1, url: 'memory://b' }], toParent: [] })

    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    expect(h.state()).toBe('handshaking.awaitingResponse')
    // The initiator writes the first handshake message (-> e) at once, unencrypted.
    expect(h.drain()).toEqual({ effects: [{ type: 'effect.send', connId: 5, protocol: HANDSHAKE_PROTOCOL, body: HELLO }], toParent: [] })

    const out = success()
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: out })
    // The initiator's handshake is done when it sent message 3 (in the clear, before the keys go
    // in), but the root is not asked yet.
    expect(h.state()).toBe('confirming')
    expect(h.drain()).toEqual({
      effects: [
        { type: 'effect.send', connId: 5, protocol: HANDSHAKE_PROTOCOL, body: HELLO },
        { type: 'effect.secure', connId: 5, keys: out.ok && out.keys },
      ],
      toParent: [{ type: 'conn.secured', key: 'd1', peer: PEER_B, handshakeHash: out.ok && out.handshakeHash }],
    })
    expect(h.conn.getSnapshot().context.peer).toBe(PEER_B)
    // The Noise state (with the ephemeral secret) is gone once the handshake is done.
    expect(h.conn.getSnapshot().context.hs).toBeNull()

    h.send(ready())
    expect(h.state()).toBe('authenticating')
    expect(h.drain()).toEqual({
      effects: [],
      toParent: [{ type: 'conn.authenticated', key: 'd1', peer: PEER_B, handshakeHash: out.ok && out.handshakeHash, direction: 'outbound' }],
    })

    h.send({ type: 'conn.accepted' })
    expect(h.state()).toBe('open.idle')
    expect(h.conn.getSnapshot().context.wasOpen).toBe(true)
    expect(h.drain()).toEqual({ effects: [], toParent: [] })
  })

  it('inbound: handshaking (message 1 read, 2 sent, 3 read) → authenticating (asks the root), and on acceptance sends its ready', () => {
    const h = startConnection(inboundInput())
    // The responder waits for message 1 (-> e), answers it (<- e, ee, s, es), and waits for message 3.
    expect(h.state()).toBe('handshaking.awaitingInitiation')
    expect(h.drain().effects).toEqual([])
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: new Uint8Array([0, 7]) })
    expect(h.state()).toBe('handshaking.awaitingFinish')
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 7, protocol: HANDSHAKE_PROTOCOL, body: HELLO }])
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success('AnyPeer') })
    expect(h.state()).toBe('authenticating')
    const step = h.drain()
    expect(step.effects.map((e) => e.type)).toEqual(['effect.secure'])
    expect(step.toParent).toEqual([expect.objectContaining({ type: 'conn.authenticated', key: 'c7', peer: 'AnyPeer', direction: 'inbound' })])
    h.send({ type: 'conn.accepted' })
    expect(h.state()).toBe('open.idle')
    // The key confirmation for the initiator: one encrypted control frame, sent only once accepted.
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 7, protocol: CONTROL_PROTOCOL, body: [2, 0] }])
  })

  it('an outbound dial without a peer id accepts any peer id', () => {
    const h = startConnection(outboundInput({ expectedPeer: undefined }))
    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success('Someone') })
    expect(h.state()).toBe('confirming')
  })
})

describe('connection machine: failures before open', () => {
  it('dial failed → closed, conn.ended with the transport reason, no close effect', () => {
    const h = startConnection(outboundInput())
    h.drain()
    h.send({ type: 'io.dial.failed', reason: 'connection-refused' })
    expect(h.state()).toBe('closed')
    const { effects, toParent } = h.drain()
    expect(effects).toEqual([])
    expect(toParent[0]).toEqual({
      type: 'conn.ended', key: 'd1', connId: undefined, dialId: 1, peer: null, expectedPeer: PEER_B,
      address: `memory://b/p2p/${PEER_B}`, direction: 'outbound', wasOpen: false, reason: 'connection-refused',
    })
    expect(h.conn.getSnapshot().status).toBe('done')
  })

  it('dial timeout: nothing before `dial` ms, closed with dial-timeout at `dial` ms', () => {
    const h = startConnection(outboundInput())
    h.drain()
    h.advance(TIMEOUTS.dial - 1)
    expect(h.state()).toBe('dialing')
    h.advance(1)
    expect(h.state()).toBe('closed')
    const d = h.drain()
    expect(d.effects).toEqual([{ type: 'effect.cancelDial', dialId: 1 }]) // the shell aborts the socket
    expect(d.toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.dialTimeout, wasOpen: false })
  })

  it('conn.close while dialing → closed with that reason, and the dial is cancelled', () => {
    const h = startConnection(outboundInput())
    h.drain()
    h.send({ type: 'conn.close', reason: Reasons.swarmClosed })
    expect(h.state()).toBe('closed')
    const d = h.drain()
    expect(d.effects).toEqual([{ type: 'effect.cancelDial', dialId: 1 }])
    expect(d.toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.swarmClosed })
  })

  it('handshake timeout → closing with handshake-timeout; the close effect carries it; the transport reason does not replace it', () => {
    const h = startConnection(outboundInput())
    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    h.drain()
    h.advance(TIMEOUTS.handshake - 1)
    expect(h.state()).toBe('handshaking.awaitingResponse')
    h.advance(1)
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 5, reason: Reasons.handshakeTimeout }])
    h.send({ type: 'io.conn.closed', reason: 'closed-by-remote', byRemote: true })
    expect(h.state()).toBe('closed')
    expect(h.drain().toParent[0]).toMatchObject({ type: 'conn.ended', connId: 5, reason: Reasons.handshakeTimeout })
  })

  it('a handshake failure closes with the handshake\'s reason', () => {
    const h = startConnection(inboundInput())
    h.drain()
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: failure('handshake-bad-signature') })
    expect(h.state()).toBe('closing')
    const { effects, toParent } = h.drain()
    expect(effects).toEqual([{ type: 'effect.close', connId: 7, reason: 'handshake-bad-signature' }])
    expect(toParent).toEqual([])
  })

  it('peer-id mismatch: expectedPeer ≠ the authenticated peer → closing with peer-id-mismatch, no keys, no accept request', () => {
    const h = startConnection(outboundInput())
    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    h.drain()
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success('PeerX') })
    expect(h.state()).toBe('closing')
    expect(h.drain()).toEqual({ effects: [{ type: 'effect.close', connId: 5, reason: Reasons.peerIdMismatch }], toParent: [] })
    h.send({ type: 'io.conn.closed', reason: Reasons.peerIdMismatch, byRemote: false })
    expect(h.drain().toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.peerIdMismatch, peer: null, wasOpen: false })
  })

  it('a handshake step that fails while writing closes with its reason and sends nothing', () => {
    for (const input of [outboundInput(), inboundInput()]) {
      const h = startConnection(input)
      if (input.direction === 'outbound') h.send({ type: 'io.conn.opened', connId: 7, remoteAddr: 'memory://b' })
      h.drain()
      h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: failWrite('handshake-bad-config') })
      expect(h.state()).toBe('closing')
      expect(h.drain()).toEqual({ effects: [{ type: 'effect.close', connId: 7, reason: 'handshake-bad-config' }], toParent: [] })
      expect(h.conn.getSnapshot().context.hs).toBeNull()
    }
  })

  it('a non-handshake frame during the handshake is a protocol violation', () => {
    const h = startConnection(inboundInput())
    h.drain()
    h.send(ping(1))
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 7, reason: Reasons.protocolViolation }])
  })

  it('io.conn.invalid during the handshake closes with the shell\'s reason', () => {
    const h = startConnection(inboundInput())
    h.drain()
    h.send({ type: 'io.conn.invalid', reason: 'frame-malformed' })
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 7, reason: 'frame-malformed' }])
  })

  it('the remote hangs up during the handshake → closed at once with its reason', () => {
    const h = startConnection(inboundInput())
    h.send({ type: 'io.conn.closed', reason: 'connection-lost', byRemote: true })
    expect(h.state()).toBe('closed')
    expect(h.toParent[0]).toMatchObject({ type: 'conn.ended', reason: 'connection-lost', wasOpen: false })
  })

  it('confirming: answers pings; any other frame before ready is a protocol violation', () => {
    const h = startConnection(outboundInput())
    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success() })
    h.drain()
    h.send(ping(4))
    expect(h.state()).toBe('confirming')
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [1, 4] }])
    h.send({ type: 'conn.frame', protocol: '/xswarm/ping/1', body: [0, 1] })
    expect(h.state()).toBe('closing')
    expect(h.drain()).toEqual({ effects: [{ type: 'effect.close', connId: 5, reason: Reasons.protocolViolation }], toParent: [] })
  })

  it('confirming: the responder refusing (closing with its reason) ends the dial with that reason, never accepted', () => {
    const h = startConnection(outboundInput())
    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success() })
    h.drain()
    h.send({ type: 'io.conn.closed', reason: Reasons.privateNetwork, byRemote: true })
    expect(h.state()).toBe('closed')
    const d = h.drain()
    expect(d.toParent.filter((e) => e.type === 'conn.authenticated')).toEqual([])
    expect(d.toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.privateNetwork, wasOpen: false, peer: PEER_B })
  })

  it('confirming: no ready within the handshake timeout → closing with handshake-timeout; conn.close and io.conn.invalid close too', () => {
    const h = startConnection(outboundInput())
    h.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
    h.advance(TIMEOUTS.handshake - 10)
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success() })
    expect(h.state()).toBe('confirming')
    h.drain()
    h.advance(TIMEOUTS.handshake - 1)
    expect(h.state()).toBe('confirming')
    h.advance(1)
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 5, reason: Reasons.handshakeTimeout }])

    for (const [event, reason] of [
      [{ type: 'conn.close', reason: Reasons.swarmClosed }, Reasons.swarmClosed],
      [{ type: 'io.conn.invalid', reason: 'decrypt-failed' }, 'decrypt-failed'],
    ] as const) {
      const g = startConnection(outboundInput())
      g.send({ type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' })
      g.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success() })
      g.drain()
      g.send(event)
      expect(g.state()).toBe('closing')
      expect(g.drain().effects).toEqual([{ type: 'effect.close', connId: 5, reason }])
    }
  })

  it('authenticating: answers pings, closes on conn.close (a duplicate) and on io.conn.invalid', () => {
    const h = startConnection(inboundInput())
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: new Uint8Array([0, 7]) })
    h.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success() })
    h.drain()
    h.send(ping(3))
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 7, protocol: CONTROL_PROTOCOL, body: [1, 3] }])
    h.send({ type: 'conn.close', reason: Reasons.duplicate })
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 7, reason: Reasons.duplicate }])

    const g = startConnection(inboundInput())
    g.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success() })
    g.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: new Uint8Array([0, 7]) })
    g.send({ type: 'io.conn.invalid', reason: 'decrypt-failed' })
    expect(g.state()).toBe('closing')
    expect(g.effects.at(-1)).toEqual({ type: 'effect.close', connId: 7, reason: 'decrypt-failed' })
  })
})

describe('connection machine: keep-alive while open', () => {
  it('pings after keepAlive of idle time; the pong returns to idle; the next ping follows keepAlive later', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.drain()
    h.advance(TIMEOUTS.keepAlive - 1)
    expect(h.drain().effects).toEqual([])
    h.advance(1)
    expect(h.state()).toBe('open.awaitingPong')
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [0, 1] }])
    h.advance(TIMEOUTS.pingTimeout - 1)
    h.send(pong(1))
    expect(h.state()).toBe('open.idle')
    h.advance(TIMEOUTS.keepAlive)
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [0, 2] }])
    // The pong timer of the first ping was cancelled: still open.
    expect(h.state()).toBe('open.awaitingPong')
  })

  it('no pong within pingTimeout → closing with ping-timeout, and conn.ended says it was open', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.advance(TIMEOUTS.keepAlive)
    h.drain()
    h.advance(TIMEOUTS.pingTimeout - 1)
    expect(h.state()).toBe('open.awaitingPong')
    h.advance(1)
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 5, reason: Reasons.pingTimeout }])
    h.send({ type: 'io.conn.closed', reason: Reasons.pingTimeout, byRemote: false })
    expect(h.drain().toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.pingTimeout, wasOpen: true, peer: PEER_B, connId: 5 })
  })

  it('answers the remote\'s pings in either sub-state; a ping of the remote is traffic, so ours waits for keepAlive after it', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.drain()
    h.advance(1000)
    h.send(ping(77))
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [1, 77] }])
    h.advance(TIMEOUTS.keepAlive)
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [0, 1] }])
    h.send(ping(78))
    expect(h.state()).toBe('open.awaitingPong')
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [1, 78] }])
  })

  it('a connection that receives traffic sends no ping, however long it stays open', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.drain()
    // A frame of some protocol every keepAlive - 1 ms (the root stamps it; the connection sees no event).
    for (let i = 0; i < 20; i++) {
      h.advance(TIMEOUTS.keepAlive - 1)
      h.hear()
    }
    expect(h.drain().effects).toEqual([])
    expect(h.state()).toBe('open.idle')
    expect(h.conn.getSnapshot().context.pingSeq).toBe(0)
  })

  it('an idle connection pings keepAlive after the last frame it received, not on a fixed period', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.advance(TIMEOUTS.keepAlive - 200)
    h.hear()
    h.drain()
    h.advance(TIMEOUTS.keepAlive - 1)
    expect(h.drain().effects).toEqual([])
    expect(h.state()).toBe('open.idle')
    h.advance(1)
    expect(h.state()).toBe('open.awaitingPong')
    expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [0, 1] }])
  })

  it('a remote that goes silent after traffic is closed keepAlive + pingTimeout after its last frame', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.advance(TIMEOUTS.keepAlive - 1)
    h.hear()
    h.advance(TIMEOUTS.keepAlive - 1)
    h.hear() // the last frame: nothing comes after it
    h.drain()
    h.advance(TIMEOUTS.keepAlive + TIMEOUTS.pingTimeout - 1)
    expect(h.state()).toBe('open.awaitingPong')
    h.advance(1)
    expect(h.state()).toBe('closing')
    expect(h.drain().effects).toEqual([
      { type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [0, 1] },
      { type: 'effect.close', connId: 5, reason: Reasons.pingTimeout },
    ])
  })

  it('traffic while a ping waits for its pong does not stand in for the pong', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.advance(TIMEOUTS.keepAlive)
    expect(h.state()).toBe('open.awaitingPong')
    h.advance(TIMEOUTS.pingTimeout - 1)
    h.hear()
    h.advance(1)
    expect(h.state()).toBe('closing')
  })

  it('a repeated pong of the last ping is ignored while idle', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.advance(TIMEOUTS.keepAlive)
    h.send(pong(1))
    h.send(pong(1))
    expect(h.state()).toBe('open.idle')
  })

  it('protocol violations while open: a frame of another protocol, a malformed control frame, an unexpected pong', () => {
    for (const frame of [
      { type: 'conn.frame', protocol: '/other/1', body: 1 },
      { type: 'conn.frame', protocol: CONTROL_PROTOCOL, body: [2, 1] },
      { type: 'conn.frame', protocol: CONTROL_PROTOCOL, body: 'ping' },
      pong(9),
      ready(),
      { type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: new Uint8Array(3) },
    ]) {
      const h = startConnection(outboundInput())
      openOutbound(h)
      h.drain()
      h.send(frame)
      expect(h.state(), JSON.stringify(frame)).toBe('closing')
      expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 5, reason: Reasons.protocolViolation }])
    }
  })

  it('io.conn.invalid while open closes with the shell\'s reason', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.drain()
    h.send({ type: 'io.conn.invalid', reason: 'rate-limit' })
    expect(h.drain().effects).toEqual([{ type: 'effect.close', connId: 5, reason: 'rate-limit' }])
  })
})

describe('connection machine: closing', () => {
  it('conn.close → effect.close with the reason → io.conn.closed → closed + conn.ended with that reason', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.drain()
    h.send({ type: 'conn.close', reason: Reasons.hungUp })
    expect(h.state()).toBe('closing')
    expect(h.drain()).toEqual({ effects: [{ type: 'effect.close', connId: 5, reason: Reasons.hungUp }], toParent: [] })
    // A second close request while closing does nothing.
    h.send({ type: 'conn.close', reason: Reasons.swarmClosed })
    expect(h.drain()).toEqual({ effects: [], toParent: [] })
    h.send({ type: 'io.conn.closed', reason: Reasons.hungUp, byRemote: false })
    expect(h.state()).toBe('closed')
    const ended = h.drain().toParent
    expect(ended[0]).toEqual({
      type: 'conn.ended', key: 'd1', connId: 5, dialId: 1, peer: PEER_B, expectedPeer: PEER_B,
      address: `memory://b/p2p/${PEER_B}`, direction: 'outbound', wasOpen: true, reason: Reasons.hungUp,
    })
    expect(ended[1]).toMatchObject({ type: 'xstate.done.actor.d1' })
    expect(h.conn.getSnapshot().status).toBe('done')
  })

  it('the remote closes while open → closed with the remote\'s reason, no close effect', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.drain()
    h.send({ type: 'io.conn.closed', reason: Reasons.swarmClosed, byRemote: true })
    expect(h.state()).toBe('closed')
    const d = h.drain()
    expect(d.effects).toEqual([])
    expect(d.toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.swarmClosed, wasOpen: true })
  })

  it('close timeout: closed anyway `close` ms after closing began', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.send({ type: 'conn.close', reason: Reasons.duplicate })
    h.drain()
    h.advance(TIMEOUTS.close - 1)
    expect(h.state()).toBe('closing')
    h.advance(1)
    expect(h.state()).toBe('closed')
    expect(h.drain().toParent[0]).toMatchObject({ type: 'conn.ended', reason: Reasons.duplicate, wasOpen: true })
  })

  it('no timer of an earlier state fires after the connection closed', () => {
    const h = startConnection(outboundInput())
    openOutbound(h)
    h.send({ type: 'io.conn.closed', reason: 'connection-lost', byRemote: true })
    const n = h.effects.length + h.toParent.length
    h.advance(60_000)
    expect(h.effects.length + h.toParent.length).toBe(n)
  })
})
