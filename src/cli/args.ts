/**
 * Command-line plumbing shared by every subcommand: argument parsing on `node:util` parseArgs
 * with short, readable errors, number and address checks, exit codes, and the output sink.
 *
 * Exit codes: 0 success, 1 a runtime failure (cannot listen, corrupt identity, bad key file,
 * a demo node that could not connect), 2 a usage error (unknown command or flag, bad value).
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseDialAddress, parseListenAddress } from '../identity/address.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** A usage error: the message is printed with a pointer to `--help`, and the exit code is 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A runtime failure the user can act on: printed as `error: <message>`, exit code 1. */
export class CliError extends Error {
  override name = 'CliError'
}

/** Where a command writes. `out` is the program's output (stdout), `err` diagnostics (stderr). */
export interface Io {
  out(line: string): void
  err(line: string): void
  /** Aborted when the command should stop (SIGINT/SIGTERM in the real CLI). */
  signal?: AbortSignal
}

/** The process's own stdout/stderr, line by line. */
export const processIo: Io = {
  out: (line) => { process.stdout.write(line + '\n') },
  err: (line) => { process.stderr.write(line + '\n') },
}

type Options = NonNullable<ParseArgsConfig['options']>
/** The values parseArgs gives for `T`. */
export type Flags<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values']

/**
 * Parse `args` strictly (no positionals) against `options`; every parseArgs error becomes a
 * UsageError phrased for `command` (e.g. `xswarm node`).
 */
export function parseFlags<T extends Options>(command: string, args: string[], options: T): Flags<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError(describeParseError(command, error))
  }
}

function describeParseError(command: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: string }).code
  const flag = /'(?:-\w, )?(--?[^' <,]+)/.exec(message)?.[1]
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${flag ?? message}'`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /argument '([^']*)'/.exec(message)?.[1]
      return `unexpected argument '${arg ?? message}' (${command} takes only --options)`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take an argument')) return `option '${flag}' does not take a value`
      return `option '${flag}' needs a value${message.includes('ambiguous') ? ` (got another option after it; use ${flag}=VALUE for a value starting with '-')` : ''}`
    default:
      return message
  }
}

/** An integer flag in [min, max]; `undefined` gives `fallback`. */
export function intFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new UsageError(`--${name} expected a whole number from ${min} to ${max}, got '${value}'`)
  const n = Number(value)
  if (n < min || n > max) throw new UsageError(`--${name} expected a whole number from ${min} to ${max}, got ${n}`)
  return n
}

/** Check listen addresses now, so a typo is a usage error rather than a failure later. */
export function checkListen(addresses: readonly string[]): string[] {
  for (const address of addresses) {
    try {
      parseListenAddress(address)
    } catch (error) {
      throw new UsageError(`--listen ${address}: ${(error as Error).message}`)
    }
  }
  return [...addresses]
}

/** Check dial addresses now (ws://host:port/p2p/<id> or /ip4/…/tcp/…/ws/p2p/<id>). */
export function checkDial(addresses: readonly string[]): string[] {
  for (const address of addresses) {
    try {
      parseDialAddress(address)
    } catch (error) {
      throw new UsageError(`--dial ${address}: ${(error as Error).message}`)
    }
  }
  return [...addresses]
}

/** Is this the flag asking for help? */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h')
}

/**
 * Resolve when `signal` aborts (or never, without one). Used by long-running commands to wait
 * for SIGINT/SIGTERM.
 */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return
    if (signal.aborted) return resolve()
    signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

/** Sleep `ms`, or less if `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    if (signal?.aborted) return done()
    signal?.addEventListener('abort', done, { once: true })
  })
}
