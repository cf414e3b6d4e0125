/**
 * `sfa db migrate` as a user runs it, in a child process: against an embedded
 * PostgreSQL (no DATABASE_URL) and against DATABASE_URL.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { run as runDbCommand } from '../../src/cli/commands/db.ts';
import { MIGRATIONS } from '../../src/db/migrations/index.ts';
import { createOrm } from '../../src/db/orm.ts';
import { openDatabase } from '../../src/db/postgres.ts';
import { dropDatabase, uniqueDatabaseName, withDatabase } from '../support/db.ts';
import { runCaptured } from '../support/inProcess.ts';

const REPO = resolve(import.meta.dirname, '../..');
/** What a first `sfa db migrate` prints: every registered migration, in order. */
const APPLIED_ALL = MIGRATIONS.map((m) => `applied ${m.name}\n`).join('');
const execFileAsync = promisify(execFile);

async function sfa(args: string[], env: NodeJS.ProcessEnv) {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [join(REPO, 'bin/sfa.js'), ...args], {
      cwd: REPO,
      env: { ...inherited, ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** PIDs of processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function publicTables(url: string): Promise<string[]> {
  const orm = await createOrm(url);
  try {
    const rows = await orm.em
      .fork()
      .execute<{ table_name: string }[]>(
        `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
      );
    return rows.map((r) => r.table_name);
  } finally {
    await orm.close();
  }
}

describe('sfa db migrate', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sfa-db-cli-'));
  // As root the server runs as the `postgres` user, which must be able to enter the directory.
  chmodSync(scratch, 0o755);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('without DATABASE_URL starts embedded PostgreSQL under SFA_DATA_DIR, migrates and stops it', { timeout: 180_000 }, async () => {
    const dataDir = join(scratch, 'data');
    const clusterDir = join(dataDir, 'pg');

    const first = await sfa(['db', 'migrate'], { SFA_DATA_DIR: dataDir });
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stderr).toContain(`started embedded PostgreSQL (data in ${clusterDir}`);
    expect(first.stdout).toBe(APPLIED_ALL);
    expect(existsSync(join(clusterDir, 'PG_VERSION'))).toBe(true);
    expect(processesMentioning(clusterDir)).toEqual([]);
    expect(existsSync(join(clusterDir, 'postmaster.pid'))).toBe(false);

    // Start the same cluster from here to look inside, then stop it again.
    const database = await openDatabase({ dataDir, handleSignals: false });
    try {
      expect(database.embedded).toMatchObject({ startedHere: true });
      expect(database.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/sfa$/);
      expect(await publicTables(database.url)).toEqual([
        'analysis_jobs',
        'analysis_results',
        'batch_tracks',
        'batches',
        'deliveries',
        'download_jobs',
        'mikro_orm_migrations',
        'processing_jobs',
        'reaction_choices',
        'request_slots',
        'requests',
        'stems',
        'tracks',
      ]);
    } finally {
      await database.close();
    }
    expect(processesMentioning(clusterDir)).toEqual([]);

    const second = await sfa(['db', 'migrate'], { SFA_DATA_DIR: dataDir });
    expect(second, second.stderr).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
    expect(processesMentioning(clusterDir)).toEqual([]);
  });

  it('with DATABASE_URL uses that server and creates the database if missing', { timeout: 60_000 }, async () => {
    const admin = inject('adminDatabaseUrl');
    const name = uniqueDatabaseName('sfa_test_cli');
    const url = withDatabase(admin, name);
    try {
      const result = await sfa(['db', 'migrate'], { DATABASE_URL: url, SFA_DATA_DIR: join(scratch, 'unused') });
      expect(result, result.stderr).toMatchObject({ code: 0, stdout: APPLIED_ALL });
      expect(result.stderr).not.toContain('embedded');
      expect(existsSync(join(scratch, 'unused'))).toBe(false);
      expect(await publicTables(url)).toContain('tracks');
    } finally {
      await dropDatabase(admin, name);
    }
  });

  it('exits 2 on a usage error', async () => {
    const result = await sfa(['db', 'migrate', 'extra'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: sfa db migrate');
  });
});

// The same command in-process: argument and configuration handling without a child process each time.
describe('db command run()', () => {
  const runDb = (args: string[], env: Record<string, string | undefined>) => runCaptured(() => runDbCommand(args), env);


  const usageErrors = [[], ['migrat'], ['migrate', '--force'], ['status']].map((args) => ({ args, shown: args.join(' ') }));
  it.for(usageErrors)('exits 2 for `sfa db $shown`', async ({ args }) => {
    const result = await runDb(args, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: sfa db migrate');
  });

  it('prints usage with --help and exits 0', async () => {
    const result = await runDb(['--help'], {});
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('usage: sfa db migrate');
  });

  it('exits 2 on an invalid configuration', async () => {
    const result = await runDb(['migrate'], { DATABASE_URL: 'mysql://root@127.0.0.1/sfa' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL: expected a postgres://');
  });

  it('exits 1 with a message when the database cannot be reached', async () => {
    const result = await runDb(['migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sfa db migrate: .*ECONNREFUSED/);
  });

  it('migrates DATABASE_URL and then reports it up to date', async () => {
    const admin = inject('adminDatabaseUrl');
    const name = uniqueDatabaseName('sfa_test_run');
    const url = withDatabase(admin, name);
    try {
      expect(await runDb(['migrate'], { DATABASE_URL: url })).toMatchObject({
        code: 0,
        stdout: APPLIED_ALL,
      });
      expect(await runDb(['migrate'], { DATABASE_URL: url })).toMatchObject({
        code: 0,
        stdout: 'database is up to date\n',
      });
    } finally {
      await dropDatabase(admin, name);
    }
  });
});
