/**
 * `xswarm/testing`: the simulator and what runs on it. Many swarms in one process on virtual
 * time over a simulated network with seeded faults, simulated nodes that crash and restart,
 * scenarios with invariants, the seed runner (worker threads, shrinking, replay commands), and
 * `replay(file)` for a recorded node (`createSwarm({ record })`).
 * Everything here sits above the facade (`xswarm`) and nothing below imports it.
 * @module
 */
export { createSimulation, type Simulation, type SimulationOptions, type RunOptions, type RunResult } from './simulation.js'
export { LinkModel, type LinkOptions, type LatencyOptions } from './links.js'
export { SimNode, startNodes, type SimNodeOptions } from './node.js'
export { FAULTS, parseFaults, planFaults, type FaultName, type FaultPlan, type FaultEvent } from './faults.js'
export { runScenario, World, type Scenario, type ScenarioParams, type RunReport, type Failure } from './scenario.js'
export { scenarios, pubsubScenario, discoveryScenario } from './scenarios.js'
export { actorsScenario } from './actors-scenario.js'
export {
  coreInvariants, noDuplicateConnections, viewAgreesWithEvents, pubsubExactlyOnce, memoryBounded,
  type Invariant, type InvariantFactory,
} from './invariants.js'
export { runSeeds, loadScenario, replayCommand, shrink, type SeedRunOptions, type SeedRunResult, type SeedFailure } from './runner.js'
export { replay, type ReplayOptions, type ReplayResult, type ActorState } from '../record/replay.js'
export { RecordingError, RecordingCodes, RECORDING_FORMAT, type RecordingHeader } from '../record/format.js'
