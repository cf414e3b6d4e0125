/**
 * openDatabase without a URL: sharing a running embedded server between
 * processes, stopping it on SIGTERM, keeping it out of a terminal's Ctrl-C
 * (SIGINT to the whole process group), and a clear error when the `postgres`
 * user cannot reach the data directory.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrm } from '../../src/db/orm.ts';
import { openDatabase } from '../../src/db/postgres.ts';

const REPO = resolve(import.meta.dirname, '../..');

function postgresRunningFor(clusterDir: string): boolean {
  return readdirSync('/proc').some((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(clusterDir);
    } catch {
      return false;
    }
  });
}

async function canQuery(url: string): Promise<boolean> {
  const orm = await createOrm(url);
  try {
    await orm.em.fork().execute('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await orm.close();
  }
}

/** tests/support/holdEmbeddedPostgres.ts in a child process; resolves once its server is ready. */
async function startHolder(dataDir: string, args: string[] = [], options: { detached?: boolean } = {}) {
  const child = spawn(process.execPath, [join(REPO, 'tests/support/holdEmbeddedPostgres.ts'), dataDir, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', () => stdout.startsWith('ready') && ready());
    void exited.then(() => fail(new Error(`child exited early: ${stderr}`)));
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('embedded PostgreSQL', { timeout: 120_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sfa-embedded-'));
  chmodSync(scratch, 0o755);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('a second opener attaches to the running server and leaves it to the first', async () => {
    const dataDir = join(scratch, 'shared');
    const first = await openDatabase({ dataDir, handleSignals: false });
    try {
      const second = await openDatabase({ dataDir, handleSignals: false });
      expect(first.embedded?.startedHere).toBe(true);
      expect(second.embedded).toMatchObject({ startedHere: false, port: first.embedded?.port });
      expect(second.url).toBe(first.url);
      await second.close();
      expect(await canQuery(first.url)).toBe(true);
    } finally {
      await first.close();
    }
    expect(postgresRunningFor(join(dataDir, 'pg'))).toBe(false);
    // The credentials file keeps the password private.
    expect(readFileSync(join(dataDir, 'postgres.json'), 'utf8')).toContain('"port"');
  });

  it('stops the server when the process that started it gets SIGTERM', async () => {
    const dataDir = join(scratch, 'signalled');
    const holder = await startHolder(dataDir);
    expect(postgresRunningFor(join(dataDir, 'pg'))).toBe(true);
    holder.child.kill('SIGTERM');
    expect(await holder.exited).toBe(143);
    expect(postgresRunningFor(join(dataDir, 'pg'))).toBe(false);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it("a terminal's Ctrl-C reaches the process that started the server, not the server", async () => {
    const dataDir = join(scratch, 'interrupted');
    // Its own process group, signalled as a whole as a terminal's Ctrl-C signals the foreground group.
    const holder = await startHolder(dataDir, ['--like-cli'], { detached: true });
    expect(postgresRunningFor(join(dataDir, 'pg'))).toBe(true);
    process.kill(-holder.child.pid!, 'SIGINT');
    expect(await holder.exited, holder.stderr()).toBe(130);
    // Its SIGINT handling still had the database; then close() stopped the server.
    expect(holder.stdout()).toContain('queried after SIGINT: 1');
    expect(postgresRunningFor(join(dataDir, 'pg'))).toBe(false);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('explains when the postgres user cannot enter the data directory', async () => {
    const locked = join(scratch, 'locked');
    mkdirSync(locked, { mode: 0o700 });
    await expect(openDatabase({ dataDir: join(locked, 'data') })).rejects.toThrow(
      `the "postgres" user, which cannot enter ${locked}`,
    );
  });
});
