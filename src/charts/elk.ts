/**
 * `createElk()`: an elkjs layout engine (the bundled build, no worker thread).
 *
 * Why this file: elkjs is CommonJS whose typings declare an ES default export; under NodeNext
 * TypeScript sees the module object there, while Node hands the class itself. The cast sits here.
 * @module
 */
import ElkBundled from 'elkjs/lib/elk.bundled.js'
import type { ELK } from 'elkjs/lib/elk-api.js'

type ElkClass = new () => ELK
const Elk = ((ElkBundled as unknown as { default?: ElkClass }).default ?? (ElkBundled as unknown as ElkClass))

export function createElk(): ELK {
  return new Elk()
}
