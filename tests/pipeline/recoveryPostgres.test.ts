/**
 * PostgreSQL restarts in the middle of a request: a worker process (src/main.ts
 * --role worker) keeps running through the outage (heartbeats and progress
 * writes fail and are logged, the LISTEN connection is re-established, the
 * completion write waits for the server) and the request completes once the
 * server is back. The server is an embedded PostgreSQL of this test's own
 * (tests/support/holdEmbeddedPostgres.ts), stopped and started again on the
 * same data directory and port; the machine's shared server is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.ts';
import { requestSeparation } from '../../src/jobs/pipeline/requestSeparation.ts';
import { insertRequest } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { makeTinyModels, tempDir, toneWav } from './helpers.ts';
import { openProducer, spawnWorker, stopWorker, workerEnv, type WorkerChild } from './recoveryHelpers.ts';

let scratch: string;
let pgDir: string;
let modelDir: string;
let audioDir: string;
let dataDir: string;
let server: ChildProcess | undefined;
let worker: WorkerChild | undefined;

/** Starts (or restarts) the embedded server on pgDir; resolves with its port once it accepts connections. */
async function startServer(): Promise<number> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'tests/support/holdEmbeddedPostgres.ts'), pgDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise<number>((ready, fail) => {
    child.stdout.on('data', (chunk) => {
      const m = /^ready (\d+)/.exec(String(chunk));
      if (m) ready(Number(m[1]));
    });
    child.on('exit', (code) => fail(new Error(`embedded PostgreSQL holder exited (${code}): ${stderr}`)));
  });
}

/** SIGTERM: the holder stops the server (fast shutdown: every connection is cut) and exits. */
async function stopServer(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(143);
}

function databaseUrl(port: number): string {
  const credentials = JSON.parse(readFileSync(path.join(pgDir, 'postgres.json'), 'utf8')) as { user: string; password: string };
  return `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/sfa`;
}

/** One query on a connection of its own: fails (undefined) while the server is down. */
async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[] | undefined> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(sql, params)).rows as T[];
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

beforeAll(async () => {
  scratch = tempDir('pg-restart');
  chmodSync(scratch, 0o755); // as root, the server runs as the postgres user, which must reach its directory
  pgDir = path.join(scratch, 'pg');
  modelDir = await makeTinyModels(['htdemucs']);
  audioDir = tempDir('audio');
  dataDir = tempDir('data');
}, 180_000);

afterAll(async () => {
  if (worker?.running()) worker.child.kill('SIGKILL');
  await stopServer().catch(() => server?.kill('SIGKILL'));
  for (const dir of [scratch, modelDir, audioDir, dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a PostgreSQL restart mid-pipeline', () => {
  it('is survived: the worker keeps running and the request completes', async () => {
    const port = await startServer();
    const url = databaseUrl(port);
    worker = await spawnWorker(workerEnv({ url, dataDir, modelDir, extra: { SFA_STALE_AFTER_SECONDS: '60' } }));

    const producer = await openProducer(url);
    const input = await toneWav(path.join(audioDir, 'song.wav'), 20, 262);
    const ticket = await requestSeparation(producer.pipeline, { input, model: 'htdemucs', format: 'flac' });
    const requestId = await insertRequest(producer.orm.em.fork(), ticket.trackId, {
      processing_job_id: ticket.processingJobId,
      analysis_job_id: ticket.analysisJobId,
    });
    await producer.close(); // nothing of the test process holds a connection through the restart

    await until('separation progress', async () => {
      const rows = await query<{ status: string; progress: number }>(url, 'select status, progress from processing_jobs where id = $1', [ticket.processingJobId]);
      return rows?.[0]?.status === 'processing' && rows[0].progress > 0;
    }, 120_000);

    await stopServer();
    expect(await query(url, 'select 1')).toBeUndefined(); // really down
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await startServer()).toBe(port);

    const done = await until('the request to complete', async () => {
      const rows = await query<{ p: string; a: string; d: string }>(
        url,
        `select p.status as p, a.status as a, d.status as d from requests r
           join processing_jobs p on p.id = r.processing_job_id
           join analysis_jobs a on a.id = r.analysis_job_id
           join download_jobs d on d.track_id = r.track_id
          where r.id = $1`,
        [requestId],
      );
      const row = rows?.[0];
      return row && [row.p, row.a].every((s) => s === 'completed' || s === 'failed') ? row : undefined;
    }, 180_000);
    expect(done).toEqual({ p: 'completed', a: 'completed', d: 'completed' });

    // Completed on the original rows: the outage did not cost the work (no "worker lost" replacement).
    const processing = await query<{ id: string; status: string; error: string | null }>(url, 'select id, status, error from processing_jobs');
    expect(processing).toEqual([{ id: ticket.processingJobId, status: 'completed', error: null }]);
    const stems = await query<{ file_path: string }>(url, 'select file_path from stems where processing_job_id = $1', [ticket.processingJobId]);
    expect(stems).toHaveLength(4);
    for (const stem of stems!) expect(stem.file_path).toMatch(/\.flac$/);
    for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
      expect(await query(url, `select id from ${table} where status in ('queued', 'downloading', 'processing')`), table).toEqual([]);
    }

    // The worker did not crash; it noticed the outage and carried on.
    expect(worker.running()).toBe(true);
    expect(worker.log()).toMatch(/heartbeat of processing job .* failed|progress write failed|progress listener lost its connection/);
    expect(await stopWorker(worker)).toEqual({ code: 0, signal: null });
  }, 400_000);
});
