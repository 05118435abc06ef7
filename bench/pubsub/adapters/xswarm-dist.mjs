// xswarm from ANOTHER build, for before/after comparisons in one run: XSWARM_DIST names the
// `dist` directory of that checkout (built with `npm run build` there), e.g.
//   git worktree add /tmp/before <commit> && (cd /tmp/before && npm install && npm run build)
//   XSWARM_DIST=/tmp/before/dist node --expose-gc bench/pubsub/run.mjs --systems xswarm-dist,xswarm,libp2p ...
// Both builds then run the same harness back to back for every (n, size), under the same load.
import { resolve } from 'node:path'
import { xswarmAdapter } from './xswarm.mjs'

const dist = process.env.XSWARM_DIST
if (!dist) throw new Error('xswarm-dist: set XSWARM_DIST to the dist directory of the build to compare')
export default xswarmAdapter('xswarm-dist', resolve(dist, 'src', 'index.js'))
