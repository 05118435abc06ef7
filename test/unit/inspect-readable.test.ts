/**
 * The readable form of contexts and events in the inspection stream (src/inspect/readable.ts):
 * maps and sets show their entries, bytes read as short hex, functions are left out, secret
 * fields are redacted, and every level is bounded.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createActor, createMachine } from 'xstate'
import { readable } from '../../src/inspect/readable.js'
import { pingProtocol } from '../../machines/protocols/ping.machine.js'

describe('readable', () => {
  it('shows maps as records or pairs, sets as arrays, bytes as short hex, and leaves functions out', () => {
    const value = {
      peers: new Map([['QmA', { since: 1, topics: new Set(['chat']) }]]),
      byKey: new Map([[{ k: 1 }, 'x']]),
      body: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6]),
      short: new Uint8Array([1, 2]),
      parse: () => true,
      n: 3n,
    }
    expect(readable(value)).toEqual({
      peers: { QmA: { since: 1, topics: ['chat'] } },
      byKey: [[{ k: 1 }, 'x']],
      body: '<hex deadbeef01020304… 10 B>',
      short: '<hex 0102 2 B>',
      n: '3n',
    })
  })

  it('redacts secret fields that hold bytes or objects, keeps a count named k', () => {
    const out = readable({ staticKey: { privateKey: new Uint8Array(32), publicKey: new Uint8Array([7]) }, psk: new Uint8Array(32), k: 20, cipher: { k: new Uint8Array(32), n: 0 } })
    expect(out).toEqual({ staticKey: { privateKey: '<redacted>', publicKey: '<hex 07 1 B>' }, psk: '<redacted>', k: 20, cipher: { k: '<redacted>', n: 0 } })
  })

  it('is bounded in depth, entries and string length, and survives cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'x'.repeat(300) }
    cyclic.self = cyclic
    const out = readable({ cyclic, many: Array.from({ length: 100 }, (_, i) => i), deep: { a: { b: { c: { d: { e: { f: 1 } } } } } } }) as Record<string, any>
    expect(out.cyclic.self).toBe('<circular>')
    expect(out.cyclic.name).toMatch(/… \(300 chars\)$/)
    expect(out.many).toHaveLength(33)
    expect(out.many[32]).toBe('… 68 more')
    expect(JSON.stringify(out.deep)).toContain('<…>')
  })

  it('shows actor refs and machines by id', () => {
    const machine = createMachine({ id: 'm' })
    const actor = createActor(machine, { id: 'a1' })
    expect(readable({ ref: actor, logic: machine })).toEqual({ ref: '<actor a1>', logic: '<machine m>' })
  })

  it('shows a protocol definition by its id (its actor shows its options) and a peer chart by its machine', () => {
    const ping = pingProtocol({ interval: 5000 })
    expect(readable({ protocols: [ping], handler: ping.handler })).toEqual({ protocols: ['<protocol /xswarm/ping/1>'], handler: '<peer chart pingPeer>' })
  })
})
