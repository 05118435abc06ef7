/**
 * Refused inbound connections, reported to the user without letting a flood flood them.
 *
 * The root sends `refused {address, reason}` for every inbound connection it refuses or that
 * ends before it authenticated: a connection limit (`too-many-connections`, the per-IP limits
 * of lib/admission.ts, a shed pending slot), a failed or timed-out handshake, another private
 * network. Within a window (`refusalWindow`, 1 s), the first `REFUSALS_PER_WINDOW` (10) become
 * `connection.refused {address, reason}` events; the rest are only counted, and summarised
 * once when the window ends as `connection.refused.suppressed {count, reasons}` (count per
 * reason, at most `MAX_SUMMARY_REASONS` distinct reasons, the rest under `other`). So a flood
 * costs the user at most 11 events a second, and every refusal is accounted for.
 *
 * Chart: `quiet` → (a refusal) → `reporting` —after the window, or `flush` at close→ `quiet`.
 * Data: the counters.
 * @module
 */
import { assign, emit, setup } from 'xstate'
import type { ConnectionRefused, ConnectionRefusedSuppressed } from './vocab.js'

/** Refusals shown as events per window; beyond that they are counted and summarised. */
export const REFUSALS_PER_WINDOW = 10
/** The window, in milliseconds. */
export const REFUSAL_WINDOW_MS = 1000
/** Distinct reasons a summary names; the rest are counted under `other`. */
export const MAX_SUMMARY_REASONS = 16


export interface RefusalsContext {
  shown: number
  suppressed: number
  reasons: Record<string, number>
}

export type RefusalsEvent =
  /** An inbound connection was refused (from the root). */
  | { type: 'refused'; address: string; reason: string }
  /** The swarm is closing: summarise the open window now. */
  | { type: 'flush' }

function countReason(reasons: Record<string, number>, reason: string): Record<string, number> {
  const key = reason in reasons || Object.keys(reasons).length < MAX_SUMMARY_REASONS ? reason : 'other'
  return { ...reasons, [key]: (reasons[key] ?? 0) + 1 }
}

export const refusalsMachine = setup({
  types: {
    context: {} as RefusalsContext,
    events: {} as RefusalsEvent,
    emitted: {} as ConnectionRefused | ConnectionRefusedSuppressed,
  },
  delays: { refusalWindow: REFUSAL_WINDOW_MS },
  guards: {
    withinWindowBudget: ({ context }) => context.shown < REFUSALS_PER_WINDOW,
    someSuppressed: ({ context }) => context.suppressed > 0,
  },
  actions: {
    report: emit(({ event }) => {
      const e = event as Extract<RefusalsEvent, { type: 'refused' }>
      return { type: 'connection.refused' as const, address: e.address, reason: e.reason }
    }),
    countShown: assign({ shown: ({ context }) => context.shown + 1 }),
    countSuppressed: assign({
      suppressed: ({ context }) => context.suppressed + 1,
      reasons: ({ context, event }) => countReason(context.reasons, (event as { reason: string }).reason),
    }),
    summarise: emit(({ context }) => ({ type: 'connection.refused.suppressed' as const, count: context.suppressed, reasons: context.reasons })),
    resetWindow: assign({ shown: 0, suppressed: 0, reasons: () => ({}) }),
  },
}).createMachine({
  id: 'refusals',
  context: { shown: 0, suppressed: 0, reasons: {} },
  initial: 'quiet',
  states: {
    quiet: {
      on: { refused: { target: 'reporting', actions: ['report', 'countShown'] } },
    },
    /** A window is open: report within its budget, count the rest. */
    reporting: {
      after: { refusalWindow: { target: 'windowEnded' } },
      on: {
        refused: [
          { guard: 'withinWindowBudget', actions: ['report', 'countShown'] },
          { actions: 'countSuppressed' },
        ],
        flush: { target: 'windowEnded' },
      },
    },
    /** Say how many were not shown (if any), then wait for the next refusal. */
    windowEnded: {
      always: [
        { guard: 'someSuppressed', target: 'quiet', actions: ['summarise', 'resetWindow'] },
        { target: 'quiet', actions: 'resetWindow' },
      ],
    },
  },
})
