/**
 * Starting a recording from createSwarm: the recorder module (Node's fs) is loaded only when
 * `record` is given, so a swarm that does not record, or a browser build, never loads it.
 * @module
 */
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import type { SwarmOptions } from '../create-swarm.js'
import type { Recorder } from './recorder.js'

export interface RecordedKeys {
  peerId: string
  identityKey: Uint8Array
  staticPublicKey: Uint8Array
  identitySignature: Uint8Array
  seed: Uint8Array
  protocols: readonly ProtocolDefinition[]
}

/** Open the recording `options.record` for a node with these public keys and seed. */
export async function startRecording(options: SwarmOptions, keys: RecordedKeys): Promise<Recorder> {
  const [{ Recorder }, { recordedOptions }] = await Promise.all([import('./recorder.js'), import('./options.js')])
  const { protocols, ...facts } = keys
  return new Recorder(options.record, {
    ...facts,
    options: recordedOptions(options),
    privateNetwork: options.swarmKey !== undefined,
    protocols: protocols.map((p) => p.id),
  })
}
