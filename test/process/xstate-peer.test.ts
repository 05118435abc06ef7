/**
 * xstate is a peer dependency: the packed xswarm runs with the project's own xstate, at the
 * lowest and the newest 5.x it supports. For each, a temporary project installs the tarball
 * and that xstate from the npm registry, type-checks test/peer/smoke.ts (a user protocol made
 * with the project's `setup()`), runs it (two swarms, the protocol, pubsub), and holds exactly
 * one copy of xstate.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from './_nodes.js'

const root = new URL('../..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }
const range = pkg.peerDependencies.xstate
const lowest = /^\^(5\.\d+\.\d+)$/.exec(range)?.[1]

let work: string
let tarball: string
beforeAll(() => {
  ensureBuilt()
  work = mkdtempSync(join(tmpdir(), 'xswarm-peer-'))
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root, stdio: 'ignore', timeout: 120_000 })
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)
}, 180_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** A project with the tarball and `xstate@spec`; returns its directory. */
function project(name: string, spec: string): string {
  const dir = join(work, name)
  execFileSync('mkdir', ['-p', dir])
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `smoke-${name}`, private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball, `xstate@${spec}`], { cwd: dir, stdio: 'ignore', timeout: 240_000 })
  copyFileSync(join(root, 'test/peer/smoke.ts'), join(dir, 'smoke.ts'))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true,
      typeRoots: [join(root, 'node_modules/@types')], types: ['node'],
    },
    files: ['smoke.ts'],
  }))
  return dir
}

function check(dir: string): string {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 })
  expect(existsSync(join(dir, 'node_modules/xswarm/node_modules/xstate'))).toBe(false) // one copy: the project's
  return execFileSync(process.execPath, ['smoke.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
}

describe(`xstate as a peer dependency (${range})`, () => {
  it('declares xstate as a peer dependency with a ^5.x.y range', () => {
    expect(lowest).toBeDefined()
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.xstate).toBeUndefined()
  })

  it(`runs with the lowest supported xstate (${lowest})`, () => {
    expect(check(project('lowest', lowest!))).toContain(`smoke ok xstate ${lowest}`)
  }, 300_000)

  it('runs with the newest xstate 5.x', () => {
    const out = check(project('newest', '^5'))
    expect(out).toMatch(/smoke ok xstate 5\.\d+\.\d+/)
  }, 300_000)
})
