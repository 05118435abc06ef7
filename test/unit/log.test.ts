/**
 * Debug logs (src/log/swarm-log.ts): off by default with no hook installed; with xswarm:*
 * enabled, connections with reasons, dials, pubsub mesh changes (GRAFT) and discovery lookups
 * are logged from what the swarm hands out and emits, as are failed actor sends and asks and
 * redial backoff delays; the CLI's --verbose turns them on.
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

  it('with DEBUG=xswarm:* log failed actor sends and asks, and redials with their backoff delay', async () => {
    const lines: string[] = []
    createDebug.log = (...args: unknown[]) => void lines.push(format(...args))
    createDebug.enable('xswarm:*')
    const a = await createTestSwarm()
    const b = await createTestSwarm()
    await connect(b, a)
    b.actors.send(`${a.addresses[0]}/actor/nobody`, { type: 'lost' })
    b.actors.ask(`${a.addresses[0]}/actor/nobody`, { type: 'get' }).catch(() => {})
    // At least once to a node (c's identity) where nobody listens (port 1): the dial fails, a redial is scheduled.
    const c = await createTestSwarm({ listen: [] })
    b.actors.send(`ws://127.0.0.1:1/p2p/${c.peerId}/actor/x`, { type: 'job' }, { delivery: 'at-least-once' })
    // Discovery with a bootstrap node nobody listens for: bootstrap redials back off.
    const d = await createTestSwarm({ discovery: {}, bootstrap: [`ws://127.0.0.1:1/p2p/${c.peerId}`] })
    const has = (re: RegExp) => lines.some((l) => re.test(l))
    await drive([d], () => has(/xswarm:dial \S+ bootstrap redial in \d+ ms \(backoff\)/), { what: 'the bootstrap redial line' })
    await drive([a, b], () => has(/xswarm:actor \S+ send to \S+\/actor\/nobody from the node failed: no-such-actor/) &&
      has(/xswarm:actor \S+ ask \d+ failed: no-such-actor/) && has(/xswarm:dial \S+ redial \S+ in 500 ms \(backoff/), { what: 'the actor and redial lines' })
  })

  it('--verbose (enableLogs) adds xswarm:* to what DEBUG already enables', () => {
    createDebug.enable('other:thing')
    enableLogs()
    expect(createDebug.enabled('xswarm:conn')).toBe(true)
    expect(createDebug.enabled('other:thing')).toBe(true)
  })
})
