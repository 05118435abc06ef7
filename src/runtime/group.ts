/**
 * Frames of grouped protocols (`ProtocolDefinition.grouped`), taken together by the pump
 * (driver.ts, `gathered`): which inputs qualify, and how runs of them become one input.
 * @module
 */
import type { ConnFrames, Input } from '../../machines/vocab.js'

/** Whether every input is a frame of a grouped protocol. */
export function allGrouped(input: Input | Input[], grouped: ReadonlySet<string>): boolean {
  if (!Array.isArray(input)) return input.type === 'io.conn.frame' && grouped.has(input.protocol)
  for (const part of input) if (!allGrouped(part, grouped)) return false
  return true
}

/** Consecutive frames of one grouped protocol as one `io.conn.frames`, in order; the rest as they are. */
export function groupRuns(inputs: Input[], grouped: ReadonlySet<string>): Input[] {
  const out: Input[] = []
  for (const input of inputs) {
    const last = out.length > 0 ? out[out.length - 1] : undefined
    if (input.type === 'io.conn.frame' && last !== undefined && grouped.has(input.protocol)) {
      if (last.type === 'io.conn.frames' && last.protocol === input.protocol) {
        last.frames.push(input)
        continue
      }
      if (last.type === 'io.conn.frame' && last.protocol === input.protocol) {
        out[out.length - 1] = { type: 'io.conn.frames', protocol: input.protocol, frames: [last, input] } satisfies ConnFrames
        continue
      }
    }
    out.push(input)
  }
  return out
}
