/**
 * Every example runs as a user would run it (`npx tsx examples/<name>.ts`, here `node --import
 * tsx`), exits 0 by itself within a bounded time, and prints the line that shows it worked.
 * The bound is generous: the ten run at once, each compiling itself with tsx, and on a loaded
 * 2-core machine one took more than 25 s.
 */
import { execFile } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const root = new URL('..', import.meta.url).pathname

function runExample(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], { cwd: root, timeout: 60_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }))
    child.stdin?.end()
  })
}

describe.concurrent('examples', () => {
  it.each([
    ['hello', /bob is connected to alice: true[\s\S]*hello: done/],
    ['ping-protocol', /alice: greeted by bob[\s\S]*bob: alice says "welcome, bob! you are visitor #1"[\s\S]*greeting protocol: done/],
    ['embed-in-http-server', /GET \/dial\?addr=nonsense → 400[\s\S]*GET \/dial → 202[\s\S]*GET \/metrics → xswarm_connections\{direction="outbound"\} 1[\s\S]*self-test ok: \/peers lists \w+[\s\S]*wss self-test ok/],
    ['public-node', /client 1: peer\.connected[\s\S]*client 3: dial\.failed \(too-many-connections-per-ip\)[\s\S]*public node: done/],
    ['discovery', /node\d found \S+ at ws:\/\/[\s\S]*node5 saved \d+ peers/],
    ['inspect', /\[inspect\] actor started[\s\S]*← peer\.connected[\s\S]*inspection events seen: .*@xstate\.event/],
    ['live-page', /live page: http:\/\/127\.0\.0\.1:\d+\/[\s\S]*\/events sent 3 nodes[\s\S]*live page: ok/],
    ['actors-counter', /B asked: \{"type":"count","n":1\}[\s\S]*B's machine got count 3[\s\S]*B looked up 'counter': ws:\/\/127\.0\.0\.1:\d+\/p2p\/\w+\/actor\/counter answers \{"type":"count","n":3\}[\s\S]*does not exist: no-such-actor[\s\S]*B actors protocol ← actors\.ask[\s\S]*A actors protocol → deliver to counter[\s\S]*B actors protocol → actors\.answer[\s\S]*actors-counter: done/],
    ['record-replay', /replayed #\d+: pubsub\.message[\s\S]*the same \d+ events as live: true[\s\S]*after input \d+: \d+ actors; pubsub is "running", its topics \["news"\][\s\S]*record-replay: done/],
    ['work-queue', /killing w2 in the middle of job \d+[\s\S]*20 of 20 jobs done, each exactly once: true; redelivered after w2 died: \[\d[\s\S]*work-queue: done/],
  ])('examples/%s.ts runs and exits 0', async (name, expected) => {
    const { code, stdout, stderr } = await runExample(name)
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0)
    expect(stdout).toMatch(expected)
  }, 70_000)
})
