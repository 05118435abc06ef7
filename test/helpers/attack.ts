/**
 * More of the attacker's toolkit (next to raw-peer.ts): hand-made WebSocket frame floods,
 * distinct source addresses on loopback, a witness that measures an honest peer's delivery
 * all through an attack, and memory measured after a full GC.
 *
 * Sources: Linux routes all of 127.0.0.0/8 to loopback, so binding a client socket to
 * 127.0.0.2 ... 127.0.0.9 (`localAddress`) makes the node see eight different IPv4 hosts.
 * @module
 */
import { forceGc, peerOf, sleep, RawSocket, type Target } from './raw-peer.js'

/** The attacker's source addresses: eight distinct IPv4 hosts on loopback. */
export const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9']

/**
 * One unfinished binary message in `count` one-byte fragments (the first opens it, the rest
 * continue it, none has FIN): what `ws` keeps as one Buffer each until the message ends.
 */
export function fragmentFlood(count: number): Buffer {
  const one = Uint8Array.of(0x41)
  const parts: Buffer[] = [RawSocket.frame(one, 1, 0x2, false)]
  for (let i = 1; i < count; i++) parts.push(RawSocket.frame(one, 1, 0x0, false))
  return Buffer.concat(parts)
}

/** `count` WebSocket pings (masked, as a client sends them), in one write. */
export function pingFlood(count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => RawSocket.frame(Uint8Array.of(i & 0xff), 1, 0x9)))
}

/** Heap in use plus external memory (Buffers) after a full collection, in MiB. */
export async function settledMemoryMiB(): Promise<number> {
  await sleep(20)
  forceGc()
  await sleep(20)
  forceGc()
  const m = process.memoryUsage()
  return (m.heapUsed + m.external) / 2 ** 20
}

const TOPIC = 'witness'

/**
 * The honest peer publishes a numbered pubsub message to the node every `intervalMs` while an
 * attack runs; `stop()` waits (bounded) for the last ones and says how many arrived. Delivery
 * is measured all through the attack, not only before and after it.
 */
export class Witness {
  private sent = 0
  private static runs = 0
  /** Messages of this run start with it, so two runs on one target are counted apart. */
  private readonly tag = `w${Witness.runs++}:`
  private timer: NodeJS.Timeout | null = null
  private constructor(private readonly target: Target) {}

  static async start(target: Target, intervalMs = 20): Promise<Witness> {
    const nodeId = target.node.swarm.peerId
    const since = performance.now()
    target.node.swarm.subscribe(TOPIC)
    target.honest.swarm.subscribe(TOPIC)
    await target.honest.waitFor((e) => e.type === 'pubsub.peer.subscribed' && peerOf(e) === nodeId && (e as { topic?: string }).topic === TOPIC, 5000, since, 'the node to subscribe')
    const w = new Witness(target)
    w.timer = setInterval(() => {
      w.target.honest.swarm.publish(TOPIC, new TextEncoder().encode(`${w.tag}${w.sent++}`))
    }, intervalMs)
    return w
  }

  /** Stop publishing; the count sent and delivered (waits up to `ms` for the tail). */
  async stop(ms = 5000): Promise<{ sent: number; delivered: number }> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    const delivered = (): number => new Set(this.target.node.events
      .filter((e) => e.type === 'pubsub.message' && (e as { topic?: string }).topic === TOPIC)
      .map((e) => new TextDecoder().decode((e as unknown as { data: Uint8Array }).data))
      .filter((text) => text.startsWith(this.tag))).size
    for (let waited = 0; waited < ms && delivered() < this.sent; waited += 50) await sleep(50)
    this.target.node.swarm.unsubscribe(TOPIC)
    this.target.honest.swarm.unsubscribe(TOPIC)
    return { sent: this.sent, delivered: delivered() }
  }
}

/** How many times each string occurs (close reasons, outcomes). */
export function tally(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const x of xs) out[x] = (out[x] ?? 0) + 1
  return out
}
