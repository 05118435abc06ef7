/**
 * Prometheus metrics (src/metrics/): the exposition of two real swarms parsed with
 * parse-prometheus-text-format (a parser of the text format, not ours), its figures after a
 * connection and a pubsub message, the actor layer's figures after asks and a dead letter,
 * `xswarm node --metrics` serving it on 127.0.0.1, and the refusal for a swarm made without
 * `metrics: true`.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { describe, expect, it } from 'vitest'
import { sendTo, setup, type AnyActorRef } from 'xstate'
import { nodeCommand } from '../../src/cli/node.js'
import { metricsText } from '../../src/metrics/prometheus.js'
import { connect, createTestSwarm, drive, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

interface Family { name: string; type: string; help: string; metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }> }
const parse = (text: string): Map<string, Family> => new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]))
const value = (f: Family | undefined, labels: Record<string, string>): number =>
  Number(f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN)

describe('metrics', () => {
  it('two swarms: connections, frames per protocol, settle histogram, pubsub and discovery figures parse', async () => {
    const a = await createTestSwarm({ metrics: true, discovery: {} })
    const b = await createTestSwarm({ metrics: true, discovery: {} })
    a.subscribe('t')
    b.subscribe('t')
    await connect(b, a)
    let got = false
    let meshed = false
    await drive([a, b], () => { meshed ||= /xswarm_pubsub_mesh_peers\{[^}]*topic="t"\} 1/.test(metricsText(a)); return meshed }, { what: 'a mesh of 1 on t' })
    a.publish('t', new Uint8Array([1, 2, 3]))
    await drive([a, b], () => got, { what: 'the message', onEvent: (s, e) => { if (s === b && e.type === 'pubsub.message') got = true } })

    const fa = parse(metricsText(a))
    const fb = parse(metricsText(b))
    expect(fb.get('xswarm_connections')?.type).toBe('GAUGE')
    expect(value(fb.get('xswarm_connections'), { direction: 'outbound', peer: b.peerId })).toBe(1)
    expect(value(fa.get('xswarm_connections'), { direction: 'inbound' })).toBe(1)
    expect(fb.get('xswarm_frames_total')?.type).toBe('COUNTER')
    expect(value(fb.get('xswarm_frames_total'), { direction: 'in', protocol: '/xswarm/pubsub/1' })).toBeGreaterThan(0)
    expect(value(fa.get('xswarm_bytes_total'), { direction: 'out', protocol: '/xswarm/pubsub/1' })).toBeGreaterThan(0)
    expect(value(fb.get('xswarm_pubsub_deliveries_total'), { topic: 't' })).toBe(1)
    expect(value(fa.get('xswarm_pubsub_mesh_peers'), { topic: 't' })).toBe(1)
    expect(value(fa.get('xswarm_pubsub_duplicates_total'), {})).toBeGreaterThanOrEqual(0)
    expect(value(fa.get('xswarm_pubsub_duplicate_bytes_total'), {})).toBeGreaterThanOrEqual(0)
    expect(value(fa.get('xswarm_discovery_table_peers'), {})).toBeGreaterThanOrEqual(0)
    const settle = fa.get('xswarm_settle_seconds')
    expect(settle?.type).toBe('HISTOGRAM')
    const buckets = settle?.metrics[0].buckets ?? {}
    expect(Number(buckets['+Inf'])).toBeGreaterThan(10) // every settled input, in the cumulative last bucket
    expect(Number(buckets['0.00001'])).toBeLessThanOrEqual(Number(buckets['0.1']))
    for (const name of ['xswarm_queue_length', 'xswarm_paused_sockets', 'xswarm_inputs_total', 'xswarm_disconnects_total', 'xswarm_dial_failures_total', 'xswarm_refused_total']) {
      expect(fa.has(name), name).toBe(true)
    }
  })

  it('actors: asks by outcome, dead letters by reason, the mailbox-depth histogram and the gauges parse', async () => {
    const a = await createTestSwarm({ metrics: true })
    const b = await createTestSwarm({ metrics: true })
    await connect(b, a)
    const echo = setup({ types: { events: {} as { type: 'get'; replyTo: AnyActorRef } } })
      .createMachine({ on: { get: { actions: sendTo(({ event }) => event.replyTo, { type: 'got' }) } } })
    const hosted = a.actors.spawn(echo, { name: 'echo', accept: 'any' })
    const settled: string[] = []
    for (const name of ['echo', 'echo', 'echo', 'nobody']) {
      b.actors.ask(`${a.addresses[0]}/actor/${name}`, { type: 'get' }).then(() => settled.push('ok'), (e: { code: string }) => settled.push(e.code))
    }
    b.actors.send(`${a.addresses[0]}/actor/nobody`, { type: 'lost' })
    let dead = false
    await drive([a, b], () => settled.length === 4 && dead, { what: 'the asks and the dead letter', onEvent: (_s, e) => { if (e.type === 'actor.undelivered') dead = true } })
    void hosted

    const fa = parse(metricsText(a))
    const fb = parse(metricsText(b))
    expect(fb.get('xswarm_actor_asks_total')?.type).toBe('COUNTER')
    expect(value(fb.get('xswarm_actor_asks_total'), { outcome: 'ok' })).toBe(3)
    expect(value(fb.get('xswarm_actor_asks_total'), { outcome: 'no-such-actor' })).toBe(1)
    expect(value(fb.get('xswarm_actor_undelivered_total'), { reason: 'no-such-actor' })).toBe(1)
    const depth = fa.get('xswarm_actor_mailbox_depth')
    expect(depth?.type).toBe('HISTOGRAM')
    const counts = depth?.metrics[0].buckets ?? {}
    expect(Number(counts['+Inf'])).toBeGreaterThanOrEqual(1) // the three gets came in one or more settles
    expect(Number(counts['1024'])).toBe(Number(counts['+Inf'])) // never deeper than maxMailbox
    expect(value(fa.get('xswarm_actors_hosted'), {})).toBeGreaterThanOrEqual(1)
    expect(value(fb.get('xswarm_actor_pending_asks'), {})).toBe(0)
    for (const name of ['xswarm_actor_pairs', 'xswarm_actor_unacked', 'xswarm_actor_queued']) expect(value(fb.get(name), {}), name).toBe(0)
  })

  it('a swarm made without metrics: true is refused with a RangeError', async () => {
    const a = await createTestSwarm()
    expect(() => metricsText(a)).toThrow(/created without \{ metrics: true \}/)
  })

  it('xswarm node --metrics 0 serves /metrics on 127.0.0.1 (and 404 elsewhere)', async () => {
    const lines: string[] = []
    const controller = new AbortController()
    const done = nodeCommand(['--listen', 'ws://127.0.0.1:0', '--no-discovery', '--metrics', '0'], {
      out: (l) => void lines.push(l), err: (l) => void lines.push(l), signal: controller.signal,
    })
    let url: string | undefined
    for (let i = 0; i < 500 && url === undefined; i++) {
      url = lines.map((l) => /^metrics +(http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(l)?.[1]).find(Boolean)
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(url).toBeDefined()
    const res = await fetch(url!)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(parse(await res.text()).has('xswarm_settle_seconds')).toBe(true)
    expect((await fetch(url!.replace('/metrics', '/other'))).status).toBe(404)
    controller.abort()
    expect(await done).toBe(0)
  })
})
