/**
 * Discovery across real network interfaces: five Linux network namespaces, each with one veth
 * into a bridge that lives in a sixth namespace of its own (nothing touches the host's network),
 * addresses 10.77.0.1..5/24 inside those namespaces only. One `xswarm node --json` per namespace
 * (`ip netns exec`, which execs in place: the PID is node's), node 1 the bootstrap. All find each
 * other; node 5's link goes down (a partition, no FIN/RST: only the keep-alive can tell) and
 * everyone sees it leave; the link comes back and it rejoins.
 *
 * Needs Linux, root and iproute2 (`ip`); otherwise the suite is skipped and its title says
 * why. Every namespace this file creates is deleted in afterAll (and at process exit), also
 * after a failure; namespaces left by an earlier run that was killed are removed at start.
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { components, edges, ensureBuilt, killAll, Node, sleep, summary, until } from '../process/_nodes.js'

const COUNT = 5
const PREFIX = `xswt${process.pid}`
const BRIDGE_NS = `${PREFIX}-br`
const nodeNs = (i: number): string => `${PREFIX}-n${i}`
const addressOf = (i: number): string => `10.77.0.${i}`
const PORT = 4001
/**
 * The CLI has no flag for the connection timeouts, so a silent peer is noticed only by the
 * default keep-alive: a ping after 15 s idle, answered within 20 s, then the connection's
 * graceful close (up to 2 s, the close handshake cannot complete either) → up to 37 s.
 */
const KEEPALIVE_BOUND = 15_000 + 20_000 + 2_000

/** Run `ip ...`; throws with its stderr. */
function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
}

/** Why this suite cannot run here, or undefined when it can. */
function whyNot(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (platform is ${process.platform})`
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore', timeout: 5000 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'the `ip` command (iproute2) is not installed; `apt-get install iproute2` would enable it'
    return `\`ip -V\` failed: ${(error as Error).message}`
  }
  const uid = process.getuid?.()
  if (uid !== 0) return `needs root to create network namespaces (running as uid ${uid})`
  const probe = `xswarm-probe-${process.pid}`
  try {
    ip('netns', 'add', probe)
    // veth and bridge support (kernel modules) inside a namespace of our own.
    ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', probe, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb')
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim()
    return `\`ip netns\` / veth / bridge not usable here: ${stderr}`
  } finally {
    try { ip('netns', 'del', probe) } catch { /* was not created */ }
  }
  return undefined
}

const skipReason = whyNot()
if (skipReason !== undefined) console.warn(`test/netns/discovery-netns.test.ts skipped: ${skipReason}`)

/** Namespaces created by this run, deleted by `cleanup`. */
const created: string[] = []

function cleanup(): void {
  killAll()
  for (const ns of created.splice(0).reverse()) {
    try { ip('netns', 'del', ns) } catch { /* already gone */ }
  }
}

/**
 * Namespaces (and the node processes in them) of an earlier run of this file whose process is
 * gone: it was killed (SIGKILL) before its afterAll or exit handler could run.
 */
function removeStale(): void {
  let list = ''
  try { list = ip('netns', 'list') } catch { return }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = /^xswt(\d+)-(br|n\d+)$/.exec(name)
    if (!m || Number(m[1]) === process.pid) continue
    try {
      process.kill(Number(m[1]), 0)
      continue // that run is still alive
    } catch { /* ESRCH: gone */ }
    // Its xswarm nodes outlived it (they are ours: started by this file in that run): by PID.
    let pids = ''
    try { pids = ip('netns', 'pids', name) } catch { /* none */ }
    for (const pid of pids.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1)) {
      try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    }
    try { ip('netns', 'del', name) } catch { /* raced */ }
  }
}

function setUpNetwork(): void {
  removeStale()
  ip('netns', 'add', BRIDGE_NS)
  created.push(BRIDGE_NS)
  ip('-n', BRIDGE_NS, 'link', 'add', 'br0', 'type', 'bridge')
  ip('-n', BRIDGE_NS, 'link', 'set', 'br0', 'up')
  for (let i = 1; i <= COUNT; i++) {
    const ns = nodeNs(i)
    ip('netns', 'add', ns)
    created.push(ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    // Created inside the bridge's namespace, its other end moved straight into the node's.
    ip('-n', BRIDGE_NS, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    ip('-n', BRIDGE_NS, 'link', 'set', `p${i}`, 'master', 'br0')
    ip('-n', BRIDGE_NS, 'link', 'set', `p${i}`, 'up')
    ip('-n', ns, 'addr', 'add', `${addressOf(i)}/24`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
  }
}

describe.skipIf(skipReason !== undefined)(`discovery in ${COUNT} network namespaces${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  beforeAll(() => {
    ensureBuilt()
    process.once('exit', cleanup) // the worker dies without afterAll: still no namespaces left behind
    try {
      setUpNetwork()
    } catch (error) {
      cleanup()
      throw error
    }
  }, 180_000)

  afterAll(() => {
    cleanup()
    process.removeListener('exit', cleanup)
    const left = ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${PREFIX}-`))
    expect(left, 'namespaces left behind').toEqual([])
  })

  it('all find each other; a node whose link goes down is dropped by keep-alive, and rejoins when it comes back', async () => {
    const t0 = Date.now()
    const timings: Record<string, number> = {}
    const mark = (label: string): void => { timings[label] = Date.now() - t0 }
    const start = (i: number, dial: string[]): Node =>
      new Node(`n${i}`, ['node', '--listen', `ws://${addressOf(i)}:${PORT}`, '--json', ...dial.flatMap((a) => ['--dial', a])], ['ip', 'netns', 'exec', nodeNs(i)])

    const nodes: Node[] = [start(1, [])]
    const bootstrap = await nodes[0]!.listening()
    expect(bootstrap).toMatch(new RegExp(`^ws://${addressOf(1).replace(/\./g, '\\.')}:${PORT}/p2p/\\w+$`))
    for (let i = 2; i <= COUNT; i++) nodes.push(start(i, [bootstrap]))
    await Promise.all(nodes.map((n) => n.listening()))
    const ids = nodes.map((n) => n.peerId)
    const nameOf = new Map(nodes.map((n) => [n.peerId, n.name]))
    const detail = (set: Node[]) => (): string =>
      `components: ${components(edges(set)).map((c) => c.map((id) => nameOf.get(id)).join(',')).join(' | ')}\n${summary(set)}`
    const anyDead = (): boolean => nodes.some((n) => !n.running)
    mark('listening')

    // 1. Everyone finds everyone (5 nodes, below the low watermark of 8: a full mesh).
    const mesh = (set: Node[]): boolean => set.every((n) => set.every((m) => m === n || n.connected.has(m.peerId)))
    await until(() => mesh(nodes), 'a full mesh of 5', 30_000, detail(nodes), anyDead)
    const timeline = (m: Node): string => m.events.map((e, j) => [e, m.times[j]! - t0] as const).filter(([e]) => e.type !== 'ping.rtt')
      .map(([e, at]) => `${at}:${e.type}:${nameOf.get(e.peer) ?? ''}${e.direction ? `(${e.direction})` : ''}${e.reason ? `(${e.reason})` : ''}`).join(' ')
    // Everyone but the bootstrap was told of the others by the network (a peer exchange sample or
    // the peer's own hello: peer.discovered). Waited for: the hello of the last connection made
    // is read just after its peer.connected (one run under load checked too early and missed it).
    const missing = (n: Node): string[] => ids.filter((id) => id !== n.peerId && id !== ids[0] && !n.discovered.has(id))
    await until(() => nodes.slice(1).every((n) => missing(n).length === 0), 'peer.discovered for every other non-bootstrap node', 10_000,
      () => nodes.map((m) => `${m.name} (missing ${missing(m).map((id) => nameOf.get(id))}): ${timeline(m)}`).join('\n'), anyDead)
    for (const n of nodes) {
      for (const e of n.events.filter((e) => e.type === 'peer.connected')) expect(e.address).toMatch(e.direction === 'outbound' ? /^ws:\/\/10\.77\.0\.[1-5]:4001\/p2p\// : /^ws:\/\/10\.77\.0\.[1-5]:\d+/)
    }
    mark('mesh')

    // 2. Partition: node 5's interface goes down. No segment reaches either side any more, so
    // nothing closes the TCP connections: each side's keep-alive must notice (≤ 15 s + 20 s).
    const cut = nodes[COUNT - 1]!
    const rest = nodes.slice(0, COUNT - 1)
    const eventsBefore = new Map(nodes.map((n) => [n, n.events.length]))
    const tDown = Date.now()
    ip('-n', nodeNs(COUNT), 'link', 'set', 'eth0', 'down')
    await until(
      () => rest.every((n) => !n.connected.has(cut.peerId)) && cut.connected.size === 0,
      `${cut.name} and its peers to see each other disconnected`,
      KEEPALIVE_BOUND + 15_000,
      detail(nodes),
      anyDead,
    )
    const detected = Date.now() - tDown
    mark('partition seen')
    const drops = nodes.flatMap((n) => n.events.flatMap((e, j) =>
      j >= eventsBefore.get(n)! && e.type === 'peer.disconnected' && (n === cut || e.peer === cut.peerId) ? [{ reason: e.reason as string, after: n.times[j]! - tDown }] : []))
    const reasons = drops.map((d) => d.reason)
    const dropTimes = drops.map((d) => d.after).sort((a, b) => a - b)
    expect(reasons.length).toBeGreaterThanOrEqual(2 * (COUNT - 1))
    expect(new Set(reasons), 'disconnect reasons').toEqual(new Set(['ping-timeout']))
    // Not before a keep-alive could have fired; the four others never lost each other.
    expect(dropTimes[0]).toBeGreaterThanOrEqual(15_000 - 1000)
    expect(mesh(rest), detail(rest)()).toBe(true)

    // 3. The link comes back: node 5 rejoins (it redials its bootstrap and known peers with
    // backoff; the others redial it when their connection manager ticks) and the mesh is whole.
    const tUp = Date.now()
    ip('-n', nodeNs(COUNT), 'link', 'set', 'eth0', 'up')
    await until(() => [...cut.connected].some((p) => ids.includes(p)), `${cut.name} to reconnect to someone`, 30_000, detail(nodes), anyDead)
    const rejoined = Date.now() - tUp
    mark('rejoined')
    await until(() => mesh(nodes), 'the full mesh again', 40_000, detail(nodes), anyDead)
    const meshAgain = Date.now() - tUp
    mark('mesh again')
    expect(components(edges(nodes))).toHaveLength(1)

    const exits = await Promise.all(nodes.map((n) => n.stop('SIGTERM', 15_000)))
    expect(exits.every((e) => e.code === 0 && e.signal === null), JSON.stringify(exits)).toBe(true)
    await sleep(0)
    console.log(`discovery-netns: partition noticed after ${dropTimes[0]}..${detected} ms (${drops.length} disconnects), first reconnection ${rejoined} ms after the link came up, ` +
      `full mesh after ${meshAgain} ms; timings (ms from start) ${JSON.stringify(timings)}`)
  }, 170_000)
})
