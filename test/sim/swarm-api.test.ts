/**
 * The swarm's API as the README states it, on a simulated network: bad `createSwarm` arguments
 * throw at once (TypeError for a wrong type, RangeError for a wrong value, AddressError for an
 * address), `hangUp` without a reason says `hung-up` on both ends, and `findPeer` resolves for a
 * peer it can find and rejects with `not-found` (saying why: `no-peers`, `too-many-lookups`,
 * `cancelled` by a close), and throws `swarm-closed` once the swarm is closed.
 */
import { describe, expect, it } from 'vitest'
import { AddressError, XswarmError } from '../../src/errors.js'
import { createSwarm, type SwarmOptions } from '../../src/create-swarm.js'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm, SwarmEvent } from '../../src/swarm.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const of = (s: Swarm, type: string) => (eventsOf(s) as Array<SwarmEvent & Record<string, any>>).filter((e) => e.type === type)
const unknownPeer = '7dJyu6Geopy1acZdR7dK3zyf2D6cGybg2HcA63J5t8vx'

describe('createSwarm arguments', () => {
  const cases: Array<[string, unknown, new (...args: any[]) => Error, RegExp]> = [
    ['options not an object', 5, TypeError, /"options" expected an object/],
    ['an unknown option', { frobnicate: 1 }, RangeError, /"options.frobnicate" is not a known option/],
    ['listen not an array', { listen: 'ws://127.0.0.1:0' }, TypeError, /"options.listen"/],
    ['a bootstrap address that does not parse', { bootstrap: ['nonsense'] }, AddressError, /nonsense/],
    ['limits not an object', { limits: 5 }, TypeError, /"limits" expected an object/],
    ['a limit of the wrong type', { limits: { maxFrameBytes: 'big' } }, TypeError, /"limits.maxFrameBytes" expected a number/],
    ['a limit out of range', { limits: { maxFrameBytes: -1 } }, RangeError, /"limits.maxFrameBytes" expected a positive number/],
    ['an unknown limit', { limits: { maxFrames: 1 } }, RangeError, /"limits.maxFrames" is not a known setting/],
    ['a timeout of the wrong type', { timeouts: { dial: '1s' } }, TypeError, /"timeouts.dial" expected a number/],
    ['an actors timeout out of range', { actors: { timeouts: { protectIdle: 50 } } }, RangeError, /"actors.timeouts.protectIdle" expected an integer number of ms in 100..86400000, got 50/],
    ['swarmKey of the wrong type', { swarmKey: 'secret' }, TypeError, /"options.swarmKey" expected Uint8Array/],
    ['swarmKey of the wrong length', { swarmKey: new Uint8Array(31) }, RangeError, /length=31/],
    ['secretKey of the wrong type', { secretKey: [1, 2, 3] }, TypeError, /"options.secretKey"/],
    ['identityFile not a path', { identityFile: 5 }, TypeError, /"options.identityFile"/],
    ['seed of the wrong type', { seed: 'x' }, TypeError, /"options.seed"/],
    ['seed out of range', { seed: 1.5 }, RangeError, /"options.seed"/],
    ['crypto of the wrong type', { crypto: 5 }, TypeError, /"options.crypto"/],
    ['an unknown crypto suite', { crypto: 'fast' }, RangeError, /"options.crypto"/],
    ['protocols not an array', { protocols: 'ping' }, TypeError, /"options.protocols"/],
    ['ping options of the wrong type', { ping: 'yes' }, TypeError, /"options.ping"/],
    ['pubsub options of the wrong type', { pubsub: 5 }, TypeError, /"options.pubsub"/],
    ['a pubsub parameter out of range', { pubsub: { D: -1 } }, RangeError, /D/],
    ['discovery options of the wrong type', { discovery: 'yes' }, TypeError, /"options.discovery"/],
    ['inspect not an observer', { inspect: 5 }, TypeError, /"options.inspect"/],
    ['transports not an array', { transports: 'ws' }, TypeError, /"options.transports"/],
    ['scheduler not a scheduler', { scheduler: 5 }, TypeError, /"options.scheduler"/],
  ]
  it.each(cases)('%s: throws at once', async (_name, options, type, message) => {
    const error = await createSwarm(options as SwarmOptions).then((s) => { void s.close(); return undefined }, (e: unknown) => e)
    expect(error).toBeInstanceOf(type)
    expect((error as Error).message).toMatch(message)
  })
})

describe('hangUp and findPeer', () => {
  it('hangUp without a reason: both ends see hung-up', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    await connectSim(sim, a, b)
    a.hangUp(b.peerId)
    const r = await sim.run({ until: () => of(a, 'peer.disconnected').length > 0 && of(b, 'peer.disconnected').length > 0, forMs: 5000 })
    expect(r.satisfied).toBe(true)
    expect(of(a, 'peer.disconnected')).toEqual([{ type: 'peer.disconnected', peer: b.peerId, reason: 'hung-up' }])
    expect(of(b, 'peer.disconnected')).toEqual([{ type: 'peer.disconnected', peer: a.peerId, reason: 'hung-up' }])
  })

  it('findPeer: a connected peer at once; no-peers, too-many-lookups, not-found and a close reject with not-found; after close it throws swarm-closed', async () => {
    const sim = createSimulation()
    type Outcome = { value?: any; error?: any }
    /** Drive the simulation until every promise settled (bounded in virtual time). */
    const settleAll = async (promises: Promise<unknown>[]): Promise<Outcome[]> => {
      const out: Array<Outcome | undefined> = promises.map(() => undefined)
      promises.forEach((p, i) => p.then((value) => { out[i] = { value } }, (error: unknown) => { out[i] = { error } }))
      const r = await sim.run({ until: () => out.every((o) => o !== undefined), forMs: 120_000 })
      if (!r.satisfied) throw new Error('did not settle within 120 s of virtual time')
      return out as Outcome[]
    }
    const settle = async (promise: Promise<unknown>): Promise<Outcome> => (await settleAll([promise]))[0]
    const alone = await createSimTestSwarm(sim, { seed: 9, discovery: {} })
    const noPeers = (await settle(alone.findPeer(unknownPeer))).error
    expect(noPeers).toBeInstanceOf(XswarmError)
    expect(noPeers).toMatchObject({ code: 'not-found', message: expect.stringMatching(/no-peers/) })

    const a = await createSimTestSwarm(sim, { seed: 1, discovery: { maxLookups: 1 } })
    const b = await createSimTestSwarm(sim, { seed: 2, discovery: {} })
    await connectSim(sim, a, b)
    expect((await settle(a.findPeer(b.peerId))).value).toMatchObject({ peer: b.peerId, rounds: 0 })
    const [first, second] = await settleAll([a.findPeer(unknownPeer), a.findPeer('BkmSQLUpnXR24BD4nGZ5Le8d57b7uRA57bWTTeR98nZT')])
    expect(second.error).toMatchObject({ code: 'not-found', message: expect.stringMatching(/too-many-lookups/) })
    expect(first.error).toMatchObject({ code: 'not-found', message: expect.stringMatching(/not-found/) })

    // A lookup still running when the swarm closes is answered (not-found, closed); after the close, findPeer throws.
    const [pending] = await settleAll([a.findPeer(unknownPeer), a.close()])
    expect(pending.error).toMatchObject({ code: 'not-found', message: expect.stringMatching(/cancelled/) })
    expect(() => a.findPeer(unknownPeer)).toThrow(expect.objectContaining({ code: 'swarm-closed' }))
    // Without discovery there is nobody to ask: refused at once, like any command to a protocol not running.
    const c = await createSimTestSwarm(sim, { seed: 3, discovery: false })
    expect(() => c.findPeer(unknownPeer)).toThrow(RangeError)
  })
})
