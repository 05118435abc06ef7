// V8's CPU profiler around one part of a benchmark (the benchmarks' one copy of it): the samples
// cover only what `measure` runs, not the set-up before it. The file opens in Chrome DevTools
// or speedscope; `node bench/pubsub/profile-shares.mjs FILE` splits it by package.
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { dirname } from 'node:path'

/**
 * Run `measure` under the CPU profiler, sampling every `intervalUs` microseconds, and write the
 * profile to `out` (its directory made if missing). Resolves to what `measure` resolved to.
 */
export async function cpuProfiled (measure, { out, intervalUs }) {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs })
    await session.post('Profiler.start')
    const result = await measure()
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, JSON.stringify(profile))
    return result
  } finally {
    session.disconnect()
  }
}
