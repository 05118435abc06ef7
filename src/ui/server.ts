/**
 * The live page's server: `startUi({ port })` serves the page (built by `npm run build` into
 * dist/src/ui/page/, no CDN) on 127.0.0.1 and streams the hub's messages (hub.ts) to each page over a
 * WebSocket at `/events`, the current picture first.
 *
 * Only loopback: the page shows the swarm's internals. Bounded: a page that does not read
 * (more than `maxBufferedBytes` waiting) is disconnected rather than buffered without end.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createElk } from '../charts/elk.js'
import { WebSocketServer } from 'ws'
import { UiHub } from './hub.js'

export interface UiOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number
  /** Bytes waiting for one page before it is disconnected. Default 8 MiB. */
  maxBufferedBytes?: number
}

export interface UiServer {
  /** `http://127.0.0.1:<port>/` */
  url: string
  hub: UiHub
  close(): Promise<void>
}

const here = dirname(fileURLToPath(import.meta.url))
/** The package's root (where package.json is), from this module in src/ui/ or dist/src/ui/. */
export const PACKAGE_ROOT = here.includes(join('dist', 'src')) ? join(here, '..', '..', '..') : join(here, '..', '..')

/** Where `npm run build` puts the page: next to the built server, so the package ships it. */
export const PAGE_DIR = join(PACKAGE_ROOT, 'dist', 'src', 'ui', 'page')

const TYPES: Record<string, string> = { '/': 'text/html; charset=utf-8', '/app.js': 'text/javascript; charset=utf-8' }
const FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js' }

/** Start the page's server on 127.0.0.1. */
export async function startUi(options: UiOptions = {}): Promise<UiServer> {
  const hub = new UiHub(createElk())
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const file = FILES[path]
    if (req.method !== 'GET' || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    readFile(join(PAGE_DIR, file)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[path], 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end(`the page is not built: run npm run build (missing ${join(PAGE_DIR, file)})\n`),
    )
  })
  const wss = new WebSocketServer({ server, path: '/events', maxPayload: 1024 })
  wss.on('connection', (socket) => {
    const unsubscribe = hub.subscribe((m) => {
      if (socket.readyState !== socket.OPEN) return
      if (socket.bufferedAmount > maxBuffered) {
        socket.close(1013, 'too slow')
        return
      }
      socket.send(JSON.stringify(m))
    })
    socket.on('close', unsubscribe)
    socket.on('error', unsubscribe)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/`,
    hub,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
