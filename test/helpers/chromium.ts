/**
 * Headless Chromium for tests: Debian's `chromium` driven by `playwright-core` (no browser
 * download at install time). `chromiumPath()` says where it is or why a test must skip;
 * `launchChromium()` starts it with the flags that keep it off the network.
 * .ci/run installs the `chromium` package.
 * @module
 */
import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p)

/** The Chromium executable, or undefined (then `skipReason` says why). */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p))
}

/** Why Chromium tests skip here, or undefined when they can run. */
export const skipReason: string | undefined = chromiumPath() === undefined
  ? `no Chromium at ${CANDIDATES.join(' or ')}: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`
  : undefined

/**
 * A headless Chromium. Playwright gives every launch a fresh temporary profile (its own
 * --user-data-dir, removed on close; it refuses one passed in `args`).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath()
  if (executablePath === undefined) throw new Error(skipReason)
  const { chromium } = await import('playwright-core')
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
}
