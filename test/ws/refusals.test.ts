/**
 * Refused inbound connections leave a trace on the listener (issue 8 item 7), over real
 * WebSockets: `connection.refused {address, reason}` per refusal, at most 10 a second, the rest
 * summarised by `connection.refused.suppressed {count, reasons}`, so every one is accounted for.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { Swarm, SwarmEvent } from '../../src/swarm.js'
import { connect, createTestSwarm, drive, eventsOf, nextEvent, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const key = (fill: number) => new Uint8Array(32).fill(fill)
const refusals = (swarm: Swarm) => eventsOf(swarm).filter((e) => e.type.startsWith('connection.refused'))

describe('ws: refused inbound connections', () => {
  it('a dialer without the swarm key: the dialer sees dial.failed, the listener connection.refused with its address and reason', async () => {
    const a = await createTestSwarm({ swarmKey: key(7), ping: false })
    const b = await createTestSwarm({ ping: false })
    b.dial(a.addresses[0])
    await drive([a, b], () => eventsOf(b).some((e) => e.type === 'dial.failed') && refusals(a).length > 0, { what: 'dial.failed on B, connection.refused on A' })
    expect(eventsOf(b).find((e) => e.type === 'dial.failed')).toMatchObject({ reason: 'private-network' })
    const [refused] = refusals(a) as (SwarmEvent & { address: string; reason: string })[]
    expect(refused).toMatchObject({ type: 'connection.refused', reason: 'private-network' })
    expect(refused.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(eventsOf(a).some((e) => e.type === 'peer.connected')).toBe(false)
  })

  it('a limit: the listener says too-many-connections', async () => {
    const a = await createTestSwarm({ ping: false, limits: { maxConnections: 1 } })
    const b = await createTestSwarm({ ping: false })
    const c = await createTestSwarm({ ping: false })
    await connect(b, a)
    c.dial(a.addresses[0])
    await drive([a, b, c], () => refusals(a).length > 0, { what: 'connection.refused on A' })
    expect(refusals(a)[0]).toMatchObject({ type: 'connection.refused', reason: 'too-many-connections' })
  })

  it('a flood of 30 refused dials: at most 10 shown per window, the rest summarised; all 30 accounted for', async () => {
    const a = await createTestSwarm({ swarmKey: key(7), ping: false })
    const b = await createTestSwarm({ ping: false })
    const N = 30
    for (let i = 0; i < N; i++) b.dial(a.addresses[0])
    await drive([a, b], () => eventsOf(b).filter((e) => e.type === 'dial.failed').length === N, { what: `${N} dial.failed on B`, timeoutMs: 15_000 })
    // Closing summarises the open window: after it, every refusal is in A's stream.
    void a.close()
    await nextEvent(a, (e) => e.type === 'swarm.closed', { what: 'swarm.closed on A' })
    const shown = refusals(a).filter((e) => e.type === 'connection.refused').length
    const suppressed = refusals(a).filter((e) => e.type === 'connection.refused.suppressed') as unknown as { count: number; reasons: Record<string, number> }[]
    expect(shown + suppressed.reduce((n, s) => n + s.count, 0)).toBe(N)
    expect(suppressed.length).toBeGreaterThan(0)
    expect(shown).toBeLessThan(N)
  }, 20_000)
})
