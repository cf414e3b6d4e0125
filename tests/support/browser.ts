/**
 * A real Chromium for the browser tests (Debian's `chromium`, installed by
 * scripts/setup.sh), driven with puppeteer-core; one browser per test file.
 * Audio plays to Chromium's silent fallback output, so the AudioContext clock
 * runs as on a desktop. Screenshots go to the run's output folder.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { REPO_ROOT } from '../../src/config.ts';

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('Chromium is not installed: run `npm run setup` (it installs Debian\'s chromium)');
  return found;
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required', '--disable-dev-shm-usage', '--mute-audio'],
  });
}

/** Where this run's screenshots go: $SFA_TEST_OUTPUT_DIR or test-output/ in the repository. */
export function testOutputDir(sub: string): string {
  const dir = path.join(process.env.SFA_TEST_OUTPUT_DIR ?? path.join(REPO_ROOT, 'test-output'), sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}
