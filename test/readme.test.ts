/**
 * The README's code blocks: every block that is a complete program runs, as a user would run
 * it, against the built package (`import … from 'xswarm'` resolves to dist/ through the
 * package's own `exports`), and exits 0 within a bounded time. A `ts` block that imports
 * anything must say which kind it is in an HTML comment on the line before it:
 * `<!-- readme: run -->` or `<!-- readme: fragment (why) -->`, so no program goes untested
 * unnoticed. Also: every full address the README shows (no `…`) is one `dial` accepts.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseDialAddress } from '../src/identity/address.js'

const root = new URL('..', import.meta.url).pathname
const readme = readFileSync(join(root, 'README.md'), 'utf8')

interface Block { line: number; lang: string; code: string; tag: string | undefined }

function codeBlocks(text: string): Block[] {
  const lines = text.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i])
    if (!open) continue
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'))
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`)
    const tag = /^<!-- readme: (.+?) -->$/.exec(lines[i - 1] ?? '')?.[1]
    blocks.push({ line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join('\n'), tag })
    i = end
  }
  return blocks
}

const blocks = codeBlocks(readme)
const programs = blocks.filter((b) => b.tag === 'run')
// Inside the package (so `xswarm` resolves to itself), removed afterwards; tmp/ is git-ignored.
mkdirSync(join(root, 'tmp'), { recursive: true })
const dir = mkdtempSync(join(root, 'tmp', 'readme-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 20_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }))
  })
}

describe('README code blocks', () => {
  it('every ts block that imports something is tagged as a program to run or as a fragment', () => {
    const untagged = blocks.filter((b) => b.lang === 'ts' && /^import /m.test(b.code) && b.tag === undefined)
    expect(untagged.map((b) => `README.md:${b.line}`)).toEqual([])
    expect(blocks.filter((b) => b.tag !== undefined && !/^(run|fragment \(.+\))$/.test(b.tag)).map((b) => `README.md:${b.line}: ${b.tag}`)).toEqual([])
    expect(programs.length).toBeGreaterThanOrEqual(2)
  })

  describe.concurrent('programs', () => {
    it.each(programs.map((b) => [`README.md:${b.line}`, b] as const))('%s runs against the built package and exits 0', async (_name, block) => {
      const file = join(dir, `block-${block.line}.ts`)
      writeFileSync(file, block.code)
      const { code, stdout, stderr } = await run(file)
      expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0)
    }, 30_000)
  })

  it('every full address it shows is one dial accepts', () => {
    const addresses = [...readme.matchAll(/(?:ws|wss):\/\/[^\s'"`)<>]+\/p2p\/[^\s'"`)<>…]+(?=[\s'"`)])/g)].map((m) => m[0])
    expect(addresses.length).toBeGreaterThanOrEqual(2)
    for (const address of addresses) expect(() => parseDialAddress(address), address).not.toThrow()
  })
})
