/**
 * The package version, read from package.json (found by walking up from this file, so it
 * works from src/ under tsx and from dist/ after the build).
 * @module
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

export function packageVersion(): string {
  if (cached !== undefined) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'xswarm' && typeof pkg.version === 'string') return (cached = pkg.version)
    } catch {
      // not here: go up
    }
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return (cached = 'unknown')
}
