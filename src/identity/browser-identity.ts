/**
 * A browser node's identity kept in IndexedDB, so its peer id survives reloads: the 32-byte
 * ed25519 secret key under a name, made with crypto.getRandomValues on first use. Pass the result
 * as `createSwarm({ secretKey })`. (In Node, use `identityFile`.) Like any data of the page's
 * origin, the key is readable by every script the page runs.
 * @module
 */

const DB = 'xswarm'
const STORE = 'identity'

/** Open (or create) the database. */
function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('indexedDB.open failed'))
  })
}

function run<T>(db: IDBDatabase, mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = act(db.transaction(STORE, mode).objectStore(STORE))
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'))
  })
}

/**
 * The secret key stored under `name` in this origin's IndexedDB, created on first use.
 * @throws Error when IndexedDB is not available (not a browser, or storage is blocked)
 */
export async function loadBrowserIdentity(name = 'default'): Promise<Uint8Array> {
  if (typeof indexedDB === 'undefined') throw new Error('loadBrowserIdentity: no IndexedDB here (in Node, use createSwarm({ identityFile }))')
  const db = await open()
  try {
    const stored = await run<unknown>(db, 'readonly', (s) => s.get(name))
    if (stored instanceof Uint8Array && stored.length === 32) return stored
    if (stored !== undefined) throw new Error(`loadBrowserIdentity: the entry '${name}' is not a 32-byte key (refusing to replace it)`)
    const key = crypto.getRandomValues(new Uint8Array(32))
    await run(db, 'readwrite', (s) => s.add(key, name))
    return key
  } finally {
    db.close()
  }
}
