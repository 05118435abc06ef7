/**
 * Benchmark runner for the core and the secure channel: measures, prints a table, writes JSON.
 *
 *   npx tsx bench/run.ts [--quick] [core|secure|all]      (or, after a build: npm run bench)
 *
 * `core` writes bench/results/core.json (queue inputs/s with XState baselines, connection
 * setups/s with raw ws and bare Noise baselines, churn and memory per connection); `secure`
 * writes bench/results/secure.json (handshakes, AEAD, one-connection throughput). Each file holds
 * the machine (node, cpu, load average, date, git commit) and the figures; nothing is asserted.
 * Every benchmark is bounded in time; `--quick` is a smoke run of a few seconds per section.
 * See bench/README.md for what each figure means.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { churnBench } from './core/churn.js'
import { queueBench } from './core/queue.js'
import { secureBench } from './core/secure.js'
import { setupBench } from './core/setup.js'
import { machineInfo, printTable, type Budget, type Figure } from './core/util.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const target = args.find((a) => !a.startsWith('--')) ?? 'all'
if (!['core', 'secure', 'all'].includes(target)) {
  console.error('usage: npx tsx bench/run.ts [--quick] [core|secure|all]')
  process.exit(2)
}
const budget: Budget = { quick, ms: quick ? 400 : 2000 }

/** bench/results, whether run from bench/ (tsx) or dist/bench/ (built). */
function resultsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const root = here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..') : join(here, '..')
  return join(root, 'bench', 'results')
}

interface Section { name: string; run: (b: Budget) => Promise<Figure[]> }

async function runSuite(file: string, title: string, sections: Section[]): Promise<void> {
  const started = Date.now()
  const figures: Figure[] = []
  const errors: { section: string; error: string }[] = []
  for (const section of sections) {
    console.error(`\n[${title}] ${section.name}`)
    try {
      const out = await section.run(budget)
      figures.push(...out)
      printTable(`${title}: ${section.name}`, out)
    } catch (error) {
      const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error)
      console.error(`[${title}] ${section.name} failed: ${message}`)
      errors.push({ section: section.name, error: message })
    }
  }
  const dir = resultsDir()
  mkdirSync(dir, { recursive: true })
  const result = {
    suite: title,
    machine: machineInfo(),
    budget,
    durationS: Math.round((Date.now() - started) / 100) / 10,
    figures,
    errors,
  }
  writeFileSync(join(dir, file), JSON.stringify(result, null, 2) + '\n')
  console.error(`[${title}] wrote ${join(dir, file)}`)
}

if (target === 'core' || target === 'all') {
  await runSuite('core.json', 'core', [
    { name: 'inputs per second through the root queue', run: queueBench },
    { name: 'connection setups per second', run: setupBench },
    { name: 'churn and memory per connection', run: churnBench },
  ])
}
if (target === 'secure' || target === 'all') {
  await runSuite('secure.json', 'secure', [{ name: 'secure channel', run: secureBench }])
}
// Sockets and timers of closed swarms may linger for their close timeouts: do not wait for them.
process.exit(0)
