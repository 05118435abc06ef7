/**
 * `defineProtocol` refuses a malformed definition at once, with the field and the protocol id
 * in the message, instead of failing later inside the swarm.
 */
import { describe, expect, it } from 'vitest'
import { setup } from 'xstate'
import { defineProtocol } from '../../machines/lib/protocol.js'

const machine = setup({}).createMachine({})
const define = (def: Record<string, unknown>) => () => defineProtocol({ id: '/bad/1', machine, ...def } as never)

describe('defineProtocol', () => {
  it('accepts a well-formed definition', () => {
    expect(define({ parse: (b: unknown) => b, merge: () => undefined })().id).toBe('/bad/1')
  })
  it('refuses each malformed field with a clear error', () => {
    expect(() => defineProtocol(null as never)).toThrow('"protocol" expected an object')
    expect(define({ id: 'no-slash' })).toThrow(/"protocol\.id" expected "\/name\/version"/)
    expect(define({ machine: {} })).toThrow('"protocol.machine" of /bad/1 expected an XState machine')
    expect(define({ calls: { run: 1 } })).toThrow('"protocol.calls" of /bad/1 expected an object of functions')
    expect(define({ handler: {} })).toThrow('"protocol.handler" of /bad/1 expected a peer chart')
    expect(define({ parse: 'yes' })).toThrow('"protocol.parse" of /bad/1 expected a function')
    expect(define({ merge: true })).toThrow('"protocol.merge" of /bad/1 expected a function')
    expect(define({ grouped: 'yes' })).toThrow('"protocol.grouped" of /bad/1 expected a boolean')
  })
})
