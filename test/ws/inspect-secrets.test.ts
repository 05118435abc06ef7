/**
 * No secret in the inspection stream: two swarms of a private network (swarmKey) over real
 * WebSockets, both inspected, complete a handshake and deliver a pubsub message; the whole
 * inspection stream, serialized every way a Stately inspector does it (and with
 * JSON.stringify), holds none of the secrets' bytes in any encoding a serializer could use.
 *
 * Which secrets: the ones given (both identity secret keys, the swarm key) and every secret the
 * live stream carried, gathered while it ran: every byte array inside a `Secret` (lib/secret.ts)
 * and every byte array under a field that names key material (`privateKey`, `ck`, `k`, `psk`,
 * the DRBG's `key`, `identitySignature`, ...), sealed or not. So the test would find a secret
 * that sits in plain view too; and it checks that each kind was gathered, so a renamed field
 * cannot make it pass by gathering nothing.
 * @module
 */
import { base58, base64, base64nopad, base64url, base64urlnopad, hex } from '@scure/base'
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect'
import fastSafe from 'fast-safe-stringify'
import safeStableStringify from 'safe-stable-stringify'
import { stringify as superjsonStringify } from 'superjson'

// fast-safe-stringify is CommonJS (`export =`): its default import is the function at run time,
// which its typings do not say under NodeNext.
const fastSafeStringify = fastSafe as unknown as (value: unknown, replacer?: undefined, space?: number, options?: { depthLimit: number; edgesLimit: number }) => string
import { describe, expect, it } from 'vitest'
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { Secret, SECRET_LABEL, unseal } from '../../machines/lib/secret.js'
import { connect, createTestSwarm, drive, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

/** Fields whose byte arrays are key material wherever they appear (`k` only in a `{k, n}` cipher state). */
const SECRET_FIELDS = new Set(['privateKey', 'ephemeralPrivateKey', 'secretKey', 'ck', 'psk', 'key', 'identitySignature'])
/** Public fields that may sit next to secrets inside a sealed value (public keys, the handshake hash, the identity payload, which starts with the public identity key; its signature is gathered on its own). */
const PUBLIC_FIELDS = new Set(['publicKey', 'h', 're', 'remoteStatic', 'payload'])
/** Public constants that sit in secret fields (the initial Noise chaining key is the protocol name). */
const PUBLIC = new Set(['Noise_XX_25519_ChaChaPoly_SHA256', 'Noise_XXpsk3_25519_ChaChaPoly_SHA256'].map((n) => hex.encode(new TextEncoder().encode(n))))

/** Walks live values and gathers secret byte arrays (hex → the field they were found under). */
class SecretGatherer {
  readonly found = new Map<string, string>()
  private readonly seen = new WeakSet<object>()

  gather(value: unknown, field = '', sealed = false): void {
    if (value === null || typeof value !== 'object') return
    if (value instanceof Uint8Array) {
      const secret = SECRET_FIELDS.has(field) || (sealed && !PUBLIC_FIELDS.has(field))
      if (secret && value.length >= 16 && value.some((b) => b !== 0)) {
        const h = hex.encode(value)
        if (!PUBLIC.has(h) && !this.found.has(h)) this.found.set(h, sealed ? `sealed ${field}` : field)
      }
      return
    }
    if (this.seen.has(value)) return
    this.seen.add(value)
    if (value instanceof Secret) return this.gather(unseal(value), field, true)
    // What the swarm hands the observer are readable faces: objects whose prototype is the real value.
    const proto = Object.getPrototypeOf(value) as object | null
    if (proto !== null && !Object.hasOwn(proto, 'constructor')) this.gather(proto, field, sealed)
    if (isActorRef(value)) return // reached through its own inspection events
    if (value instanceof Map) {
      for (const [k, v] of value) this.gather(v, String(k), sealed)
      return
    }
    const cipherState = Object.keys(value).join() === 'k,n'
    for (const [k, v] of Object.entries(value)) this.gather(v, cipherState && k === 'k' ? 'key' : k, sealed)
  }
}

const isActorRef = (v: object): boolean => typeof (v as { send?: unknown }).send === 'function' && 'sessionId' in v

/** The data of a raw inspection event (everything but the live actor objects). */
function dataOf(ev: InspectionEvent): Record<string, unknown> {
  const e = ev as unknown as Record<string, unknown> & { actorRef: AnyActorRef; sourceRef?: AnyActorRef }
  return {
    type: e.type,
    actor: e.actorRef.id,
    source: e.sourceRef?.id,
    event: e.event,
    snapshot: e.snapshot,
    action: e.action,
    input: e.type === '@xstate.actor' ? (e.actorRef as unknown as { options?: { input?: unknown } }).options?.input : undefined,
  }
}

/** Every encoding of `bytes` a serializer could produce, as text to look for (hex: its first 8 bytes suffice). */
function encodings(bytes: Uint8Array): string[] {
  const out = [hex.encode(bytes.subarray(0, 8)), hex.encode(bytes.subarray(0, 8)).toUpperCase(), base58.encode(bytes)]
  // Base64 of a longer buffer holding the secret at any offset contains these (aligned) groups.
  for (let shift = 0; shift < 3; shift++) {
    const part = bytes.subarray(shift)
    const whole = Math.floor(part.length / 3) * 3
    for (const codec of [base64, base64nopad, base64url, base64urlnopad]) out.push(codec.encode(part.subarray(0, whole)))
  }
  return out
}

/** The byte values in `text` as numbers in order: as array items (`[1,2]`) and as typed-array objects (`{"0":1}`). */
function numberRuns(text: string): number[][] {
  const items = [...text.matchAll(/\d+/g)].map((m) => Number(m[0]))
  const values = [...text.matchAll(/"\d+":(\d+)/g)].map((m) => Number(m[1]))
  return [items, values]
}

function containsRun(haystack: number[], needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

/** What of `secrets` appears in `texts` (each hit: the secret's field and the serialization). */
function leaks(secrets: Map<string, string>, texts: Map<string, string[]>): string[] {
  const hits: string[] = []
  for (const [serializer, list] of texts) {
    const joined = list.join('\n')
    const runs = list.flatMap(numberRuns)
    for (const [h, field] of secrets) {
      const bytes = hex.decode(h)
      if (encodings(bytes).some((text) => joined.includes(text)) || runs.some((run) => containsRun(run, bytes))) {
        hits.push(`${field} (${h.slice(0, 16)}…) in ${serializer}`)
      }
    }
  }
  return hits
}

describe('inspection shows no secret', () => {
  it('a private network over WebSockets: handshake and a pubsub message, the whole stream scanned', async () => {
    const raw: InspectionEvent[] = []
    const gatherer = new SecretGatherer()
    const texts = new Map<string, string[]>([['JSON.stringify', []], ['safe-stable-stringify', []], ['superjson', []]])
    const inspect = (ev: InspectionEvent): void => {
      raw.push(ev)
      const data = dataOf(ev)
      // Gather from the live objects, serialize now:
      // a real inspector serializes what it is shown, before anything is wiped later.
      gatherer.gather(data)
      texts.get('JSON.stringify')!.push(JSON.stringify(data) ?? '')
      texts.get('safe-stable-stringify')!.push(safeStableStringify(data) ?? '')
      texts.get('superjson')!.push(superjsonStringify(data))
    }
    // The Stately inspector itself, with an adapter that keeps what it would send.
    const stately: StatelyInspectionEvent[] = []
    const inspector = createInspector({ send: (e) => { stately.push(e) } })

    const swarmKey = crypto.getRandomValues(new Uint8Array(32))
    const secretKeys = [crypto.getRandomValues(new Uint8Array(32)), crypto.getRandomValues(new Uint8Array(32))]
    // Both are inspected, into one stream: the dialer's and the listener's side of the handshake.
    const observer = (ev: InspectionEvent): void => { inspect(ev); inspector.inspect.next?.(ev) }
    const [a, b] = await Promise.all(secretKeys.map((secretKey) => createTestSwarm({ swarmKey, secretKey, inspect: observer })))
    await connect(a, b)
    for (const s of [a, b]) s.subscribe('t')
    const subscribed = (s: typeof a) => eventsOf(s).some((e) => e.type === 'pubsub.peer.subscribed')
    await drive([a, b], () => subscribed(a) && subscribed(b), { what: 'both see the other subscribed' })
    b.publish('t', new TextEncoder().encode('from b'))
    a.publish('t', new TextEncoder().encode('from a'))
    const got = (s: typeof a) => eventsOf(s).some((e) => e.type === 'pubsub.message')
    await drive([a, b], () => got(a) && got(b), { what: 'both messages delivered' })
    await Promise.all([a.close(), b.close()])

    // The Stately inspector converts each event on a later turn: wait until it has them all.
    const convertible = raw.filter((e) => ['@xstate.actor', '@xstate.event', '@xstate.snapshot'].includes(e.type)).length
    for (let i = 0; i < 10_000 && stately.length < convertible; i++) await new Promise((resolve) => setTimeout(resolve, 0))
    expect(stately.length).toBe(convertible)
    // Its three transports' serializers: Sky (superjson), browser (fast-safe-stringify), WebSocket (safe-stable-stringify).
    texts.set('stately → superjson (Sky)', stately.map((e) => superjsonStringify(e)))
    texts.set('stately → fast-safe-stringify (browser)', stately.map((e) => fastSafeStringify(e, undefined, 2, { depthLimit: 10, edgesLimit: 10 })))
    texts.set('stately → safe-stable-stringify (WebSocket)', stately.map((e) => safeStableStringify.configure({ maximumDepth: 10 })(e) ?? ''))
    texts.set('stately → JSON.stringify', stately.map((e) => JSON.stringify(e)))

    const secrets = new Map(gatherer.found)
    secrets.set(hex.encode(swarmKey), 'swarmKey (option)')
    secretKeys.forEach((k, i) => secrets.set(hex.encode(k), `secretKey ${i} (option)`))
    // Each kind of secret was there to be found (in the live stream), so the scan is not empty.
    const kinds = new Set([...gatherer.found.values()].map((f) => f.replace(/^sealed /, '')))
    for (const kind of ['privateKey', 'ephemeralPrivateKey', 'ck', 'key', 'psk', 'identitySignature', 'seed']) expect(kinds, kind).toContain(kind)
    expect([...gatherer.found.keys()]).toContain(hex.encode(swarmKey))
    expect(raw.length).toBeGreaterThan(100)

    expect(leaks(secrets, texts)).toEqual([])
    // Where a secret sits, the stream shows the label.
    expect(texts.get('JSON.stringify')!.some((t) => t.includes(JSON.stringify(SECRET_LABEL)))).toBe(true)
  })
})
