/**
 * `sfa player <track|request|stem set id> [--serve]` against the per-run
 * database: the printed link names the newest stems of the track, lives
 * SFA_PLAYER_LINK_DAYS days, is under PUBLIC_BASE_URL when set and on this
 * host otherwise; --serve serves the page at the printed link until stopped.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/player.ts';
import type { Orm } from '../../src/db/orm.ts';
import { tempDir } from '../engine/helpers.ts';
import { insertRequest, openTestOrm, testDatabaseUrl } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { makeToneSet, type ToneSet } from './helpers.ts';

describe('sfa player', () => {
  let orm: Orm;
  let dataDir: string;
  let set: ToneSet;
  let env: Record<string, string>;

  const sfaPlayer = async (args: string[], extraEnv: Record<string, string> = {}, until?: Promise<void>) => {
    let stdout = '';
    let stderr = '';
    const code = await run(args, { env: { ...env, ...extraEnv }, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), ...(until ? { until } : {}) });
    return { code, stdout, stderr };
  };

  beforeAll(async () => {
    orm = await openTestOrm();
    dataDir = tempDir('player-cli');
    set = await makeToneSet(orm.em.fork(), dataDir, { title: 'CLI Song', seconds: 1, stems: [{ name: 'vocals', frequency: 440, amplitude: 0.2 }] });
    env = { DATABASE_URL: testDatabaseUrl(), SFA_DATA_DIR: dataDir, SFA_LINK_SECRET: 'cli-player-secret-0123456789', HOME: dataDir };
  });
  afterAll(async () => {
    await orm?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints a local link without PUBLIC_BASE_URL and says where it works', async () => {
    const r = await sfaPlayer([set.trackId], { SFA_HTTP_PORT: '8123', SFA_PLAYER_LINK_DAYS: '3' });
    expect(r.code, r.stderr).toBe(0);
    const url = new URL(r.stdout.trim());
    expect(`${url.origin}${url.pathname}`).toBe(`http://127.0.0.1:8123/player/${set.setId}`);
    const days = (Number(url.searchParams.get('exp')) * 1000 - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(2.99);
    expect(days).toBeLessThanOrEqual(3);
    expect(r.stderr).toContain('PUBLIC_BASE_URL is not set');
  });

  it('prints a public link for a request id or the stem set id', async () => {
    const requestId = await insertRequest(orm.em.fork(), set.trackId, { processing_job_id: set.setId });
    for (const id of [requestId, set.setId]) {
      const r = await sfaPlayer([id], { PUBLIC_BASE_URL: 'https://stems.example.org/sfa/' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^https://stems\\.example\\.org/sfa/player/${set.setId}\\?exp=\\d+&sig=[0-9a-f]{64}\\n$`));
      expect(r.stderr).toBe('');
    }
  });

  it('--serve serves the page at the printed link until stopped', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let stdout = '';
    const running = run([set.trackId, '--serve'], { env: { ...env, SFA_HTTP_PORT: '0' }, stdout: (t) => (stdout += t), stderr: () => undefined, until: stopped });
    await until('the printed link', async () => stdout.includes('\n'), 30_000);
    const page = await fetch(stdout.trim());
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    stop();
    expect(await running).toBe(0);
  });

  it('refuses what is not an id, and says when there are no stems', async () => {
    expect((await sfaPlayer(['not-an-id'])).code).toBe(2);
    expect((await sfaPlayer([set.trackId, '--open'])).code).toBe(2);
    const none = await sfaPlayer(['00000000-0000-4000-8000-000000000000']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no finished stems for 00000000-0000-4000-8000-000000000000');
  });
});
