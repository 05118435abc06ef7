/**
 * Builds the live page into dist/src/ui/page/ (`npm run build` runs it after tsc): esbuild bundles
 * src/ui/page/main.ts (and the chart renderer it shares with `xswarm export`) into one
 * `app.js`, and index.html is copied next to it. The server (server.ts) serves these two
 * files from the package: no CDN, nothing fetched at run time.
 *
 *   node dist/src/ui/build.js
 * @module
 */
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PAGE_DIR, PACKAGE_ROOT } from './server.js'

/** Bundle the page into dist/src/ui/page/ (esbuild is a development dependency: only a build needs it). */
export async function buildPage(): Promise<void> {
  const { build } = await import('esbuild')
  await mkdir(PAGE_DIR, { recursive: true })
  await build({
    entryPoints: [join(PACKAGE_ROOT, 'src', 'ui', 'page', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outfile: join(PAGE_DIR, 'app.js'),
    logLevel: 'warning',
  })
  await copyFile(join(PACKAGE_ROOT, 'src', 'ui', 'page', 'index.html'), join(PAGE_DIR, 'index.html'))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildPage()
