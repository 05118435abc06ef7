/**
 * Packaging: what `npm pack` ships, and a lockfile that `npm ci` accepts.
 *
 * The tarball holds the built library and CLI (dist/src, dist/machines), the TypeScript
 * sources their source maps point at (src/, machines/), README.md, SECURITY.md and LICENSE;
 * never the benchmarks, examples or tests, built or not. Every source map's sources and every
 * relative import of a shipped module resolve to shipped files, and every `exports`/`bin`
 * target is shipped.
 *
 * The lockfile: CI runs `npm install && npm test` (the README's command), and `npm install`
 * quietly repairs a lockfile that no longer matches package.json, so a stale lockfile would
 * pass CI and break `npm ci` for everyone else. So this test runs `npm ci --dry-run --offline`
 * on copies of package.json and package-lock.json in an empty directory: npm checks that the
 * two agree (every dependency, optional platform packages included) without downloading
 * anything, and fails with EUSAGE when they do not.
 */
import { execFile } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, normalize } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const root = new URL('../..', import.meta.url).pathname
const exec = promisify(execFile)
/** A file as committed at HEAD (the working copy outside a git checkout). */
function committed(file: string): string {
  try {
    return execFileSync('git', ['show', `HEAD:${file}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return readFileSync(join(root, file), 'utf8')
  }
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/**
 * What `npm pack` would ship from this checkout, less stale build output: a file in dist/
 * whose TypeScript source no longer exists (a module moved since the last build here). A clean
 * clone has none, and `prepack` empties dist/ before building, so a real tarball has none.
 */
async function packedFiles(): Promise<string[]> {
  const { stdout } = await exec(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, timeout: 60_000 })
  const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path)
  const stale = (f: string): boolean => f.startsWith('dist/') && !existsSync(join(root, f.slice('dist/'.length).replace(/(\.d\.ts|\.js\.map|\.js)$/, '.ts')))
  return files.filter((f) => !stale(f))
}

describe('package', () => {
  it('npm pack ships the library, its sources, README, SECURITY and LICENSE, and nothing of bench/examples/test', async () => {
    const files = await packedFiles()
    const shipped = new Set(files)
    for (const required of ['package.json', 'README.md', 'SECURITY.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/machines/index.js']) {
      expect(shipped, required).toContain(required)
    }
    expect(files.filter((f) => /^(dist\/)?(bench|examples|test)\//.test(f) || f.startsWith('node_modules/'))).toEqual([])
    // Every entry point of package.json is in the tarball.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const targets = [...Object.values(pkg.bin as Record<string, string>), pkg.main, pkg.types,
      ...Object.values(pkg.exports as Record<string, string | Record<string, string>>).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)))]
    for (const target of targets) expect(shipped, target).toContain(normalize(target))
    // Source maps point at shipped sources; shipped modules import only shipped modules.
    const missing: string[] = []
    for (const file of files) {
      if (file.endsWith('.map')) {
        const map = JSON.parse(readFileSync(join(root, file), 'utf8')) as { sources: string[] }
        for (const source of map.sources) if (!shipped.has(normalize(join(dirname(file), source)))) missing.push(`${file} → ${source}`)
      } else if (file.endsWith('.js')) {
        for (const m of readFileSync(join(root, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
          if (!shipped.has(normalize(join(dirname(file), m[1])))) missing.push(`${file} → ${m[1]}`)
        }
      }
    }
    expect(missing).toEqual([])
  }, 90_000)

  // A stale lockfile (e.g. without the optional @msgpackr-extract/* platform entries) makes
  // `npm ci` refuse it; the README's `npm install` would silently repair it, so check here.
  it('package-lock.json agrees with package.json (npm ci accepts it, optional platform packages included)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xswarm-ci-'))
    try {
      // The committed files (`npm install`, which CI runs first, silently repairs the working copy).
      for (const file of ['package.json', 'package-lock.json']) writeFileSync(join(dir, file), committed(file))
      const result = await exec(npm, ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 60_000 })
        .then(() => 'ok', (error: { stderr?: string }) => error.stderr ?? String(error))
      expect(result).toBe('ok')
      expect(existsSync(join(dir, 'node_modules'))).toBe(false) // a dry run: nothing installed
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
