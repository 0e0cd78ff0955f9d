import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (Playwright's own browser download cannot
 * work on machines without internet). Install with `apt-get install -y chromium`.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromiumMissing = !existsSync(CHROMIUM_PATH);

/**
 * `describe` that runs when Chromium is installed. Without it: skipped with a message on
 * a developer's machine, a failure under CI (CI=true), where a skip would hide a gap.
 */
export function describeWithBrowser(name: string, body: () => void): void {
  if (!chromiumMissing) return describe(name, body);
  const message = `Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(message);
      });
    });
  } else {
    console.warn(`SKIPPED "${name}": ${message}`);
    describe.skip(name, body);
  }
}

/** `extraArgs`: more Chromium flags, e.g. `--host-resolver-rules=MAP *.example 127.0.0.1` for pages on named origins. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}
