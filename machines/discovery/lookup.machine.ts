/**
 * One iterative FIND_NODE lookup as an explicit statechart (spawned by the discovery machine).
 *
 *   querying ──(no candidate left)──────────────────────────────▶ done
 *      │ send the α closest `new` candidates to the parent (`lookup.query`)
 *      ▼
 *   waiting ──(a response names the target)─────────────────────▶ found
 *      │ last answer, last failure, or `after(queryTimeout)`
 *      ▼
 *   evaluating ──(k closest answered | an answered round brought no one into the k closest | maxRounds)──▶ done
 *      └──────────────────────────────────────────────────────────▶ querying
 *   any of them ──(lookup.cancel)───────────────────────────────▶ cancelled
 *   any of them ──after(lookupDeadline)─────────────────────────▶ timedOut  (a caller's timeout)
 *
 * Rounds: α queries go out together, and the round ends when all have answered or failed, or
 * when `queryTimeout` (dial included) passes, whichever is first; so the per-query deadline is
 * the round's `after`. A query that fails before it (a dial refused, a peer gone) is replaced
 * at once by the next closest candidate (`takeReplacement`), so a shortlist seeded with dead or
 * fake contacts does not cost a round each. Candidates are bounded per IP and per network
 * (diversity.ts), so one host naming many ids gets few places. Rounds are counted, for the O(log n) claims in tests.
 * Progress is measured on the k closest (not only the single closest): a round that answered
 * but brought no new peer into the k closest ends the lookup, as does a round whose queries
 * all failed only when no candidate is left; so a lookup does not stop one round early just
 * because its best seed was already the closest peer it would ever hear of.
 *
 * The machine never sends a frame: it asks its parent to query peers with
 * `lookup.query {lookupId, peers}` and hears back `lookup.response {peer, contacts}` or
 * `lookup.failed {peer}`. Its result is its output, read from `xstate.done.actor.<id>`.
 * Without a parent (tests with `transition`, `xstate/graph`) the request goes to itself and is
 * ignored.
 * @module
 */
import { assign, sendTo, setup, type AnyActorRef } from 'xstate'
import type { Key } from './kbucket.js'
import type { Diversity } from './diversity.js'
import {
  closestAnswered, closestPeers, createShortlist, expirePending, hasNew, isPending, mergeContacts,
  pendingCount, settle, takeNext, type Contact, type Shortlist,
} from './lookup.js'

export interface LookupInput {
  /** The child id, echoed in `lookup.query`. */
  lookupId: string
  target: Key
  /** For findPeer: the peer whose addresses we want (its key is `target`). */
  targetPeer?: string
  /** The closest peers the routing table knows. */
  seeds: Contact[]
  alpha: number
  k: number
  maxRounds: number
  queryTimeout: number
  /** Bounds per IP and network on the candidates (diversity.ts). */
  diversity?: Diversity
  /** The whole lookup ends by this many ms (default: more than its rounds can take). */
  deadline?: number
}

export interface LookupContext {
  lookupId: string
  target: Key
  targetPeer: string | undefined
  alpha: number
  k: number
  maxRounds: number
  queryTimeout: number
  deadline: number
  list: Shortlist
  /** Rounds started. */
  rounds: number
  /** Queries sent in all rounds. */
  queried: number
  /** Peers asked last: the round's, or a replacement's. */
  inFlight: string[]
  /** Answers received in the current round. */
  answers: number
  /** Contacts the current round brought into the k closest. */
  closer: number
  found: { peer: string; addresses: string[] } | undefined
  cancelled: boolean
  timedOut: boolean
}

export type LookupEvent =
  /** A queried peer answered with the peers it knows closest to the target. */
  | { type: 'lookup.response'; peer: string; contacts: Contact[] }
  /** A query could not be made or was not answered (dial failed, peer gone). */
  | { type: 'lookup.failed'; peer: string }
  /** Stop now (the swarm is closing). */
  | { type: 'lookup.cancel' }

/** What the lookup asks its parent to do. */
export interface LookupQuery { type: 'lookup.query'; lookupId: string; peers: string[] }

export interface LookupOutput {
  lookupId: string
  rounds: number
  queried: number
  /** The k closest peers seen (not failed), closest to the target first. */
  closest: string[]
  /** Set when `targetPeer` was found (addresses empty if it answered itself). */
  found?: { peer: string; addresses: string[] }
  cancelled?: true
  /** Cut short by `deadline`. */
  timedOut?: true
}

function namesTarget(context: LookupContext, event: LookupEvent): boolean {
  if (event.type !== 'lookup.response' || context.targetPeer === undefined) return false
  if (!isPending(context.list, event.peer)) return false
  return event.peer === context.targetPeer || event.contacts.some((c) => c.peer === context.targetPeer)
}

function isLastPending(context: LookupContext, event: LookupEvent): boolean {
  return 'peer' in event && isPending(context.list, event.peer) && pendingCount(context.list) === 1
}

export const lookupMachine = setup({
  types: {
    context: {} as LookupContext,
    events: {} as LookupEvent,
    input: {} as LookupInput,
    output: {} as LookupOutput,
  },
  guards: {
    hasNoCandidates: ({ context }) => !hasNew(context.list) || context.rounds >= context.maxRounds,
    isPendingPeer: ({ context, event }) => 'peer' in event && isPending(context.list, event.peer),
    isLastPending: ({ context, event }) => isLastPending(context, event),
    namesTarget: ({ context, event }) => namesTarget(context, event),
    closestAnswered: ({ context }) => closestAnswered(context.list, context.k),
    noProgress: ({ context }) => context.answers > 0 && context.closer === 0,
    roundLimitReached: ({ context }) => context.rounds >= context.maxRounds,
  },
  actions: {
    startRound: assign(({ context }) => {
      const { list, peers } = takeNext(context.list, context.alpha)
      return {
        list, inFlight: peers, answers: 0, closer: 0, rounds: context.rounds + 1,
        queried: context.queried + peers.length,
      }
    }),
    sendQueries: sendTo(
      ({ self }) => (self._parent ?? self) as AnyActorRef,
      ({ context }): LookupQuery => ({ type: 'lookup.query', lookupId: context.lookupId, peers: context.inFlight }),
    ),
    recordResponse: assign(({ context, event }) => {
      if (event.type !== 'lookup.response') return {}
      const { list, closer } = mergeContacts(settle(context.list, event.peer, 'answered'), event.contacts, context.k)
      return { list, answers: context.answers + 1, closer: context.closer + closer }
    }),
    recordFound: assign(({ context, event }) => {
      if (event.type !== 'lookup.response') return {}
      const contact = event.contacts.find((c) => c.peer === context.targetPeer)
      return { found: { peer: context.targetPeer!, addresses: contact?.addresses?.slice() ?? [] } }
    }),
    recordFailure: assign(({ context, event }) =>
      'peer' in event ? { list: settle(context.list, event.peer, 'failed') } : {}),
    /** A query failed mid-round: ask the next closest candidate at once instead of waiting for the round. */
    takeReplacement: assign(({ context }) => {
      const { list, peers } = takeNext(context.list, 1)
      return { list, inFlight: peers, queried: context.queried + peers.length }
    }),
    expireRound: assign(({ context }) => ({ list: expirePending(context.list) })),
    markCancelled: assign({ cancelled: true }),
    markTimedOut: assign({ timedOut: true }),
  },
  delays: {
    queryTimeout: ({ context }) => context.queryTimeout,
    lookupDeadline: ({ context }) => context.deadline,
  },
}).createMachine({
  id: 'lookup',
  context: ({ input }) => ({
    lookupId: input.lookupId,
    target: input.target,
    targetPeer: input.targetPeer,
    alpha: input.alpha,
    k: input.k,
    maxRounds: input.maxRounds,
    queryTimeout: input.queryTimeout,
    deadline: input.deadline ?? (input.maxRounds + 1) * input.queryTimeout,
    list: createShortlist(input.target, input.k * 3, input.seeds, input.diversity),
    rounds: 0,
    queried: 0,
    inFlight: [],
    answers: 0,
    closer: 0,
    found: undefined,
    cancelled: false,
    timedOut: false,
  }),
  initial: 'querying',
  on: {
    'lookup.cancel': { target: '.cancelled', actions: 'markCancelled' },
  },
  after: {
    lookupDeadline: { target: '.timedOut', actions: 'markTimedOut' },
  },
  states: {
    querying: {
      always: [
        { guard: 'hasNoCandidates', target: 'done' },
        { target: 'waiting', actions: ['startRound', 'sendQueries'] },
      ],
    },
    waiting: {
      after: {
        queryTimeout: { target: 'evaluating', actions: 'expireRound' },
      },
      on: {
        'lookup.response': [
          { guard: 'namesTarget', target: 'found', actions: ['recordResponse', 'recordFound'] },
          { guard: 'isLastPending', target: 'evaluating', actions: 'recordResponse' },
          { guard: 'isPendingPeer', actions: 'recordResponse' },
        ],
        'lookup.failed': [
          { guard: 'isLastPending', target: 'evaluating', actions: 'recordFailure' },
          { guard: 'isPendingPeer', actions: ['recordFailure', 'takeReplacement', 'sendQueries'] },
        ],
      },
    },
    evaluating: {
      always: [
        { guard: 'closestAnswered', target: 'done' },
        { guard: 'noProgress', target: 'done' },
        { guard: 'roundLimitReached', target: 'done' },
        { target: 'querying' },
      ],
    },
    found: { type: 'final' },
    done: { type: 'final' },
    cancelled: { type: 'final' },
    timedOut: { type: 'final' },
  },
  output: ({ context }) => {
    const out: LookupOutput = {
      lookupId: context.lookupId,
      rounds: context.rounds,
      queried: context.queried,
      closest: closestPeers(context.list, context.k),
    }
    if (context.found) out.found = context.found
    if (context.cancelled) out.cancelled = true
    if (context.timedOut) out.timedOut = true
    return out
  },
})
