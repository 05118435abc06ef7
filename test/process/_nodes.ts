/**
 * Helpers for tests that run `xswarm` as OS processes (also used by xswarm-cli.test.ts): build dist/ if needed, spawn a node (optionally under a command prefix
 * such as `ip netns exec NS`), parse its JSON event lines, keep its current connected set and
 * the peers it discovered, wait with bounds, stop by PID. Not a test file (no `.test.ts`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const root = new URL('../..', import.meta.url).pathname
export const main = join(root, 'dist/src/cli/main.js')

/** The build is missing or older than a source file it depends on: build (tsc emits even with type errors elsewhere). */
export function ensureBuilt(): void {
  const built = existsSync(main) ? statSync(main).mtimeMs : 0
  const newest = Math.max(
    ...['src/cli', 'src/record', 'src/runtime', 'src/discovery', 'machines/discovery', 'src/actors', 'machines/actors', 'examples'].flatMap((d) => {
      const full = join(root, d)
      return existsSync(full) ? readdirSync(full).map((f) => statSync(join(full, f)).mtimeMs) : []
    }),
  )
  if (built >= newest) return
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore', timeout: 150_000 })
  } catch {
    // type errors in files being written by others; the emit still happened
  }
  if (!existsSync(main)) throw new Error(`build failed: ${main} does not exist`)
}

export type Json = { type: string } & Record<string, any>

/** Split a child's stdout into lines; `json` gets each line that parses as a JSON event. */
export function readLines(child: ChildProcess, line: (text: string) => void, json: (event: Json) => void, after?: () => void): void {
  let buffer = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk
    let i: number
    while ((i = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, i)
      buffer = buffer.slice(i + 1)
      line(text)
      if (!text.startsWith('{')) continue
      let event: Json
      try { event = JSON.parse(text) as Json } catch { continue }
      json(event)
    }
    after?.()
  })
}

/** `ws://127.0.0.1:p/p2p/<id>` → `<id>`. */
export const peerOf = (address: string): string => address.slice(address.lastIndexOf('/') + 1)

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Every process started through `Node`, until it exits: killed by PID in `killAll`. */
export const live = new Set<Node>()

/** One spawned `xswarm node --json` process. */
export class Node {
  readonly child: ChildProcess
  readonly lines: string[] = []
  readonly events: Json[] = []
  /** When (Date.now()) each of `events` was read. */
  readonly times: number[] = []
  /** Connected peers as of the last event read (peer.connected adds, peer.disconnected removes). */
  readonly connected = new Set<string>()
  /** Every peer ever connected. */
  readonly everConnected = new Set<string>()
  /** Peers announced by `peer.discovered`. */
  readonly discovered = new Set<string>()
  /** When (Date.now()) this node's connected set first reached each size. */
  readonly reachedDegree: number[] = []
  stderr = ''
  peerId = ''
  address = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined

  /** `prefix`: a command to run node under (e.g. `['ip', 'netns', 'exec', 'ns1']`, which execs in place: same PID). */
  constructor(readonly name: string, args: string[], prefix: string[] = []) {
    const [command, ...rest] = prefix.length > 0 ? [...prefix, process.execPath] : [process.execPath]
    this.child = spawn(command!, [...rest, main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(this)
    readLines(this.child, (line) => this.lines.push(line), (event) => {
      this.events.push(event)
      this.times.push(Date.now())
      this.#apply(event)
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        live.delete(this)
        this.exitInfo = { code, signal }
        resolve({ code, signal })
      })
    })
  }

  #apply(e: Json): void {
    switch (e.type) {
      case 'swarm.listening':
        if (!this.address && Array.isArray(e.addresses) && e.addresses.length > 0) {
          this.address = e.addresses[0] as string
          this.peerId = peerOf(this.address)
        }
        break
      case 'peer.connected':
        this.connected.add(e.peer as string)
        this.everConnected.add(e.peer as string)
        this.reachedDegree[this.connected.size] ??= Date.now()
        break
      case 'peer.disconnected':
        this.connected.delete(e.peer as string)
        break
      case 'peer.discovered':
        this.discovered.add(e.peer as string)
        break
    }
  }

  get pid(): number {
    return this.child.pid!
  }

  get running(): boolean {
    return this.exitInfo === undefined
  }

  /** A short account of this node for failure messages. */
  describe(lastLines = 8): string {
    const types = new Map<string, number>()
    for (const e of this.events) types.set(e.type, (types.get(e.type) ?? 0) + 1)
    const tail = this.lines.filter((l) => !l.includes('"ping.rtt"')).slice(-lastLines).join('\n    ')
    return `${this.name} pid ${this.pid} ${this.running ? 'running' : `exited ${JSON.stringify(this.exitInfo)}`} ` +
      `connected=${this.connected.size} discovered=${this.discovered.size} events=${JSON.stringify(Object.fromEntries(types))}\n` +
      `    ${tail}${this.stderr ? `\n    stderr: ${this.stderr.trim().slice(-500)}` : ''}`
  }

  /** Wait (bounded) for the first event matching. */
  async waitFor(match: (e: Json) => boolean, what: string, timeoutMs = 10_000): Promise<Json> {
    let found: Json | undefined
    await until(() => (found = this.events.find(match)) !== undefined, `${what} from ${this.name}`, timeoutMs, () => this.describe(20), () => !this.running)
    return found!
  }

  /**
   * Wait (bounded) for the listening address. 30 s: a full suite on 2 loaded cores once took
   * more than 15 s to start one of 20 node processes (a start-up bound, not a timing claim).
   */
  async listening(timeoutMs = 30_000): Promise<string> {
    await this.waitFor((e) => e.type === 'swarm.listening', 'swarm.listening', timeoutMs)
    return this.address
  }

  /** Signal this process by its PID and wait (bounded) for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo) return this.exitInfo
    try { process.kill(this.pid, signal) } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} pid ${this.pid} did not exit within ${timeoutMs} ms of ${signal}\n${this.stderr}`)), timeoutMs)
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * Poll `condition` every 100 ms until it holds; throw after `timeoutMs` (or at once when `abort`
 * says so) with `what` and `detail()`.
 */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs: number,
  detail: () => string = () => '',
  abort: () => boolean = () => false,
): Promise<number> {
  const started = Date.now()
  const deadline = started + timeoutMs
  for (let i = 0; i < Math.ceil(timeoutMs / 100) + 1; i++) {
    if (condition()) return Date.now() - started
    if (abort() || Date.now() > deadline) break
    await sleep(100)
  }
  if (condition()) return Date.now() - started
  throw new Error(`timed out after ${Date.now() - started} ms waiting for ${what}\n${detail()}`)
}

/** SIGKILL every process still running, by PID. */
export function killAll(): void {
  for (const node of live) {
    try { process.kill(node.pid, 'SIGKILL') } catch { /* already gone */ }
  }
  live.clear()
}

// The test worker exits without its afterEach/afterAll (e.g. torn down on a timeout): no node outlives it.
process.once('exit', killAll)

/** The undirected edges among `nodes` (by peer id), from each running node's connected set (union of both views). */
export function edges(nodes: Node[]): Map<string, Set<string>> {
  const ids = new Set(nodes.map((n) => n.peerId))
  const adjacency = new Map<string, Set<string>>()
  for (const id of ids) adjacency.set(id, new Set())
  for (const n of nodes) {
    for (const peer of n.connected) {
      if (!ids.has(peer) || peer === n.peerId) continue
      adjacency.get(n.peerId)!.add(peer)
      adjacency.get(peer)!.add(n.peerId)
    }
  }
  return adjacency
}

/** Connected components of the graph (each a list of peer ids). */
export function components(adjacency: Map<string, Set<string>>): string[][] {
  const seen = new Set<string>()
  const out: string[][] = []
  for (const start of adjacency.keys()) {
    if (seen.has(start)) continue
    const component: string[] = []
    const stack = [start]
    seen.add(start)
    while (stack.length > 0) {
      const id = stack.pop()!
      component.push(id)
      for (const next of adjacency.get(id) ?? []) {
        if (!seen.has(next)) {
          seen.add(next)
          stack.push(next)
        }
      }
    }
    out.push(component)
  }
  return out
}

/** One line per node: name, degree, discovered count; for failure messages. */
export function summary(nodes: Node[]): string {
  return nodes.map((n) => n.describe(3)).join('\n')
}
