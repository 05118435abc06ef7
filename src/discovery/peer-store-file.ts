/**
 * Persist discovery's peer store to a JSON file, atomically and debounced.
 *
 * The machine never touches files: it answers `discovery.export` (and emits one on
 * `swarm.closing`) with `discovery.exported {peers}`, and takes `options.knownPeers` at start.
 * This module is the shell side used by `xswarm node --data DIR`: `loadPeerStore` reads the file
 * (a missing or corrupt file gives `[]`: persistence is a hint, never a reason not to start),
 * `savePeerStore` writes a temporary file in the same directory, fsyncs it and renames it over
 * the old one (readers see the old or the new file, never half of one), and
 * `createPeerStoreWriter` coalesces frequent exports into at most one write per `debounceMs`.
 * @module
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ExportedPeer } from '../../machines/discovery/peer-store.js'

/** Files larger than this are not read (the store is bounded; this is far above its bound). */
export const MAX_PEER_STORE_BYTES = 16 * 1024 * 1024

/**
 * Read a peer store file: a JSON array of exported peers (the format `xswarm node --data`
 * writes), each entry validated again by the machine when imported as `knownPeers`; `[]` if the
 * file is missing, too large or not such an array.
 */
export async function loadPeerStore(path: string): Promise<ExportedPeer[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return []
  }
  if (text.length > MAX_PEER_STORE_BYTES) return []
  try {
    const data = JSON.parse(text) as unknown
    if (!Array.isArray(data)) return []
    return data.filter((p): p is ExportedPeer =>
      typeof p === 'object' && p !== null && typeof p.peer === 'string' && Array.isArray(p.addresses))
  } catch {
    return []
  }
}

let tmpCounter = 0

/** Write `peers` to `path` atomically (temporary file, fsync, rename). */
export async function savePeerStore(path: string, peers: readonly ExportedPeer[]): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('"path" expected a non-empty string')
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`
  const handle = await open(tmp, 'w', 0o600)
  try {
    await handle.writeFile(JSON.stringify(peers, null, 1) + '\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

export interface PeerStoreWriter {
  /** Remember the latest export; it is written at most `debounceMs` later. */
  schedule(peers: readonly ExportedPeer[]): void
  /** Write the pending export now (if any) and wait for every write to finish. */
  flush(): Promise<void>
  /** Flush, then refuse further schedules. */
  close(): Promise<void>
}

/**
 * A debounced writer: many `discovery.exported` events in a burst cost one write. Writes never
 * overlap; a failed write is reported to `onError` (default: ignored) and the next one retries.
 */
export function createPeerStoreWriter(
  path: string,
  options: { debounceMs?: number; onError?: (err: unknown) => void } = {},
): PeerStoreWriter {
  const debounceMs = options.debounceMs ?? 5_000
  if (!Number.isFinite(debounceMs) || debounceMs < 0) throw new RangeError(`"debounceMs" expected a number ≥ 0, got ${debounceMs}`)
  let pending: readonly ExportedPeer[] | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let writing: Promise<void> = Promise.resolve()
  let closed = false

  const writeNow = (): Promise<void> => {
    if (timer !== undefined) { clearTimeout(timer); timer = undefined }
    const peers = pending
    pending = undefined
    if (peers === undefined) return writing
    writing = writing.then(() => savePeerStore(path, peers)).catch((err) => options.onError?.(err))
    return writing
  }

  return {
    schedule(peers) {
      if (closed) return
      pending = peers
      if (timer === undefined) {
        timer = setTimeout(() => { void writeNow() }, debounceMs)
        timer.unref?.()
      }
    },
    flush: writeNow,
    async close() {
      await writeNow()
      closed = true
    },
  }
}
