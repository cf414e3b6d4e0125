/**
 * The reaper against real PostgreSQL and pg-boss, with a real worker process
 * composition (startWorkerProcess, tiny model) finishing what it re-queues.
 * Rows are staged the way a vanished worker or an exhausted pg-boss job leaves
 * them; reapOnce is called directly so each case is deterministic (the
 * interval-driven reaper of a real process is exercised by recoveryKill).
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { NO_AUDIO_COMING, neverStartedReason } from '../../src/domain/recovery.ts';
import { fileSourceUrl } from '../../src/jobs/pipeline/input.ts';
import { requestSeparation, type SeparationTicket } from '../../src/jobs/pipeline/requestSeparation.ts';
import { createBoss } from '../../src/jobs/queues/boss.ts';
import { QUEUES } from '../../src/jobs/queues/payloads.ts';
import { reapOnce, reapRow } from '../../src/jobs/workers/reaper.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/workers/runtime.ts';
import { insertRequest } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { jobRow, makeTinyModels, memoryLogger, tempDir, toneWav, waitForTicket } from './helpers.ts';
import { ownDatabase, type OwnDatabase } from './recoveryHelpers.ts';

const STALE = 60;
let db: OwnDatabase;
let proc: WorkerProcess;
/** A second process's composition (no workers): a reaper racing the first one. */
let other: WorkerProcess;
/** A pg-boss that fetches jobs and then "vanishes" without settling them. */
let vanishing: PgBoss;
let modelDir: string;
let audioDir: string;
let dataDir: string;
let done: SeparationTicket;
const log = memoryLogger();

async function compose(queues?: ('download' | 'separate' | 'analyze')[]): Promise<WorkerProcess> {
  const parsed = parseConfig({ DATABASE_URL: db.url, SFA_DATA_DIR: dataDir, SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu', SFA_MAX_DURATION_SECONDS: '60' });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  // Polling only (no NOTIFY wake-up): the tests hand jobs to `vanishing` or to reapOnce before this
  // process's own workers may look (they poll every 0.5 s).
  return startWorkerProcess(parsed.config, db.url, { pollingIntervalSeconds: 0.5, log, reaper: false, boss: { listenNotify: false }, ...(queues ? { queues } : {}) });
}

beforeAll(async () => {
  process.env.SFA_TORCH_THREADS = '1';
  db = await ownDatabase();
  modelDir = await makeTinyModels(['htdemucs']);
  audioDir = tempDir('audio');
  dataDir = tempDir('data');
  proc = await compose();
  other = await compose([]);
  vanishing = await createBoss(db.url, { supervise: false, maxConnections: 2, onError: () => undefined });
  // One finished request: a track with its audio downloaded, for the cases below.
  done = await requestSeparation({ orm: proc.ctx.orm, boss: proc.ctx.boss, maxDurationSeconds: 60 }, { input: await toneWav(path.join(audioDir, 'done.wav'), 3), model: 'htdemucs' });
  await waitForTicket(proc.ctx.orm, done);
}, 240_000);

afterAll(async () => {
  await vanishing?.stop({ graceful: false });
  await other?.stop();
  await proc?.stop();
  for (const dir of [modelDir, audioDir, dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const em = () => proc.ctx.orm.em.fork();
const reap = () => reapOnce(proc.ctx, { staleAfterSeconds: STALE });

async function insertRow(table: string, fields: Record<string, unknown>, ageSeconds = 3600): Promise<string> {
  const columns = Object.keys(fields);
  const rows = await em().execute<{ id: string }[]>(
    `insert into ${table} (${columns.join(', ')}, updated_at) values (${columns.map(() => '?').join(', ')}, now() - make_interval(secs => ?)) returning id`,
    [...Object.values(fields).map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v)), ageSeconds],
  );
  return rows[0]!.id;
}

async function fileTrack(name: string, frequency: number): Promise<string> {
  const file = await toneWav(path.join(audioDir, name), 2, frequency);
  const st = statSync(file);
  const rows = await em().execute<{ id: string }[]>(`insert into tracks (title, source_url) values (?, ?) returning id`, [name, fileSourceUrl(file, st)]);
  return rows[0]!.id;
}

async function rowsOf(table: string, trackId: string) {
  return em().execute<{ id: string; status: string; error: string | null }[]>(`select id, status, error from ${table} where track_id = ? order by inserted_at`, [trackId]);
}

describe('the reaper', () => {
  it('fails a running row whose heartbeat stopped (its worker vanished) with the reason, and retries it as a new row', async () => {
    const lost = await insertRow('processing_jobs', { track_id: done.trackId, model: 'htdemucs', status: 'processing', progress: 40, options: { format: 'flac' } });
    const requestId = await insertRequest(em(), done.trackId, { processing_job_id: lost });
    // Its worker had fetched the pg-boss job and then vanished (kill -9): the job stays active until pg-boss's expiry.
    await vanishing.send(QUEUES.separate, { processingJobId: lost }, { singletonKey: lost, expireInSeconds: 3600 });
    const [fetched] = await vanishing.fetch(QUEUES.separate);
    expect(fetched?.data).toEqual({ processingJobId: lost });
    // The lost attempt's leftovers, as kill -9 leaves them.
    const leftovers = [path.join(dataDir, 'tmp', `separate-${lost}-abc123`), path.join(dataDir, 'stems', done.trackId, lost)];
    for (const dir of leftovers) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'vocals.flac.partial'), 'half');
    }

    const reaped = await reap();
    const entry = reaped.find((r) => r.id === lost);
    expect(entry).toMatchObject({ kind: 'processing', action: 'replace_lost' });
    const old = await jobRow(proc.ctx.orm, 'processing_jobs', lost);
    expect(old.status).toBe('failed');
    expect(old.error).toBe('The worker running this job stopped responding (worker lost: no heartbeat for 3600 s). A new attempt was queued.');
    for (const dir of leftovers) expect(existsSync(dir), dir).toBe(false);

    const replacement = entry!.detail!;
    const request = (await em().execute<{ processing_job_id: string }[]>(`select processing_job_id from requests where id = ?`, [requestId]))[0]!;
    expect(request.processing_job_id).toBe(replacement);
    const [job] = await proc.ctx.boss.findJobs(QUEUES.separate, { key: replacement });
    expect(job?.data).toEqual({ processingJobId: replacement, lostAttempts: 1 });
    await until('the replacement to complete', async () => (await jobRow(proc.ctx.orm, 'processing_jobs', replacement)).status === 'completed', 120_000);
    const stems = await em().execute<{ file_path: string }[]>(`select file_path from stems where processing_job_id = ?`, [replacement]);
    expect(stems).toHaveLength(4);
    for (const s of stems) expect(s.file_path).toMatch(/\.flac$/);

    // A second round finds nothing more to do for it.
    expect((await reap()).filter((r) => r.id === lost || r.id === replacement)).toEqual([]);
  }, 180_000);

  it('gives up on a row lost for the third time instead of looping', async () => {
    const lost = await insertRow('analysis_jobs', { track_id: done.trackId, status: 'processing', progress: 5 });
    await vanishing.send(QUEUES.analyze, { analysisJobId: lost, lostAttempts: 2 }, { singletonKey: lost });
    const before = (await rowsOf('analysis_jobs', done.trackId)).length;
    expect((await reap()).find((r) => r.id === lost)).toMatchObject({ action: 'give_up_lost' });
    const row = await jobRow(proc.ctx.orm, 'analysis_jobs', lost);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/worker lost: no heartbeat for \d+ s\)\. Gave up after 3 attempts/);
    expect(await rowsOf('analysis_jobs', done.trackId)).toHaveLength(before);
  });

  it('leaves live rows alone: a fresh heartbeat, or a queued row younger than the threshold', async () => {
    const running = await insertRow('processing_jobs', { track_id: done.trackId, model: 'htdemucs', status: 'processing', progress: 1 }, 5);
    const queued = await insertRow('download_jobs', { track_id: done.trackId }, 5);
    for (const [kind, id] of [['processing', running], ['download', queued]] as const) {
      expect(await reapRow(proc.ctx, kind, id, done.trackId, { staleAfterSeconds: STALE })).toMatchObject({ action: 'leave' });
    }
    expect((await jobRow(proc.ctx.orm, 'processing_jobs', running)).status).toBe('processing');
    expect((await jobRow(proc.ctx.orm, 'download_jobs', queued)).status).toBe('queued');
    // Settle them so later rounds do not see them.
    await em().execute(`update processing_jobs set status = 'failed', error = 'test cleanup' where id = ?`, [running]);
    await em().execute(`update download_jobs set status = 'failed', error = 'test cleanup' where id = ?`, [queued]);
  });

  it('re-sends a queued download that has no pg-boss job left; the rows waiting for its audio wait, then run', async () => {
    const trackId = await fileTrack('stranded.wav', 523);
    const download = await insertRow('download_jobs', { track_id: trackId });
    const processing = await insertRow('processing_jobs', { track_id: trackId, model: 'htdemucs', options: { format: 'wav' } });
    const analysis = await insertRow('analysis_jobs', { track_id: trackId });

    const reaped = await reap();
    expect(reaped.filter((r) => [download, processing, analysis].includes(r.id))).toEqual([
      expect.objectContaining({ id: download, kind: 'download', action: 'resend' }),
    ]);
    const ticket = { trackId, downloadJobId: download, processingJobId: processing, analysisJobId: analysis } as SeparationTicket;
    const rows = await waitForTicket(proc.ctx.orm, ticket);
    expect([rows.download.status, rows.processing.status, rows.analysis.status]).toEqual(['completed', 'completed', 'completed']);
  }, 180_000);

  it('re-sends a queued row whose pg-boss job failed (retries exhausted on infrastructure errors), and fails it when that happens again', async () => {
    // Inputs ready (the finished track's audio); one exhausted pg-boss job: sent again, and it runs.
    const once = await insertRow('analysis_jobs', { track_id: done.trackId });
    await exhaustedJob(QUEUES.analyze, { analysisJobId: once }, once);
    expect((await reap()).find((r) => r.id === once)).toMatchObject({ action: 'resend' });
    await until('the re-sent analysis to complete', async () => (await jobRow(proc.ctx.orm, 'analysis_jobs', once)).status === 'completed', 120_000);

    // Two exhausted pg-boss jobs: the row is failed with a clear reason instead.
    const twice = await insertRow('processing_jobs', { track_id: done.trackId, model: 'htdemucs', options: { format: 'mp3' } });
    await exhaustedJob(QUEUES.separate, { processingJobId: twice }, twice);
    await exhaustedJob(QUEUES.separate, { processingJobId: twice }, twice);
    expect((await reap()).find((r) => r.id === twice)).toMatchObject({ action: 'fail' });
    expect(await jobRow(proc.ctx.orm, 'processing_jobs', twice)).toMatchObject({ status: 'failed', error: neverStartedReason(2) });
  }, 180_000);

  it('fails queued rows whose audio is not coming (their download failed)', async () => {
    const trackId = await fileTrack('orphan.wav', 587);
    await insertRow('download_jobs', { track_id: trackId, status: 'failed', error: 'The download failed: test' });
    const processing = await insertRow('processing_jobs', { track_id: trackId, model: 'htdemucs' });
    const analysis = await insertRow('analysis_jobs', { track_id: trackId });
    await reap();
    for (const [table, id] of [['processing_jobs', processing], ['analysis_jobs', analysis]] as const) {
      expect(await jobRow(proc.ctx.orm, table, id)).toMatchObject({ status: 'failed', error: NO_AUDIO_COMING });
    }
  });

  it('two reapers racing (two processes) settle each lost row exactly once', async () => {
    const trackId = await fileTrack('race.wav', 659);
    const lost: string[] = [];
    for (let i = 0; i < 6; i++) lost.push(await insertRow('download_jobs', { track_id: trackId, status: 'downloading', progress: 3 }));

    const [a, b] = await Promise.all([reap(), reapOnce(other.ctx, { staleAfterSeconds: STALE })]);
    const handled = [...a, ...b].filter((r) => lost.includes(r.id));
    expect(handled.length).toBeGreaterThan(0);
    // A row (or its track) busy in the other reaper's transaction is skipped, not waited for: the next round gets it.
    for (let round = 0; round < 5 && handled.length < lost.length; round++) handled.push(...(await reap()).filter((r) => lost.includes(r.id)));
    // Each row was handled exactly once.
    expect(handled.map((r) => r.id).sort()).toEqual([...lost].sort());
    const rows = await rowsOf('download_jobs', trackId);
    for (const id of lost) {
      const row = rows.find((r) => r.id === id)!;
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/worker lost: no heartbeat for \d+ s\)\. A new attempt was queued\./);
    }
    const replacements = rows.filter((r) => !lost.includes(r.id));
    expect(replacements).toHaveLength(6);
    expect(new Set(handled.map((r) => r.detail))).toEqual(new Set(replacements.map((r) => r.id)));
    await until('the replacement downloads to finish', async () => (await rowsOf('download_jobs', trackId)).every((r) => r.status === 'completed' || r.status === 'failed'), 120_000);
  }, 180_000);

  it('leaves nothing queued, downloading or processing behind', async () => {
    await until('all work to settle', async () => {
      const active = await em().execute(
        `select id from download_jobs where status in ('queued', 'downloading', 'processing')
         union all select id from processing_jobs where status in ('queued', 'downloading', 'processing')
         union all select id from analysis_jobs where status in ('queued', 'downloading', 'processing')`,
      );
      return active.length === 0;
    }, 120_000);
  }, 150_000);
});

/** A pg-boss job for the row that pg-boss gave up on: sent with no retries, held back, then failed. */
async function exhaustedJob(queue: string, data: object, rowId: string): Promise<void> {
  const id = await vanishing.send(queue, data, { singletonKey: rowId, retryLimit: 0, startAfter: 3600 });
  expect(id).toBeTruthy();
  await vanishing.fail(queue, id!, { message: 'connect ECONNREFUSED 127.0.0.1:5432' });
  const [job] = await vanishing.findJobs(queue, { id: id! });
  expect(job?.state).toBe('failed');
}
