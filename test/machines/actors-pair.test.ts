/**
 * The per-pair at-least-once delivery chart (machines/actors/pair.machine.ts) alone: an
 * xstate/graph walk over every event reaches each state by the paths the README describes,
 * and pairs.ts's pure stepping turns the chart's timer and actions into the protocol's
 * delayed events, cancels and frames.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { getShortestPaths, getSimplePaths } from 'xstate/graph'
import { pairMachine, RESEND_DUE, type PairEvent } from '../../machines/actors/pair.machine.js'
import { openPair, stepPair, onPairDue, onSweep, pairKey } from '../../machines/actors/pairs.js'
import { createContext, type Out } from '../../machines/actors/context.js'
import { DEFAULT_ACTOR_LIMITS, DEFAULT_ACTOR_TIMEOUTS } from '../../machines/actors/options.js'
import { ActorCodes, type ActorMessage } from '../../machines/actors/wire.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'

const RESEND = RESEND_DUE
const EVENTS: Array<PairEvent | { type: string; resendMs: number }> = [
  { type: 'pair.pending', connected: true, resendMs: 500 }, { type: 'pair.pending', connected: false, resendMs: 500 },
  { type: 'pair.settled' }, { type: 'peer.lost' }, { type: 'peer.connected', resendMs: 500 },
  { type: 'pair.refused', code: ActorCodes.noSuchActor }, { type: 'pair.refused', code: ActorCodes.overloaded },
  { type: 'pair.swept' }, { type: 'pair.evicted' }, { type: RESEND, resendMs: 500 },
]
const walk = { events: EVENTS } as never
const name = (value: unknown): string => typeof value === 'string' ? value : Object.entries(value as object).map(([k, v]) => `${k}.${name(v)}`).join()
const stepsOf = (path: { steps: Array<{ event: { type: string; connected?: boolean; code?: string } }> }) =>
  path.steps.slice(1).map(({ event: e }) => e.type + (e.connected !== undefined ? `(${e.connected})` : '') + (e.code !== undefined ? `(${e.code})` : ''))

describe('the per-pair delivery chart (xstate/graph)', () => {
  it('every state is reachable, each by its shortest path', () => {
    const paths = Object.fromEntries(getShortestPaths(pairMachine, walk).map((p) => [name(p.state.value), stepsOf(p)]))
    expect(paths).toEqual({
      'idle.fresh': [],
      'idle.marked': ['pair.swept'],
      'unacked.inFlight': ['pair.pending(true)'],
      'unacked.waitingForPeer': ['pair.pending(false)'],
      forgotten: ['pair.refused(no-such-actor)'],
    })
  })

  it('the pair is forgotten only with nothing unacknowledged: two sweeps while idle, its receiver gone, or evicted', () => {
    const ways = getSimplePaths(pairMachine, { ...(walk as object), toState: (s: { value: unknown }) => s.value === 'forgotten' } as never)
    const lasts = new Set(ways.map((p) => stepsOf(p).at(-1)))
    expect(lasts).toEqual(new Set(['pair.swept', 'pair.refused(no-such-actor)', 'pair.evicted']))
    // From `unacked` (events wait for acknowledgements) only a refusal saying the receiver is
    // gone leads to `forgotten`: sweeps and evictions never drop unacknowledged events.
    for (const p of ways) {
      const before = p.steps.at(-2)!.state as unknown as { matches(v: unknown): boolean }
      if (before.matches('unacked')) expect(stepsOf(p).at(-1)).toBe('pair.refused(no-such-actor)')
    }
    expect(ways.some((p) => (p.steps.at(-2)!.state as unknown as { matches(v: unknown): boolean }).matches('unacked'))).toBe(true)
  })

  it('a lost connection stops the resend timer; the connection back sends everything again', () => {
    const paths = getSimplePaths(pairMachine, { ...(walk as object), toState: (s: { matches(v: unknown): boolean }) => s.matches({ unacked: 'inFlight' }) } as never)
    const viaReconnect = paths.map(stepsOf).find((s) => s.includes('peer.connected'))
    expect(viaReconnect).toEqual(['pair.pending(false)', 'peer.connected'])
  })
})

describe('stepping a pair (pairs.ts)', () => {
  const PEER = 'B'.repeat(44)
  const fresh = () => createContext({
    peerId: 'M'.repeat(44), protocol: '/xswarm/actors/1', seed: new Uint8Array(32), addresses: [],
    options: { limits: DEFAULT_ACTOR_LIMITS, timeouts: DEFAULT_ACTOR_TIMEOUTS, offered: [] },
    crypto: nobleSuite,
  } as never)
  const msg = (seq: number, epoch: number): ActorMessage => ({ k: 'msg', to: 'r', from: 's', event: { type: 'e' }, refs: [], trace: 't', seq, epoch })

  it('pending arms one timer per pair; due, it resends what was sent before its last look; settled cancels it', () => {
    const ctx = fresh()
    ctx.connected.add(PEER)
    const out: Out[] = []
    const pair = openPair(ctx, 's', PEER, `/p2p/${PEER}`, 'r', out)!
    const key = pairKey('s', PEER, 'r')
    pair.unacked.set(++pair.seq, msg(pair.seq, pair.epoch))
    stepPair(ctx, key, pair, { type: 'pair.pending', connected: true }, out)
    const timer = out.find((o) => o.kind === 'later' && o.event.type === 'actors.pairDue')
    expect(timer).toMatchObject({ delay: DEFAULT_ACTOR_TIMEOUTS.redialMin, id: `pair:${pair.epoch}`, event: { key, epoch: pair.epoch, event: RESEND } })
    // First look: nothing was sent before it; second: event 1 goes again.
    const due = () => { const o: Out[] = []; onPairDue(ctx, key, pair.epoch, RESEND, o); return o }
    expect(due().filter((o) => o.kind === 'wire')).toHaveLength(0)
    expect(due().filter((o) => o.kind === 'wire')).toHaveLength(1)
    pair.unacked.clear()
    const settled: Out[] = []
    stepPair(ctx, key, pair, { type: 'pair.settled' }, settled)
    expect(settled).toEqual([{ kind: 'cancel', id: `pair:${pair.epoch}` }])
    expect(pair.state).toBe(JSON.stringify({ idle: 'fresh' }))
    // A stale timer (another pair epoch) is ignored.
    const stale: Out[] = []
    onPairDue(ctx, key, pair.epoch + 1, RESEND, stale)
    expect(stale).toEqual([])
  })

  it('two sweeps forget an idle pair; a use between them keeps it', () => {
    const ctx = fresh()
    const out: Out[] = []
    const pair = openPair(ctx, 's', PEER, `/p2p/${PEER}`, 'r', out)!
    const key = pairKey('s', PEER, 'r')
    onSweep(ctx, out)
    stepPair(ctx, key, pair, { type: 'pair.pending', connected: false }, out)
    stepPair(ctx, key, pair, { type: 'pair.settled' }, out)
    onSweep(ctx, out)
    expect(ctx.pairs.has(key)).toBe(true)
    onSweep(ctx, out)
    expect(ctx.pairs.has(key)).toBe(false)
  })
})
