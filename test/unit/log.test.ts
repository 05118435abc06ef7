/**
 * Debug logs (src/log/swarm-log.ts): off by default with no hook installed; with xswarm:*
 * enabled, connections with reasons, dials, pubsub mesh changes (GRAFT) and discovery lookups
 * are logged from what the swarm hands out and emits; the CLI's --verbose turns them on.
 */
import createDebug from 'debug'
import { format } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { enableLogs, swarmLog } from '../../src/log/swarm-log.js'
import { connect, createTestSwarm, drive, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()
const original = createDebug.log
afterEach(() => {
  createDebug.disable()
  createDebug.log = original
})

describe('debug logs', () => {
  it('are off by default: no logging hook at all', () => {
    createDebug.disable()
    expect(swarmLog('x')).toBeUndefined()
  })

  it('with DEBUG=xswarm:* log connections with reasons, dials, mesh changes and lookups', async () => {
    const lines: string[] = []
    createDebug.log = (...args: unknown[]) => void lines.push(format(...args))
    createDebug.enable('xswarm:*')
    const a = await createTestSwarm({ discovery: {} })
    const b = await createTestSwarm({ discovery: {} })
    a.subscribe('t')
    b.subscribe('t')
    await connect(b, a)
    const has = (re: RegExp) => lines.some((l) => re.test(l))
    await drive([a, b], () => has(/xswarm:pubsub .* graft .* on t/) && has(/xswarm:discovery .*lookup:\d+ started/), { what: 'graft and lookup lines' })
    b.hangUp(a.peerId, 'testing')
    await drive([a, b], () => has(/xswarm:conn .* disconnected .* \(testing\)/), { what: 'the disconnect line' })
    expect(lines.join('\n')).toMatch(/xswarm:swarm \S+ listening on/)
    expect(lines.join('\n')).toMatch(/xswarm:dial \S+ dialing ws:\/\/127\.0\.0\.1:\d+ \(dial \d+\)/)
    expect(lines.join('\n')).toMatch(/xswarm:conn \S+ connected \S+ (inbound|outbound)/)
  })

  it('--verbose (enableLogs) adds xswarm:* to what DEBUG already enables', () => {
    createDebug.enable('other:thing')
    enableLogs()
    expect(createDebug.enabled('xswarm:conn')).toBe(true)
    expect(createDebug.enabled('other:thing')).toBe(true)
  })
})
