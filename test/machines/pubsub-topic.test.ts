/**
 * Model-based test of the topic lifecycle statechart (machines/pubsub/topic.machine.ts), the
 * actor the pubsub router spawns per topic. `xstate/graph` walks the statechart: every state
 * is reached and every transition definition is taken by some event. Then every edge (the
 * shortest path to a state plus one event) is replayed on a real pubsub actor, with each model
 * event mapped to real inputs, and the phase of the real topic actor must equal the model's at
 * each step.
 */
import { describe, expect, it } from 'vitest'
import { getNextTransitions, transition } from 'xstate'
import { getShortestPaths } from 'xstate/graph'
import { startPubsub, testKey, type TestKey } from '../helpers/pubsub-actor.js'
import type { PubsubContext } from '../../machines/pubsub/state.js'
import { topicMachine, topicPhase, type TopicData, type TopicEvent, type TopicPhase, type TopicSnapshot } from '../../machines/pubsub/topic.machine.js'

const input = (): TopicData => ({ topic: 'model', mesh: new Set(), fanout: new Set(), members: new Map() })
const stepTopic = (snapshot: TopicSnapshot, event: TopicEvent): TopicSnapshot => transition(topicMachine, snapshot, event)[0]

const EVENTS: TopicEvent[] = [
  { type: 'topic.subscribe' },
  { type: 'topic.unsubscribe' },
  { type: 'topic.publish' },
  { type: 'topic.heartbeat', meshSize: 0, dLo: 4, fanoutExpired: false },
  { type: 'topic.heartbeat', meshSize: 6, dLo: 4, fanoutExpired: false },
  { type: 'topic.heartbeat', meshSize: 0, dLo: 4, fanoutExpired: true },
]
const ALL_PHASES: TopicPhase[] = ['idle', 'fanout', 'joining', 'meshHealthy', 'meshLow', 'leaving']
const T = 'topic'

const keyOf = (i: number): TestKey => testKey(`topic-test-${i}`)

/** A real pubsub actor with the model's events mapped onto its inputs. */
function realNode() {
  const { actor, clock } = startPubsub({ fanoutTtl: 2_500 }, keyOf(0))
  let connected: string[] = []
  let fresh = 1
  const send = (e: unknown): void => actor.send(e as never)
  const dropAll = (): void => {
    for (const peer of connected) send({ type: 'peer.disconnected', peer, reason: 'test' })
    connected = []
  }
  return {
    phase(): TopicPhase {
      const t = (actor.getSnapshot().context as PubsubContext).s.topics.get(T)
      if (!t) return 'idle'
      // The router's phase is the topic actor's, which runs below the pubsub actor.
      expect(t.phase).toBe(topicPhase(t.ref.getSnapshot() as TopicSnapshot))
      expect(t.ref._parent).toBe(actor)
      return t.phase
    },
    apply(event: TopicEvent): void {
      if (event.type === 'topic.subscribe') send({ type: 'pubsub.subscribe', topic: T })
      else if (event.type === 'topic.unsubscribe') send({ type: 'pubsub.unsubscribe', topic: T })
      else if (event.type === 'topic.publish') send({ type: 'pubsub.publish', topic: T, data: new Uint8Array([1]) })
      else if (event.fanoutExpired) { dropAll(); clock.increment(3_000) }
      else if (event.meshSize < event.dLo) { dropAll(); clock.increment(1_000) }
      else {
        // Six fresh subscribed peers (fresh: earlier ones may be in backoff).
        dropAll()
        for (let i = 0; i < 6; i++) {
          const peer = keyOf(1000 + fresh++).peerId
          connected.push(peer)
          send({ type: 'peer.connected', peer, direction: 'outbound', address: '' })
          send({ type: 'message', peer, body: { sub: [{ t: T, on: true }] } })
        }
        clock.increment(1_000)
      }
    },
  }
}

describe('topic lifecycle statechart', () => {
  const paths = getShortestPaths(topicMachine, { events: EVENTS, input: input() })

  it('reaches every state', () => {
    expect(new Set(paths.map((p) => topicPhase(p.state)))).toEqual(new Set(ALL_PHASES))
  })

  it('takes every transition definition with some event', () => {
    const checked = new Set<unknown>()
    for (const path of paths) {
      for (const def of getNextTransitions(path.state)) {
        const targets = (def.target ?? []).map((node) => node.id)
        const taken = EVENTS.some((event) => {
          if (event.type !== def.eventType) return false
          const next = stepTopic(path.state as TopicSnapshot, event)
          return targets.every((id) => next._nodes.some((node) => node.id === id))
        })
        expect(taken, `${def.source.id} --${def.eventType}--> ${targets.join(',')}`).toBe(true)
        checked.add(def)
      }
    }
    // idle 2, fanout 2, joining 3, subscribed 1, meshHealthy 1, meshLow 1, leaving 3.
    expect(checked.size).toBe(13)
  })

  it('the pubsub router follows the model on every edge', () => {
    let edges = 0
    for (const path of paths) {
      for (const last of EVENTS) {
        const steps = [...path.steps.map((s) => s.event).filter((e) => (e.type as string) !== 'xstate.init'), last]
        const node = realNode()
        let model = (getShortestPaths(topicMachine, { events: [], input: input() })[0].state) as TopicSnapshot
        const trail: string[] = []
        for (const event of steps) {
          model = stepTopic(model, event)
          node.apply(event)
          trail.push(`${JSON.stringify(event)} → ${topicPhase(model)}`)
          expect(node.phase(), trail.join('\n')).toBe(topicPhase(model))
        }
        edges++
      }
    }
    expect(edges).toBe(ALL_PHASES.length * EVENTS.length)
  })
})
