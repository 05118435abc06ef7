/**
 * What the router does with one message a peer sent (gossipsub's receive path), the chart the
 * README draws (`docs/charts/pubsubReceive.svg`). Cheapest check first, so a flood costs little:
 *
 *   arrived ──message.arrived [isNotSubscribed] / clearNeed──▶ dropped
 *           ──message.arrived [isKnownCopy] / recordKnownCopy──▶ duplicate
 *           ──message.arrived [isSeen] / recordDuplicate──▶ duplicate
 *           ──message.arrived [isOwnMessage] / recordNew, sendIdontwant, markIgnored──▶ ignored
 *           ──message.arrived [isForged] / recordNew, sendIdontwant, rejectInvalid──▶ invalid
 *           ──message.arrived [needsNoValidation] / recordNew, sendIdontwant, deliver, forward──▶ delivered
 *           ──message.arrived [isValidationFull] / recordNew, sendIdontwant, forgetSeen──▶ throttled
 *           ──message.arrived / recordNew, sendIdontwant, askValidator──▶ validating
 *   validating ──message.verdict [isAccepted] / deliver, forward──▶ delivered
 *              ──message.verdict [isRejected] / rejectSenders──▶ invalid
 *              ──message.verdict / markIgnored──▶ ignored
 *
 * A duplicate (a byte-identical copy of a cached message, found without hashing, or an id in
 * the seen cache) is never verified again: it only credits its sender (P3) or penalizes it (P4,
 * if the message is known invalid). A new message enters the seen cache, and if large (v1.2)
 * makes us send IDONTWANT to our other mesh peers at once; then the author check (peer id =
 * sha256 of the public key) and one ed25519 verify, then the application validator if there is
 * one (a user function through `effect.call`, its answer the `message.verdict`). A large
 * message (announceMinSize) is forwarded as an announce once the node is busy (its push budget
 * spent in this heartbeat interval or the one before): the peers that lack it pull it from one
 * announcer (announce.ts), so each node receives about one copy instead of one from every
 * neighbour that had it first.
 *
 * Chart and data: a chart per message, stepped purely by the router (receive.ts) with the
 * peer-chart stepping (lib/peer-chart.ts): no actor, and nothing kept per message but the seen
 * cache entry (caches.ts), whose `status` is this chart's state (`pending` = validating,
 * `valid` = delivered, `invalid`, `ignored`). Guards read only the event; the router's event
 * answers each question when a guard first asks it (a duplicate is never hashed or verified).
 * @module
 */
import { setup } from 'xstate'

/** A message a peer sent, and the questions the guards ask about it. */
export interface MessageArrived {
  type: 'message.arrived'
  /** We are subscribed to its topic. */
  readonly subscribed: boolean
  /** A byte-identical copy of a message in the message cache. */
  readonly knownCopy: boolean
  /** Its id is in the seen cache. */
  readonly seen: boolean
  /** We are its author (it came back to us). */
  readonly own: boolean
  /** Its author's key matches its peer id and its signature verifies. */
  readonly authentic: boolean
  /** An application validator decides on new messages. */
  readonly validator: boolean
  /** As many validations are pending as may be. */
  readonly validationsFull: boolean
}

/** The application validator's verdict on a message waiting for it. */
export interface MessageVerdict {
  type: 'message.verdict'
  verdict: 'accept' | 'reject' | 'ignore'
  /** We are still subscribed to its topic. */
  subscribed: boolean
}

export type ReceiveEvent = MessageArrived | MessageVerdict

const arrived = (event: ReceiveEvent): MessageArrived | undefined => (event.type === 'message.arrived' ? event : undefined)

export const receiveMachine = setup({
  types: { events: {} as ReceiveEvent },
  guards: {
    isNotSubscribed: ({ event }) => arrived(event)?.subscribed === false,
    isKnownCopy: ({ event }) => arrived(event)?.knownCopy === true,
    isSeen: ({ event }) => arrived(event)?.seen === true,
    isOwnMessage: ({ event }) => arrived(event)?.own === true,
    /** The author's key does not hash to its peer id, or the signature does not verify. */
    isForged: ({ event }) => arrived(event)?.authentic === false,
    needsNoValidation: ({ event }) => arrived(event)?.validator === false,
    isValidationFull: ({ event }) => arrived(event)?.validationsFull === true,
    /** Accepted, and we are still subscribed to its topic. */
    isAccepted: ({ event }) => event.type === 'message.verdict' && event.verdict === 'accept' && event.subscribed,
    isRejected: ({ event }) => event.type === 'message.verdict' && event.verdict === 'reject',
  },
  actions: {
    // Performed by the router (receive.ts); the chart is stepped purely.
    /**
     * A message we asked an announcer for (INEED) arrived after we left its topic: the request
     * is answered all the same, so the announcer is not counted a broken promise.
     */
    clearNeed: () => {},
    /** A copy of a cached message: back into the seen cache if it was pushed out, then as `recordDuplicate`. */
    recordKnownCopy: () => {},
    /** Count the duplicate; credit its sender (P3) if the message was delivered recently, penalize it (P4) if invalid. */
    recordDuplicate: () => {},
    /** Into the seen cache (pending, the sender first), promises of it kept. */
    recordNew: () => {},
    /** A large message (v1.2): IDONTWANT to our other mesh peers (not one we will announce: the announce says it). */
    sendIdontwant: () => {},
    /** Seen, never delivered (our own, or the validator said ignore). */
    markIgnored: () => {},
    /** Known invalid; its sender penalized (P4). */
    rejectInvalid: () => {},
    /** Known invalid; every sender penalized (P4). */
    rejectSenders: () => {},
    /** `pubsub.message` to the user, into the message cache (for gossip), senders credited (P2, P3). */
    deliver: () => {},
    /**
     * To our mesh peers for the topic, minus its senders, its author and those that said
     * IDONTWANT or announced it; a message of announceMinSize or more is announced to them
     * instead (IANNOUNCE) once the node is busy (`announcesForward`), and each asks one
     * announcer for it (announce.ts).
     */
    forward: () => {},
    /** Out of the seen cache (no penalty): a later copy may get through. */
    forgetSeen: () => {},
    /** Ask the application validator (`effect.call`). */
    askValidator: () => {},
  },
}).createMachine({
  id: 'pubsubReceive',
  initial: 'arrived',
  states: {
    arrived: {
      on: {
        'message.arrived': [
          { guard: 'isNotSubscribed', target: 'dropped', actions: 'clearNeed' },
          { guard: 'isKnownCopy', target: 'duplicate', actions: 'recordKnownCopy' },
          { guard: 'isSeen', target: 'duplicate', actions: 'recordDuplicate' },
          { guard: 'isOwnMessage', target: 'ignored', actions: ['recordNew', 'sendIdontwant', 'markIgnored'] },
          { guard: 'isForged', target: 'invalid', actions: ['recordNew', 'sendIdontwant', 'rejectInvalid'] },
          { guard: 'needsNoValidation', target: 'delivered', actions: ['recordNew', 'sendIdontwant', 'deliver', 'forward'] },
          { guard: 'isValidationFull', target: 'throttled', actions: ['recordNew', 'sendIdontwant', 'forgetSeen'] },
          { target: 'validating', actions: ['recordNew', 'sendIdontwant', 'askValidator'] },
        ],
      },
    },
    /** Waiting for the application validator (seen cache status `pending`). */
    validating: {
      on: {
        'message.verdict': [
          { guard: 'isAccepted', target: 'delivered', actions: ['deliver', 'forward'] },
          { guard: 'isRejected', target: 'invalid', actions: 'rejectSenders' },
          { target: 'ignored', actions: 'markIgnored' },
        ],
      },
    },
    /** Not for us: we are not subscribed to its topic. */
    dropped: { type: 'final' },
    /** Seen before. */
    duplicate: { type: 'final' },
    /** Our own, or ignored by the validator (seen cache status `ignored`). */
    ignored: { type: 'final' },
    /** Forged or rejected (seen cache status `invalid`). */
    invalid: { type: 'final' },
    /** Delivered and forwarded (seen cache status `valid`). */
    delivered: { type: 'final' },
    /** Too many validations pending: forgotten. */
    throttled: { type: 'final' },
  },
})
