/**
 * One iterative FIND_NODE lookup as an explicit statechart (spawned by the discovery machine).
 *
 *   querying ──(no candidate left)──────────────────────────────▶ done
 *      │ send the next `new` candidates of every path to the parent (`lookup.query`)
 *      ▼
 *   waiting ──(the target itself answers: [answeredByTarget])──▶ found
 *      │ last answer, last failure, or `after(queryTimeout)`
 *      ▼
 *   evaluating ──(k closest answered | maxRounds)──────────────▶ done
 *      ├──(the target is to be asked again: [hasTargetToAsk])────▶ querying
 *      ├──(an answered round brought no one into the k closest)──▶ done
 *      └──────────────────────────────────────────────────────────▶ querying
 *   any of them ──(lookup.cancel)───────────────────────────────▶ cancelled
 *   any of them ──after(lookupDeadline)─────────────────────────▶ timedOut  (a caller's timeout)
 *
 * Rounds: α queries go out together, and the round ends when all have answered or failed, or
 * when `queryTimeout` (dial included) passes, whichever is first. Each query also has its own
 * deadline, `contactTimeout` (a delayed `lookup.deadline` self-event through the clock): a peer
 * that has not answered by then counts as failed, and a query that fails before the round ends
 * (a dial refused, a peer gone, its deadline) is replaced at once by the next closest candidate
 * (`takeReplacement`), so a shortlist seeded with dead, silent or fake contacts (black holes
 * that accept a connection and never answer) does not cost a round each.
 *
 * Found means verified: only an answer from the target itself, over the authenticated
 * connection the parent opened to it, ends a findPeer lookup as `found`. A response that merely
 * names the target adds it as a candidate (distance 0: asked next) and its claimed addresses
 * to `claims`; the target is dialed at an address not tried yet, and asked again at the next one
 * when that dial fails or times out, so a fake address for the real id costs one attempt, not
 * the lookup. Candidates are split into disjoint paths (lookup.ts, S/Kademlia). Candidates are bounded per IP and per network
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
import { enqueueActions } from '../lib/enqueue.js'
import type { Key } from './kbucket.js'
import type { Diversity } from './diversity.js'
import {
  closestPeers, createShortlist, expirePending, hasNew, isPending, mergeContacts,
  pathOf, pathSettled, pendingCount, reopen, settle, takeNext, type Contact, type Shortlist,
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
  /** One query's deadline (ms; default `queryTimeout`). */
  contactTimeout?: number
  /** Disjoint paths (default 1). */
  paths?: number
  /** Ask connected candidates among the k next first (refresh lookups: any close peers will do). */
  preferConnected?: boolean
}

/** Addresses claimed for the target that the lookup keeps (tried in turn). */
export const MAX_TARGET_CLAIMS = 8

export interface LookupContext {
  lookupId: string
  target: Key
  targetPeer: string | undefined
  alpha: number
  k: number
  maxRounds: number
  queryTimeout: number
  deadline: number
  contactTimeout: number
  preferConnected: boolean
  list: Shortlist
  /** The sequence number of each pending query (a `lookup.deadline` for an older query is stale). */
  querySeq: Record<string, number>
  /** Addresses others claimed for the target, in the order heard; `tried` of them were dialed. */
  claims: string[]
  tried: number
  /** The address the target's query in flight dials (reported when it answers). */
  targetDial: string | undefined
  /** Rounds started. */
  rounds: number
  /** Queries sent in all rounds. */
  queried: number
  /** Peers asked last: the round's, or a replacement's. */
  inFlight: string[]
  /** Answers received in the current round. */
  answers: number
  /** Answers and contacts brought into the k closest in the current round, per path. */
  answersByPath: number[]
  closerByPath: number[]
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
  /** A query's own deadline passed (`seq` names which query). */
  | { type: 'lookup.deadline'; peer: string; seq: number }
  /** Stop now (the swarm is closing). */
  | { type: 'lookup.cancel' }

/** What the lookup asks its parent to do (`dial`: the address to dial a peer at, when it is not connected). */
export interface LookupQuery { type: 'lookup.query'; lookupId: string; peers: string[]; dial?: Record<string, string> }

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

/** The event is about the query in flight to its peer (a deadline: that very query, not an older one). */
function isCurrent(context: LookupContext, event: LookupEvent): boolean {
  if (!('peer' in event) || !isPending(context.list, event.peer)) return false
  return event.type !== 'lookup.deadline' || context.querySeq[event.peer] === event.seq
}

function isLastPending(context: LookupContext, event: LookupEvent): boolean {
  return isCurrent(context, event) && pendingCount(context.list) === 1
}

/** Claims for the target in `contacts`, added to `claims` (new ones only, bounded). */
function withClaims(context: LookupContext, contacts: readonly Contact[]): string[] {
  const claims = context.claims.slice()
  for (const c of contacts) {
    if (c.peer !== context.targetPeer) continue
    for (const a of c.addresses ?? []) if (claims.length < MAX_TARGET_CLAIMS && !claims.includes(a)) claims.push(a)
  }
  return claims
}

/** The target failed at one address: ask it again while an address is left untried. */
function retryTarget(context: LookupContext, list: Shortlist, claims: string[]): Shortlist {
  return context.targetPeer !== undefined && context.tried < claims.length ? reopen(list, context.targetPeer) : list
}

/** Mark `peers` pending under new sequence numbers; the target's query takes the next untried claim. */
function dispatch(context: LookupContext, list: Shortlist, peers: string[]): Partial<LookupContext> {
  const querySeq = { ...context.querySeq }
  peers.forEach((p, i) => { querySeq[p] = context.queried + i + 1 })
  const asksTarget = context.targetPeer !== undefined && peers.includes(context.targetPeer)
  const next = asksTarget && context.tried < context.claims.length ? context.claims[context.tried] : undefined
  return {
    list, inFlight: peers, querySeq, queried: context.queried + peers.length,
    ...(asksTarget ? { targetDial: next, tried: context.tried + (next === undefined ? 0 : 1) } : {}),
  }
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
    isPendingPeer: ({ context, event }) => isCurrent(context, event),
    isLastPending: ({ context, event }) => isLastPending(context, event),
    /** The target itself answered, over the connection the parent opened to it: verified. */
    answeredByTarget: ({ context, event }) =>
      event.type === 'lookup.response' && event.peer === context.targetPeer && isCurrent(context, event),
    /** Every path's k closest (not failed) have answered. */
    closestAnswered: ({ context }) => context.answersByPath.every((_, p) => pathSettled(context.list, context.k, p)),
    /**
     * A single-path lookup whose answered round brought no one into the k closest. (With
     * disjoint paths each path runs until its own k closest have answered: a path whose contacts
     * are already on another path would otherwise stall the lookup before those are asked.)
     */
    noProgress: ({ context }) => context.list.paths === 1 && context.answers > 0 && context.closer === 0,
    /** The target is a candidate again (named at an address not tried yet): ask it before giving up. */
    hasTargetToAsk: ({ context }) => context.targetPeer !== undefined
      && context.list.entries.some((e) => e.peer === context.targetPeer && e.state === 'new'),
    roundLimitReached: ({ context }) => context.rounds >= context.maxRounds,
  },
  actions: {
    startRound: assign(({ context }) => {
      const { list, peers } = takeNext(context.list, context.alpha, context.preferConnected ? context.k : 0)
      const zeros = Array.from({ length: context.list.paths }, () => 0)
      return { ...dispatch(context, list, peers), answers: 0, closer: 0, answersByPath: zeros, closerByPath: zeros.slice(), rounds: context.rounds + 1 }
    }),
    sendQueries: sendTo(
      ({ self }) => (self._parent ?? self) as AnyActorRef,
      ({ context }): LookupQuery => {
        const dial = context.targetDial !== undefined && context.inFlight.includes(context.targetPeer!) ? { dial: { [context.targetPeer!]: context.targetDial } } : {}
        return { type: 'lookup.query', lookupId: context.lookupId, peers: context.inFlight, ...dial }
      },
    ),
    /** Each query's own deadline: a `lookup.deadline` after `contactTimeout`. */
    startDeadlines: enqueueActions(({ context, enqueue }) => {
      for (const peer of context.inFlight) enqueue.raise({ type: 'lookup.deadline', peer, seq: context.querySeq[peer] }, { delay: 'contactTimeout' })
    }),
    recordResponse: assign(({ context, event }) => {
      if (event.type !== 'lookup.response') return {}
      const claims = withClaims(context, event.contacts)
      const path = pathOf(context.list, event.peer)
      const merged = mergeContacts(settle(context.list, event.peer, 'answered'), event.contacts, context.k, path)
      const answersByPath = context.answersByPath.map((a, p) => (p === path ? a + 1 : a))
      const closerByPath = context.closerByPath.map((c, p) => (p === path ? c + merged.closer : c))
      return { list: retryTarget(context, merged.list, claims), claims, answers: context.answers + 1, closer: context.closer + merged.closer, answersByPath, closerByPath }
    }),
    recordFound: assign(({ context }) => ({ found: { peer: context.targetPeer!, addresses: context.targetDial === undefined ? [] : [context.targetDial] } })),
    recordFailure: assign(({ context, event }) => {
      if (!('peer' in event)) return {}
      const list = settle(context.list, event.peer, 'failed')
      return { list: event.peer === context.targetPeer ? retryTarget(context, list, context.claims) : list }
    }),
    /** A query failed mid-round: ask the next closest candidate at once instead of waiting for the round. */
    takeReplacement: assign(({ context }) => {
      const { list, peers } = takeNext(context.list, 1, context.preferConnected ? context.k : 0)
      return dispatch(context, list, peers)
    }),
    expireRound: assign(({ context }) => ({ list: expirePending(context.list) })),
    markCancelled: assign({ cancelled: true }),
    markTimedOut: assign({ timedOut: true }),
  },
  delays: {
    queryTimeout: ({ context }) => context.queryTimeout,
    contactTimeout: ({ context }) => context.contactTimeout,
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
    contactTimeout: input.contactTimeout ?? input.queryTimeout,
    preferConnected: input.preferConnected === true,
    list: createShortlist(input.target, input.k * 3, input.seeds, input.diversity, input.paths ?? 1),
    querySeq: {},
    claims: [],
    tried: 0,
    targetDial: undefined,
    rounds: 0,
    queried: 0,
    inFlight: [],
    answers: 0,
    closer: 0,
    answersByPath: Array.from({ length: input.paths ?? 1 }, () => 0),
    closerByPath: Array.from({ length: input.paths ?? 1 }, () => 0),
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
        { target: 'waiting', actions: ['startRound', 'sendQueries', 'startDeadlines'] },
      ],
    },
    waiting: {
      after: {
        queryTimeout: { target: 'evaluating', actions: 'expireRound' },
      },
      on: {
        'lookup.response': [
          { guard: 'answeredByTarget', target: 'found', actions: ['recordResponse', 'recordFound'] },
          { guard: 'isLastPending', target: 'evaluating', actions: 'recordResponse' },
          { guard: 'isPendingPeer', actions: 'recordResponse' },
        ],
        'lookup.failed': [
          { guard: 'isLastPending', target: 'evaluating', actions: 'recordFailure' },
          { guard: 'isPendingPeer', actions: ['recordFailure', 'takeReplacement', 'sendQueries', 'startDeadlines'] },
        ],
        'lookup.deadline': [
          { guard: 'isLastPending', target: 'evaluating', actions: 'recordFailure' },
          { guard: 'isPendingPeer', actions: ['recordFailure', 'takeReplacement', 'sendQueries', 'startDeadlines'] },
        ],
      },
    },
    evaluating: {
      always: [
        { guard: 'closestAnswered', target: 'done' },
        { guard: 'roundLimitReached', target: 'done' },
        { guard: 'hasTargetToAsk', target: 'querying' },
        { guard: 'noProgress', target: 'done' },
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
