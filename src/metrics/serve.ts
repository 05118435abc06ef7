/**
 * `xswarm node --metrics PORT`: a tiny node:http server on 127.0.0.1 that answers GET /metrics
 * with `metricsText(swarm)` and 404 for anything else. Loopback only: metrics name peers and
 * topics, so exposing them further is the operator's decision (put a proxy in front).
 * @module
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { METRICS_CONTENT_TYPE, metricsText } from './prometheus.js'

/** Serve `/metrics` of `swarm` on 127.0.0.1:`port` (0: any free port). */
export async function serveMetrics(swarm: object, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(metricsText(swarm))
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
  return {
    url,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
