/**
 * User calls: runs a protocol's user function (`defineProtocol({ calls })`, e.g. a pubsub
 * validator) when a machine asks with `effect.call`; its answer, sync or async, success or
 * throw, comes back only as an `io.call.done` input at the tail of the queue.
 * @module
 */
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import type { CallDone } from '../../machines/vocab.js'

type UserFunction = (args: any) => unknown

export class UserCalls {
  private readonly calls = new Map<string, Record<string, UserFunction>>()
  private readonly enqueue: (input: CallDone) => void

  constructor(protocols: readonly ProtocolDefinition[], enqueue: (input: CallDone) => void) {
    this.enqueue = enqueue
    for (const def of protocols) if (def.calls) this.calls.set(def.id, def.calls)
  }

  call(protocol: string, callId: number, fn: string, args: unknown): void {
    const done = (value?: unknown, error?: string): void => {
      this.enqueue({ type: 'io.call.done', protocol, callId, ...(error === undefined ? { value } : { error }) })
    }
    const f = this.calls.get(protocol)?.[fn]
    if (!f) return done(undefined, `no function "${fn}" for ${protocol}`)
    try {
      const result = f(args)
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        ;(result as Promise<unknown>).then((value) => done(value), (error) => done(undefined, messageOf(error)))
      } else {
        done(result)
      }
    } catch (error) {
      done(undefined, messageOf(error))
    }
  }
}

function messageOf(error: unknown): string {
  return String((error as Error)?.message ?? error)
}
