/**
 * `xswarm chat`: an interactive chat on one pubsub topic over stdin/stdout. Each line typed is
 * published to the topic; messages from others are printed as `name: text`; lines about the
 * network start with `* `. Ctrl-C, Ctrl-D (end of input) or `/quit` close the node gracefully.
 *
 * A chat message is the UTF-8 JSON `{"name": "...", "text": "..."}`; a message that is not of
 * that form (published by `xswarm node` users or programs) is shown as `<peer id>: <text>`.
 * @module
 */
import { createInterface, clearLine, cursorTo } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import type { Swarm } from '../swarm.js'
import { CliError, EXIT_OK, parseFlags, UsageError, untilAborted, type Io } from './args.js'
import { NODE_FLAG_OPTIONS, prepareSwarm, startSwarm, tryCommand } from './common.js'
import { asText, shortId } from './log.js'

export const CHAT_HELP = `Usage: xswarm chat --topic T [--listen ADDR] [--dial ADDR]... [--name NAME] [options]

Chat with other nodes on a pubsub topic. Type a line and press Enter to send it;
messages from others are printed as "name: text". Ctrl-C, Ctrl-D or /quit leave.

Options:
  --topic T           the topic (the chat room), required
  --name NAME         your name in the chat (default: the start of your peer id)
  --listen ADDR       listen here, e.g. ws://127.0.0.1:4001; repeatable
  --dial ADDR         dial this node at start (ws://host:port/p2p/<id>); repeatable
  --identity FILE     keep your key (and so your peer id) in FILE (mode 0600)
  --swarm-key FILE    private network: connect only to nodes with this key
  --data DIR          keep state in DIR (identity.json, peers.json)
  --no-discovery      static peers only
  -v, --verbose       debug logs on stderr (connections, dials, pubsub mesh,
                      discovery); same as DEBUG=xswarm:*
  -h, --help          show this help

Example (two terminals):
  xswarm chat --listen ws://127.0.0.1:4001 --topic lobby --name ada
  xswarm chat --dial ws://127.0.0.1:4001/p2p/<id printed by the first> --topic lobby --name bob`

const MAX_LINE = 4096
const MAX_NAME = 64

/** The wire form of a chat line. */
export function encodeChat(name: string, text: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ name, text }))
}

/** `name: text` for a received message (sanitised: no control characters reach the terminal). */
export function formatChat(data: Uint8Array, from: string): string {
  const raw = asText(data)
  if (raw === undefined) return `${shortId(from)}: <${data.length} bytes>`
  const message = parseChat(raw)
  return `${clean(message?.name ?? shortId(from))}: ${clean(message?.text ?? raw)}`
}

/** `{name, text}` if the text is a chat message (name optional), else undefined. */
function parseChat(raw: string): { name?: string; text: string } | undefined {
  try {
    const parsed = JSON.parse(raw) as { name?: unknown; text?: unknown } | null
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.text !== 'string') return undefined
    const name = typeof parsed.name === 'string' && parsed.name.length > 0 ? parsed.name.slice(0, MAX_NAME) : undefined
    return { name, text: parsed.text }
  } catch {
    return undefined
  }
}

function chatName(data: Uint8Array): string | undefined {
  const raw = asText(data)
  return raw === undefined ? undefined : parseChat(raw)?.name
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')
}

export interface ChatIo extends Io {
  input?: Readable
  output?: Writable
}

export async function chatCommand(args: string[], io: ChatIo): Promise<number> {
  const flags = parseFlags('xswarm chat', args, {
    ...NODE_FLAG_OPTIONS,
    topic: { type: 'string' },
    name: { type: 'string' },
  })
  if (flags.help) {
    io.out(CHAT_HELP)
    return EXIT_OK
  }
  const topic = flags.topic
  if (topic === undefined) throw new UsageError('--topic T is required (the chat room)')
  if (topic.length === 0 || topic.length > 256) throw new UsageError(`--topic expected 1 to 256 characters, got ${topic.length}`)
  if (flags.name !== undefined && (flags.name.length === 0 || flags.name.length > MAX_NAME)) {
    throw new UsageError(`--name expected 1 to ${MAX_NAME} characters, got ${flags.name.length}`)
  }
  const prepared = await prepareSwarm(flags)
  const swarm = await startSwarm(prepared.options)
  const name = flags.name ?? shortId(swarm.peerId, 8).replace('…', '')
  if (!tryCommand(() => swarm.subscribe(topic))) {
    await swarm.close()
    throw new CliError('pubsub is not available yet in this build, so chat cannot run (xswarm node works)')
  }

  const input = io.input ?? process.stdin
  const output = io.output ?? process.stdout
  const terminal = (output as { isTTY?: boolean }).isTTY === true && (input as { isTTY?: boolean }).isTTY === true
  const rl = createInterface({ input, output, terminal, prompt: terminal ? `${name}> ` : '' })
  // Print above the prompt line without mangling what the user is typing.
  let rlClosed = false
  rl.on('close', () => { rlClosed = true })
  const say = (line: string): void => {
    if (!terminal || rlClosed) return io.out(line)
    clearLine(output, 0)
    cursorTo(output, 0)
    io.out(line)
    rl.prompt(true)
  }
  for (const note of prepared.notes) io.err(`note: ${note}`)
  say(`* you are ${name} (${swarm.peerId}), in topic ${JSON.stringify(topic)}; /quit to leave`)

  const stop = new AbortController()
  io.signal?.addEventListener('abort', () => stop.abort(), { once: true })
  rl.on('SIGINT', () => stop.abort())
  rl.on('close', () => stop.abort())
  rl.on('line', (line) => {
    const text = line.trim()
    if (text.length === 0) return terminal ? rl.prompt() : undefined
    if (text === '/quit') return stop.abort()
    if (swarm.closed) return
    swarm.publish(topic, encodeChat(name, text.slice(0, MAX_LINE)))
    if (terminal) rl.prompt()
  })

  const state = { leaving: false }
  const loop = chatLoop(swarm, topic, say, state)
  if (terminal) rl.prompt()
  await Promise.race([untilAborted(stop.signal), loop])
  rl.close()
  state.leaving = true
  say('* leaving')
  await swarm.close()
  await loop
  return EXIT_OK
}

async function chatLoop(swarm: Swarm, topic: string, say: (line: string) => void, state: { leaving: boolean }): Promise<void> {
  const names = new Map<string, string>() // peer id → the name it last chatted under
  const who = (peer: string): string => (names.has(peer) ? `${names.get(peer)} (${shortId(peer)})` : shortId(peer))
  for await (const event of swarm) {
    const e = event as { type: string } & Record<string, any>
    if (state.leaving && e.type !== 'pubsub.message') continue
    switch (e.type) {
      case 'swarm.listening':
        for (const address of e.addresses as string[]) say(`listening ${address}`)
        break
      case 'peer.connected':
        say(`* connected to ${shortId(e.peer)}`)
        break
      case 'peer.disconnected':
        say(`* ${who(e.peer)} disconnected (${e.reason})`)
        break
      case 'dial.failed':
        say(`* could not connect to ${e.address}: ${e.reason}`)
        break
      case 'pubsub.message':
        if (e.topic === topic && e.data instanceof Uint8Array) {
          const line = formatChat(e.data, String(e.from))
          const name = chatName(e.data)
          if (name !== undefined) names.set(String(e.from), clean(name))
          say(line)
        }
        break
      case 'pubsub.peer.subscribed':
        if (e.topic === topic) say(`* ${who(e.peer)} joined ${topic}`)
        break
      case 'pubsub.peer.unsubscribed':
        if (e.topic === topic) say(`* ${who(e.peer)} left ${topic}`)
        break
      case 'pubsub.subscribe.failed':
        say(`* could not join ${e.topic}: ${e.reason}`)
        break
      case 'pubsub.publish.failed':
        say(`* message not sent: ${e.reason === 'no-peers' ? 'nobody else is in this topic yet' : e.reason}`)
        break
      case 'swarm.error':
        say(`* error ${e.code}: ${e.message}`)
        break
    }
  }
}
