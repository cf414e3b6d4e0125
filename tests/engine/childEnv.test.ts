/**
 * Child processes get a minimal environment (src/domain/childEnv.ts): real
 * children started the way the app starts them — a tool through runTool
 * (`env` prints what it got) and the Python engine through EngineClient (its
 * environment read from /proc) — while this process holds the secrets.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../../src/domain/childEnv.ts';
import { runTool } from '../../src/jobs/download/runTool.ts';
import { EngineClient } from '../../src/jobs/engine/client.ts';
import { memoryLogger } from './helpers.ts';

const SECRETS = {
  DISCORD_TOKEN: 'discord-token-do-not-leak',
  SPOTIFY_CLIENT_SECRET: 'spotify-secret-do-not-leak',
  SFA_LINK_SECRET: 'link-secret-do-not-leak',
  DATABASE_URL: 'postgres://user:password-do-not-leak@db/sfa',
  SPOTIFY_CLIENT_ID: 'spotify-id',
  AWS_SECRET_ACCESS_KEY: 'aws-do-not-leak',
};
const KEPT = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', https_proxy: 'http://proxy.example:3128', NO_PROXY: 'localhost', TMPDIR: '/tmp' };
const marker = `/tmp/sfa-childenv-${randomUUID()}`;
const saved: Record<string, string | undefined> = {};

function parseEnv(text: string, separator: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(separator)
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function leaked(env: Record<string, string>): string[] {
  const values = Object.values(env).join('\n');
  return Object.entries(SECRETS).filter(([name, value]) => name in env || values.includes(value)).map(([name]) => name);
}

beforeAll(() => {
  for (const [name, value] of Object.entries({ ...SECRETS, ...KEPT, SFA_DATA_DIR: marker, SFA_TORCH_THREADS: '1', NUMBA_NUM_THREADS: '1' })) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('childEnv', () => {
  it('keeps PATH, HOME, locale, proxies and TMPDIR; drops everything else; extra names win', () => {
    const parent = { PATH: '/bin', HOME: '/root', LC_CTYPE: 'C', https_proxy: 'p', ...SECRETS, NUMBA_CACHE_DIR: '/c', SFA_DEVICE: 'cpu' };
    expect(childEnv('tool', { PYTHONUNBUFFERED: '1' }, parent)).toEqual({ PATH: '/bin', HOME: '/root', LC_CTYPE: 'C', https_proxy: 'p', PYTHONUNBUFFERED: '1' });
    expect(childEnv('engine', { HOME: undefined }, parent)).toEqual({ PATH: '/bin', LC_CTYPE: 'C', https_proxy: 'p', NUMBA_CACHE_DIR: '/c', SFA_DEVICE: 'cpu' });
  });

  it('a tool started through runTool (as ffmpeg, yt-dlp and spotdl are) sees no secret', async () => {
    const run = await runTool('env', ['-0'], { timeoutMs: 30_000, env: { EXTRA_FOR_TOOL: 'yes' } });
    expect(run.exitCode).toBe(0);
    const env = parseEnv(run.stdout, '\0');
    expect(leaked(env)).toEqual([]);
    expect(env).toMatchObject({ ...KEPT, PATH: process.env.PATH, EXTRA_FOR_TOOL: 'yes', PYTHONUNBUFFERED: '1' });
    expect(env.SFA_TORCH_THREADS).toBeUndefined(); // engine settings are for the engine only
  }, 60_000);

  it('the Python engine gets its own settings and no secret', async () => {
    const client = new EngineClient({ env: { SFA_DEVICE: 'cpu' }, logger: memoryLogger() });
    try {
      await client.start();
      const pids = readdirSync('/proc').filter((entry) => {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return false;
        try {
          return readFileSync(`/proc/${entry}/environ`, 'latin1').includes(`SFA_DATA_DIR=${marker}\0`);
        } catch {
          return false;
        }
      });
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) {
        const env = parseEnv(readFileSync(`/proc/${pid}/environ`, 'latin1'), '\0');
        expect(leaked(env)).toEqual([]);
        expect(env).toMatchObject({ ...KEPT, SFA_DEVICE: 'cpu', SFA_TORCH_THREADS: '1', NUMBA_NUM_THREADS: '1', PYTHONUNBUFFERED: '1' });
        expect(env.NUMBA_CACHE_DIR).toBeTruthy();
      }
    } finally {
      await client.close(5000);
    }
  }, 120_000);
});
