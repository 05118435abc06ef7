/**
 * Size of the browser build: `xswarm`'s main entry bundled for browsers the way an app's bundler
 * does it (esbuild, platform browser, so package.json's `browser` map swaps in the browser
 * WebSocket transport, the @noble suite and the Node-only stand-ins), minified, then gzipped.
 *
 *   npm run build && npx tsx bench/browser-bundle.ts
 *
 * Writes bench/results/browser-bundle.json (bytes minified and gzipped, and the largest inputs).
 * `bundleForBrowser` is also what test/browser/browser-node.test.ts serves to Chromium.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The built `dist/src/index.js` bundled for browsers as one ES module (run `npm run build` first). */
export async function bundleForBrowser(minify = true): Promise<{ code: Uint8Array; inputs: Record<string, number> }> {
  const result = await build({
    absWorkingDir: root, entryPoints: ['dist/src/index.js'], bundle: true, platform: 'browser', format: 'esm',
    target: 'es2022', minify, write: false, metafile: true, logLevel: 'silent',
  })
  const output = Object.values(result.metafile.outputs)[0]
  const inputs = Object.fromEntries(Object.entries(output.inputs).map(([file, v]) => [file, v.bytesInOutput]))
  return { code: result.outputFiles[0].contents, inputs }
}

async function main(): Promise<void> {
  const { code, inputs } = await bundleForBrowser()
  const gzipped = gzipSync(code, { level: 9 }).length
  const byPackage: Record<string, number> = {}
  for (const [file, bytes] of Object.entries(inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? 'xswarm'
    byPackage[pkg] = (byPackage[pkg] ?? 0) + bytes
  }
  const result = {
    date: new Date().toISOString(),
    command: 'npm run build && npx tsx bench/browser-bundle.ts',
    bundler: 'esbuild (platform browser, esm, es2022, minify)',
    minifiedBytes: code.length,
    gzippedBytes: gzipped,
    minifiedBytesByPackage: Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1])),
  }
  console.log(`browser bundle: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gzipped / 1024).toFixed(1)} KiB gzipped`)
  console.log(result.minifiedBytesByPackage)
  const out = join(root, 'bench', 'results', 'browser-bundle.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
