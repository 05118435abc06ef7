/**
 * The CLI's side of the live page (`xswarm demo --ui`, `xswarm node --ui PORT`): start the
 * page's server on 127.0.0.1, a port that cannot be had being an error the user can act on.
 * @module
 */
import { startUi, type UiServer } from '../ui/server.js'
import { CliError } from './args.js'

export async function startUiFor(port: number): Promise<UiServer> {
  try {
    return await startUi({ port })
  } catch (error) {
    throw new CliError(`cannot serve the live page on 127.0.0.1:${port}: ${(error as Error).message}`)
  }
}
