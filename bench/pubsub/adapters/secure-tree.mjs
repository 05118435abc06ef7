// secure-tree: adapters/secure-flood.mjs forwarding along the author's breadth-first tree of the
// edges instead of flooding, so every node receives every message exactly once. The least work
// per message any signed, encrypted dissemination can do on this stack (no duplicate copy, and
// no redundancy: one lost link loses a subtree); compare secure-flood, which pushes over every link.
import { makeSecureFlood } from './secure-flood.mjs'

export default makeSecureFlood({ name: 'secure-tree', tree: true })
