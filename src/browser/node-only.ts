/**
 * Stand-ins for Node-only modules in the browser build (package.json `browser` maps each Node
 * module here): sharing a web server, identity and peer-store files, recordings. Each says why it cannot
 * work in a browser and what to do instead, rather than failing on a missing `node:fs`.
 * @module
 */

function nodeOnly(what: string, instead: string): never {
  throw new Error(`${what} needs Node and is not in the browser build: ${instead}`)
}

// transport/ws-shared.js
export const DEFAULT_SHARED_PATH = '/xswarm'
export function checkSharedServer(): never {
  return nodeOnly('listen { server }', 'a browser node is dial-only')
}
export function sharedServerUrl(): never {
  return nodeOnly('listen { server }', 'a browser node is dial-only')
}
export function listenShared(): never {
  return nodeOnly('listen { server }', 'a browser node is dial-only')
}

// identity/identity-file.js
export function loadOrCreateIdentity(): never {
  return nodeOnly('identityFile', 'pass secretKey (keep it in IndexedDB, see loadBrowserIdentity)')
}

// discovery/peer-store-file.js
export async function loadPeerStore(): Promise<never[]> {
  return []
}
export function savePeerStore(): never {
  return nodeOnly('savePeerStore', 'keep discovery.exported peers in IndexedDB or localStorage yourself')
}
export function createPeerStoreWriter(): never {
  return nodeOnly('createPeerStoreWriter', 'keep discovery.exported peers in IndexedDB or localStorage yourself')
}

// record/start.js
export async function startRecording(): Promise<never> {
  return nodeOnly('createSwarm({ record })', 'record a Node process (xswarm node --record), or leave record out')
}
