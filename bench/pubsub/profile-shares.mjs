// Shares of a V8 CPU profile's busy time (idle left out) in the categories bench/README.md
// "pubsub: the second speed pass" quotes: crypto counted through its callers in
// src/crypto/native.ts (so node:crypto's own frames land with the operation that called them),
// then GC, XState, machines/pubsub, msgpackr, the shell and the rest, by self time.
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
  aeadEncrypt: 'ChaCha20-Poly1305 (node:crypto and the output copy)', aeadDecrypt: 'ChaCha20-Poly1305 (node:crypto and the output copy)',
}
const shares = new Map()
let busy = 0
for (const [id, count] of samples) {
  const { functionName, url } = nodes.get(id).callFrame
  if (functionName === '(idle)') continue
  busy += count
  let crypto
  for (const f of stack(id)) if (/native\.js$/.test(f.url)) { crypto = CRYPTO[f.functionName]; break }
  const category = functionName === '(garbage collector)' ? 'GC'
    : crypto ?? (/xstate/.test(url) ? 'xstate'
      : /machines\/pubsub/.test(url) ? 'machines/pubsub'
        : /msgpackr/.test(url) ? 'msgpackr'
          : /transport\/memory/.test(url) ? 'in-memory transport (its copy per send)'
            : /src\/(runtime|codec|crypto)/.test(url) ? 'src/runtime, src/codec, src/crypto'
              : 'other (node internals, timers, native, the rest)')
  shares.set(category, (shares.get(category) ?? 0) + count)
}
for (const [category, count] of [...shares].sort((a, b) => b[1] - a[1])) console.log(percent(count, busy), category)
