/**
 * `xswarm/testing`: the simulator and what runs on it. Many swarms in one process on virtual
 * time over a simulated network with seeded faults, simulated nodes that crash and restart.
 * Everything here sits above the facade (`xswarm`) and nothing below imports it.
 * @module
 */
export { createSimulation, type Simulation, type SimulationOptions, type RunOptions, type RunResult } from './simulation.js'
export { LinkModel, type LinkOptions, type LatencyOptions } from './links.js'
export { SimNode, startNodes, type SimNodeOptions } from './node.js'
