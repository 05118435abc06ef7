/**
 * `swarm.actors.lookup(name)` over real WebSockets in one process: B hosts a counter that
 * accepts anyone, C finds it by name through A (the provider record B announced to A) and asks
 * it through the ref; an actor that accepts only its own node is not announced; bad input is a
 * typed error at once; without discovery, lookup says so.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { assign, sendTo, setup, type AnyActorRef } from 'xstate'
import { XswarmError } from '../../src/errors.js'
import type { Swarm } from '../../src/swarm.js'
import type { RemoteRef } from '../../src/actors/remote-ref.js'
import { connect, createTestSwarm, drive, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const counter = setup({ types: { context: {} as { n: number } } }).createMachine({
  context: { n: 41 },
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: sendTo(({ event }) => (event as unknown as { replyTo: AnyActorRef }).replyTo, ({ context }) => ({ type: 'count', n: context.n })) },
  },
})

async function settle<T>(swarms: Swarm[], promise: Promise<T>): Promise<{ value?: T; error?: XswarmError }> {
  let outcome: { value?: T; error?: XswarmError } | undefined
  promise.then((value) => { outcome = { value } }, (error) => { outcome = { error } })
  await drive(swarms, () => outcome !== undefined, { what: 'the promise', timeoutMs: 15_000 })
  return outcome!
}

const DISCOVERY = { lowWatermark: 0, refreshInterval: 0 }

describe('actors.lookup over WebSockets', () => {
  it('C finds B\'s counter by name through A and asks it; a local-only actor is not announced', async () => {
    const a = await createTestSwarm({ discovery: DISCOVERY })
    const b = await createTestSwarm({ discovery: DISCOVERY })
    const c = await createTestSwarm({ discovery: DISCOVERY })
    await connect(b, a)
    await connect(c, a)
    b.actors.spawn(counter, { name: 'counter', accept: 'any' })
    b.actors.spawn(counter, { name: 'private' })
    // B's announcement (a lookup for the key, then ADD_PROVIDER to A) runs as the swarms are driven.
    let refs: RemoteRef[] = []
    for (let attempt = 0; attempt < 50 && refs.length === 0; attempt++) {
      refs = (await settle([a, b, c], c.actors.lookup('counter', { timeout: 2_000 }))).value ?? []
    }
    expect(refs.map((r) => r.address)).toEqual([`${b.addresses[0]}/actor/counter`])
    const reply = await settle([a, b, c], c.actors.ask(refs[0], { type: 'get' }, { timeout: 5_000 }))
    expect(reply.value).toEqual({ type: 'count', n: 41 })

    const hidden = await settle([a, b, c], c.actors.lookup('private', { timeout: 2_000 }))
    expect(hidden.value).toEqual([])
    const own = await settle([a, b, c], b.actors.lookup('private'))
    expect(own.value!.map((r) => r.address)).toEqual([`${b.addresses[0]}/actor/private`]) // its own node finds it
  })

  it('bad input is refused at once; without discovery lookup says why', async () => {
    const a = await createTestSwarm({ discovery: DISCOVERY })
    expect(() => a.actors.lookup('no spaces')).toThrow(RangeError)
    expect(() => a.actors.lookup('~a1')).toThrow(RangeError)
    expect(() => a.actors.lookup('x', { timeout: 0 })).toThrow(RangeError)
    expect(() => a.actors.lookup('x', { timeout: 1e9 })).toThrow(RangeError)
    const alone = await settle([a], a.actors.lookup('x'))
    expect(alone.value).toEqual([]) // no peers: what this node knows is the answer
    const off = await createTestSwarm()
    expect(() => off.actors.lookup('x')).toThrow(/discovery is off/)
    await a.close()
    expect(() => a.actors.lookup('x')).toThrow(XswarmError)
  })
})
