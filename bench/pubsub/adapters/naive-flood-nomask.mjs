// naive-flood-nomask: adapters/naive-flood.mjs with an all-zero WebSocket mask, which `ws`
// recognises and skips (no per-byte XOR on send or receive). Shows what client-frame masking
// in JavaScript costs; still a valid frame on the wire, but RFC 6455 wants an unpredictable mask.
import { makeNaiveFlood } from './naive-flood.mjs'

export default makeNaiveFlood({ name: 'naive-flood-nomask', zeroMask: true })
