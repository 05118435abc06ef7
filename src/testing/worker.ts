/**
 * A worker thread of the seed runner (runner.ts): loads the scenario once, then runs the
 * parameters it is sent, one at a time, and answers with each report.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { loadScenario } from './runner.js'
import { runScenario, type ScenarioParams } from './scenario.js'

const { spec } = workerData as { spec: string }
const scenario = await loadScenario(spec)
parentPort!.on('message', async ({ index, params }: { index: number; params: ScenarioParams }) => {
  try {
    parentPort!.postMessage({ index, report: await runScenario(scenario, params) })
  } catch (error) {
    parentPort!.postMessage({ index, error: error instanceof Error ? error.stack ?? error.message : String(error) })
  }
})
