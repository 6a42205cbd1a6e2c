/**
 * Debian's Chromium driven by playwright-core (which downloads no browser), as the browser suite
 * and the console bench use it. No browser is a failure with the way to install one: a browser
 * suite must never pass by not running.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.FACEMATCH_CHROMIUM ?? '/usr/bin/chromium';

/** Off: everything Chromium would otherwise fetch from Google at start (the network is closed). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface RunningChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(
  viewport = { width: 1280, height: 900 },
): Promise<RunningChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: the browser tests need one. On Debian/Ubuntu: ` +
        '`sudo apt-get update && sudo apt-get install -y chromium` (.ci/run does this); ' +
        'elsewhere set FACEMATCH_CHROMIUM to a Chromium or Chrome binary.',
    );
  }
  // A fresh profile every run: nothing from an earlier run (cache, storage) can help a test pass.
  const userDataDir = await mkdtemp(join(tmpdir(), 'facematch-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
