// Shares of a V8 CPU profile's busy time (idle left out) in the categories bench/README.md
// "pubsub: the second speed pass" quotes: crypto counted through its callers in
// src/crypto/sodium.ts and openssl.ts (so libsodium's and node:crypto's own frames land with the
// operation that called them),
// then GC, XState, machines/pubsub, msgpackr, the shell, ws, sockets and the rest, by self time
// (a native frame's time counted with its JavaScript caller's script). Direct node:crypto calls
// (adapters/secure-flood.mjs) count as the operation too.
// With --inclusive REGEX [N]: instead, the N functions (default 40) whose script URL matches
// REGEX, by inclusive time (share of all samples), as the setup profile in bench/README quotes.
// Usage: node --cpu-prof --cpu-prof-dir=prof bench/pubsub/cpu-fixed.mjs dist/src/index.js 10 128 1500
//        node bench/pubsub/profile-shares.mjs prof/<file>.cpuprofile [--inclusive '/(src|machines)/' 40]
import { readFileSync } from 'node:fs'

const [file, flag, pattern, topArg] = process.argv.slice(2)
if (!file) {
  console.error("usage: node profile-shares.mjs <file.cpuprofile> [--inclusive REGEX [N]]")
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8'))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const samples = new Map()
for (const id of profile.samples) samples.set(id, (samples.get(id) ?? 0) + 1)

/** The frames from a sampled node up to the root. */
function* stack(id) {
  for (let at = id; at !== undefined; at = parent.get(at)) yield nodes.get(at).callFrame
}

const percent = (part, whole) => (100 * part / whole).toFixed(1).padStart(5) + '%'

if (flag === '--inclusive') {
  const match = new RegExp(pattern ?? '/(src|machines)/')
  const inclusive = new Map()
  for (const [id, count] of samples) {
    const counted = new Set()
    for (const f of stack(id)) {
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(src|machines|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
      if (!match.test(f.url) || counted.has(key)) continue
      counted.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + count)
    }
  }
  for (const [key, count] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 40))) {
    console.log(percent(count, profile.samples.length), key)
  }
  process.exit(0)
}

const CRYPTO = {
  ed25519Verify: 'ed25519 verify', ed25519Sign: 'ed25519 sign', sha256: 'sha256',
  aeadEncrypt: 'ChaCha20-Poly1305 (and its output buffer)', aeadDecrypt: 'ChaCha20-Poly1305 (and its output buffer)',
}
// The same operations when a caller uses node:crypto directly (adapters/secure-flood.mjs): by the
// node:crypto module the stack passes through, or the adapter's own seal/open around the cipher.
const NODE_CRYPTO = [
  [/^node:internal\/crypto\/sig/, (f) => /^sign/.test(f.functionName) ? 'ed25519 sign' : /^verify/.test(f.functionName) ? 'ed25519 verify' : undefined],
  [/^node:internal\/crypto\/(cipher|aead)/, () => CRYPTO.aeadEncrypt],
  [/^node:internal\/crypto\/hash/, () => 'sha256'],
  [/secure-flood\.mjs$/, (f) => f.functionName === 'seal' || f.functionName === 'open' ? CRYPTO.aeadEncrypt : undefined],
]

/** The crypto operation a stack is inside, if any: by xswarm's suites first, else by node:crypto. */
function cryptoOf(id) {
  // the nearest suite method (a helper such as sodium.js's signingKey counts with its caller)
  for (const f of stack(id)) if (/\/crypto\/(sodium|openssl)\.js$/.test(f.url) && CRYPTO[f.functionName]) return CRYPTO[f.functionName]
  for (const f of stack(id)) {
    for (const [url, name] of NODE_CRYPTO) if (url.test(f.url)) { const c = name(f); if (c) return c }
  }
  return undefined
}

/** The script a sample's time belongs to: a native frame (no url) counts with its JS caller. */
function scriptOf(id) {
  for (const f of stack(id)) if (f.url) return f.url
  return ''
}

const shares = new Map()
let busy = 0
for (const [id, count] of samples) {
  const { functionName } = nodes.get(id).callFrame
  if (functionName === '(idle)') continue
  busy += count
  const url = scriptOf(id)
  const category = functionName === '(garbage collector)' ? 'GC'
    : cryptoOf(id) ?? (/xstate/.test(url) ? 'xstate'
      : /machines\/pubsub/.test(url) ? 'machines/pubsub'
        : /msgpackr/.test(url) ? 'msgpackr'
          : /transport\/memory/.test(url) ? 'in-memory transport (its copy per send)'
            : /src\/(runtime|codec|crypto)/.test(url) ? 'src/runtime, src/codec, src/crypto'
              : /node_modules\/ws\//.test(url) ? 'ws (framing, masking, its socket calls)'
                : /^node:(net|stream|internal\/(net|stream))/.test(url) ? 'sockets (node:net, streams)'
                  : /bench\/pubsub\/(adapters|harness|ws-links)/.test(url) ? 'bench adapter and harness JS'
                    : 'other (node internals, timers, native, the rest)')
  shares.set(category, (shares.get(category) ?? 0) + count)
}
for (const [category, count] of [...shares].sort((a, b) => b[1] - a[1])) console.log(percent(count, busy), category)
