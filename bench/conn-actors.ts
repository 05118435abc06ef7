/**
 * The connection machine's own cost per setup: two connection actors (machines/connection.machine.ts,
 * outbound and inbound) taken from creation to `open` by hand, with no root, no queue and no
 * sockets: the outbound actor's `effect.dial` is answered with `io.conn.opened`, each
 * `effect.send` is handed to the other actor as `conn.frame`, `conn.authenticated` is answered
 * with `conn.accepted`. The same Noise XX + identity crypto as bench/core/handshake.ts runs
 * inside (nativeSuite, fresh ephemeral keys), so `setup` minus `handshake` is what XState and
 * the connection chart add to the two ends of one connection.
 *
 * Usage: npm run build && node dist/bench/conn-actors.js [ms=2000] [another build's dist/, for an A/B]
 * Prints setups per CPU-second of both figures, medians of rounds (builds alternating with A/B).
 * @module
 */
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createActor, setup as xsetup, type AnyActorRef } from 'xstate'

interface Build {
  name: string
  setup: () => void
  handshake: () => void
}

/** Loads the machines of the build at `dist` and returns its two measured functions. */
async function load(dist: string): Promise<Build> {
  const at = (path: string) => import(pathToFileURL(resolve(dist, path)).href)
  const { connectionMachine } = await at('machines/connection.machine.js')
  const { identityBindingMessage } = await at('machines/handshake.machine.js')
  const { seal } = await at('machines/lib/secret.js')
  const { DEFAULT_TIMEOUTS } = await at('machines/lib/limits.js')
  const { nativeSuite: suite } = await at('src/crypto/native.js')
  const { handshaker } = await at('bench/core/handshake.js')
  const node = () => {
    const secret = randomBytes(32)
    const identityKey = suite.ed25519PublicKey(secret)
    const s = randomBytes(32)
    const staticKey = { privateKey: s, publicKey: suite.x25519PublicKey(s) }
    return { identityKey, staticKey, identitySignature: suite.ed25519Sign(secret, identityBindingMessage(staticKey.publicKey)) }
  }
  const a = node()
  const b = node()
  const input = (key: string, direction: 'outbound' | 'inbound', self: ReturnType<typeof node>) => ({
    key, direction, address: 'ws://127.0.0.1:1/p2p/x', url: 'ws://127.0.0.1:1', dialId: 1, connId: direction === 'inbound' ? 2 : undefined,
    timeouts: DEFAULT_TIMEOUTS,
    traffic: { heardAt: 0 },
    keepAliveJitter: 0,
    handshake: {
      suite, initiator: direction === 'outbound', identityKey: self.identityKey,
      keys: seal({ staticKey: self.staticKey, identitySignature: self.identitySignature, ephemeralPrivateKey: randomBytes(32) }),
    },
  })
  // A parent that answers what the root would: conn.authenticated with conn.accepted.
  const parent = createActor(xsetup({}).createMachine({})).start() as AnyActorRef
  const setup = () => {
    const refs: Record<string, AnyActorRef> = {}
    const other: Record<string, string> = { d1: 'c2', c2: 'd1' }
    const inbox: [string, { type: string; [k: string]: unknown }][] = []
    const spawn = (key: string, direction: 'outbound' | 'inbound', self: ReturnType<typeof node>) => {
      const ref = createActor(connectionMachine, { id: key, input: input(key, direction, self), parent }) as AnyActorRef
      ref.on('*', ((e: { type: string; protocol?: string; body?: unknown }) => {
        if (e.type === 'effect.dial') inbox.push([key, { type: 'io.conn.opened', connId: 1, remoteAddr: 'ws://127.0.0.1:1' }])
        else if (e.type === 'effect.send') inbox.push([other[key], { type: 'conn.frame', protocol: e.protocol!, body: e.body }])
      }) as never)
      refs[key] = ref
      return ref
    }
    const authenticated = new Set<string>()
    const relay = parent.system as unknown as { _relay(source: AnyActorRef, target: AnyActorRef, event: { type: string; key?: string }): void }
    const saved = relay._relay
    relay._relay = (source, target, event) => {
      if (target === parent) {
        if (event.type === 'conn.authenticated') inbox.push([event.key!, { type: 'conn.accepted' }])
        if (event.type === 'conn.authenticated') authenticated.add(event.key!)
        return
      }
      saved.call(relay, source, target, event)
    }
    try {
      spawn('d1', 'outbound', a).start()
      spawn('c2', 'inbound', b).start()
      for (let i = 0; i < 32 && inbox.length > 0; i++) {
        const [key, event] = inbox.shift()!
        refs[key].send(event)
      }
      if (authenticated.size !== 2 || refs.d1.getSnapshot().value.open === undefined || refs.c2.getSnapshot().value.open === undefined) {
        throw new Error(`conn-actors: the two actors did not both reach open (${JSON.stringify(refs.d1.getSnapshot().value)}, ${JSON.stringify(refs.c2.getSnapshot().value)})`)
      }
    } finally {
      relay._relay = saved
      for (const ref of Object.values(refs)) (ref as unknown as { _stop(): void })._stop()
    }
  }
  return { name: dist, setup, handshake: handshaker(suite, true) }
}

/** Operations per CPU-second of `fn` over about `ms`. */
function perCpuSecond(fn: () => void, ms: number): number {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  let n = 0
  while (performance.now() - t0 < ms) { fn(); n++ }
  const c = process.cpuUsage(c0)
  return (n * 1e6) / (c.user + c.system)
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]

const [msArg = '2000', otherDist] = process.argv.slice(2)
const ms = Number(msArg)
const here = resolve(new URL('.', import.meta.url).pathname, '..')
const builds = [await load(here), ...(otherDist ? [await load(resolve(otherDist))] : [])]
for (const b of builds) for (let i = 0; i < 200; i++) { b.setup(); b.handshake() } // warm-up
const rounds = 10
const results = builds.map(() => ({ setup: [] as number[], handshake: [] as number[] }))
for (let r = 0; r < rounds; r++) {
  builds.forEach((b, i) => {
    results[i].setup.push(perCpuSecond(b.setup, ms / rounds))
    results[i].handshake.push(perCpuSecond(b.handshake, ms / rounds / 2))
  })
}
builds.forEach((b, i) => {
  const s = median(results[i].setup)
  const h = median(results[i].handshake)
  console.log(`${b.name}: conn actors ${Math.round(s)} setups per CPU-s (${Math.round(1e6 / s)} us), bare handshake ${Math.round(h)} per CPU-s (${Math.round(1e6 / h)} us): the chart adds ${Math.round(1e6 / s - 1e6 / h)} us per setup`)
})
