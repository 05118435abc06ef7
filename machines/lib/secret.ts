/**
 * Secret: key material a machine may use but that no snapshot, event or log can show.
 *
 * Machines are inspectable: every context, input and event of every actor can be handed to an
 * XState inspection observer, which may serialize it and send it elsewhere (a hosted Stately
 * inspector). So key material — the Noise static and ephemeral private keys, the chaining key
 * and cipher keys of a handshake in progress, the session keys it derives, the pre-shared
 * swarm key, the DRBG key, the identity signature — never sits in a machine's context or in an
 * event as bytes. It sits in a `Secret`: an object whose only own state is an ECMAScript
 * private field, so there is nothing enumerable for a serializer to walk (JSON.stringify,
 * superjson, safe-stable-stringify, fast-safe-stringify, structuredClone), and whose `toJSON`,
 * `toString` and Node's `util.inspect` show the label `[secret]`. Code that needs the bytes
 * calls `unseal` in the step that uses them and keeps the result in a local variable only.
 *
 * This is protection against showing a secret by accident, not a sandbox: code running in the
 * same process with a reference to a Secret can unseal it.
 * @module
 */

/** The text a Secret shows wherever it is printed or serialized. */
export const SECRET_LABEL = '[secret]'

/** Key material behind an opaque handle (see the module comment). */
export class Secret<T> {
  readonly #value: T

  private constructor(value: T) {
    this.#value = value
  }

  /** Seal `value`. */
  static of<T>(value: T): Secret<T> {
    return new Secret(value)
  }

  /** The sealed value; used by `unseal`. */
  static open<T>(secret: Secret<T>): T {
    return secret.#value
  }

  toJSON(): string {
    return SECRET_LABEL
  }

  toString(): string {
    return SECRET_LABEL
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return SECRET_LABEL
  }
}

/** Seal key material so that no inspection can show it. */
export function seal<T>(value: T): Secret<T> {
  return Secret.of(value)
}

/** The key material of a Secret, for the one step that uses it (never store the result in context). */
export function unseal<T>(secret: Secret<T>): T {
  return Secret.open(secret)
}
