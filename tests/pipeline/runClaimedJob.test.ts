/**
 * The worker template on a real database: a claimed row is completed with the
 * body's writes, or failed with its reason; the attempt's temporary folder (and
 * a separation's output folder) never outlives it; a cancel stops the body and
 * writes nothing more; a row that is not queued never reaches the body.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import { UserFacingError } from '../../src/jobs/download/errors.ts';
import { cancelTicket } from '../../src/jobs/pipeline/cancel.ts';
import { moveJob } from '../../src/jobs/pipeline/rowWrites.ts';
import { createBoss } from '../../src/jobs/queues/boss.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { AttemptWatch } from '../../src/jobs/workers/attempt.ts';
import type { WorkerContext } from '../../src/jobs/workers/context.ts';
import { runClaimedJob, type ClaimedJob, type Completion } from '../../src/jobs/workers/runClaimedJob.ts';
import { insertTrackWithJob } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { jobRow, memoryLogger, tempDir } from './helpers.ts';
import { ownDatabase } from './recoveryHelpers.ts';

let orm: Orm;
let boss: PgBoss;
let attempts: AttemptWatch;
let ctx: WorkerContext;
const log = memoryLogger();

beforeAll(async () => {
  const { url } = await ownDatabase();
  orm = await createOrm(url);
  boss = await createBoss(url, { supervise: false, maxConnections: 2 });
  attempts = new AttemptWatch(orm, log, { heartbeatMs: 500 });
  await attempts.listen(url);
  ctx = {
    orm,
    boss,
    paths: new StoragePaths(tempDir('data')),
    maxDurationSeconds: 60,
    sources: {} as WorkerContext['sources'],
    engine: { request: () => Promise.reject(new Error('no engine in these tests')) },
    progressThrottle: { minIntervalMs: 0, minStep: 1 },
    log,
    attempts,
  };
}, 60_000);

afterAll(async () => {
  await attempts?.close();
  await boss?.stop({ graceful: false });
  await orm?.close();
});

async function queuedSeparation(): Promise<{ trackId: string; jobId: string }> {
  return insertTrackWithJob(orm.em.fork(), 'processing', { model: 'htdemucs' });
}

/** A body that leaves a file in its temp folder and one in the row's stem folder, then ends with `end`. */
function separationBody(end: (job: ClaimedJob) => Promise<Completion>) {
  return async (job: ClaimedJob): Promise<Completion> => {
    await writeFile(path.join(await job.tempDir(), 'partial.wav'), 'x');
    const stems = ctx.paths.stemsDir(job.trackId, job.id);
    await mkdir(stems, { recursive: true });
    await writeFile(path.join(stems, 'vocals.wav'), 'x');
    job.reportProgress(40);
    return end(job);
  };
}

describe('runClaimedJob', () => {
  it('completes the row with the body writes and removes the temporary folder', async () => {
    const { trackId, jobId } = await queuedSeparation();
    let tempDir = '';
    await runClaimedJob(
      ctx,
      'processing',
      { id: jobId },
      separationBody(async (job) => {
        tempDir = await job.tempDir();
        expect(path.basename(tempDir)).toMatch(new RegExp(`^separate-${jobId}-`)); // named by the row, for the reaper
        expect((await jobRow(orm, 'processing_jobs', jobId)).status).toBe('processing');
        return { write: (tx) => moveJob(tx, 'processing', jobId, trackId, 'completed', { outputPath: ctx.paths.stemsDir(trackId, jobId) }).then(() => undefined), summary: 'done here' };
      }),
    );
    const row = await jobRow(orm, 'processing_jobs', jobId);
    expect(row.status).toBe('completed');
    expect(row.progress).toBe(100);
    expect(existsSync(tempDir)).toBe(false);
    expect(await ctx.paths.jobTempDirs(jobId)).toEqual([]);
    expect(existsSync(path.join(ctx.paths.stemsDir(trackId, jobId), 'vocals.wav'))).toBe(true); // the outputs stay
    expect(log.lines).toContain(`separate ${jobId}: done here`);
  });

  it('fails the row with the user-facing reason and removes the temporary and output folders', async () => {
    const { trackId, jobId } = await queuedSeparation();
    await runClaimedJob(ctx, 'processing', { id: jobId }, separationBody(() => Promise.reject(new UserFacingError('not_found', 'The audio went away.'))));
    const row = await jobRow(orm, 'processing_jobs', jobId);
    expect(row.status).toBe('failed');
    expect(row.error).toBe('The audio went away.');
    expect(row.progress).toBe(40); // the progress reported before the failure was written
    expect(await ctx.paths.jobTempDirs(jobId)).toEqual([]);
    expect(existsSync(ctx.paths.stemsDir(trackId, jobId))).toBe(false);
  });

  it('fails the row when the completion write fails, and says which stage failed on an internal error', async () => {
    const { trackId, jobId } = await queuedSeparation();
    await runClaimedJob(
      ctx,
      'processing',
      { id: jobId },
      separationBody(async () => ({ write: () => Promise.reject(new Error('disk on fire')), summary: 'never logged' })),
    );
    const row = await jobRow(orm, 'processing_jobs', jobId);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/^The separation failed with an internal error \(disk on fire\)/);
    expect(existsSync(ctx.paths.stemsDir(trackId, jobId))).toBe(false);
    expect(log.lines).not.toContain(`separate ${jobId}: never logged`);
  });

  it('removes a file placed outside the row folder on failure unless another row keeps it', async () => {
    const { jobId } = await insertTrackWithJob(orm.em.fork(), 'download');
    const dir = tempDir('placed');
    const [dropped, kept] = [path.join(dir, 'dropped.wav'), path.join(dir, 'kept.wav')];
    await runClaimedJob(ctx, 'download', { id: jobId }, async (job) => {
      for (const file of [dropped, kept]) await writeFile(file, 'x');
      job.placing(dropped, async () => false);
      job.placing(kept, async () => true);
      throw new UserFacingError('not_found', 'Gone.');
    });
    expect((await jobRow(orm, 'download_jobs', jobId)).status).toBe('failed');
    expect(existsSync(dropped)).toBe(false);
    expect(existsSync(kept)).toBe(true);
  });

  it('stops the body when the row is cancelled, writes nothing more and removes its files', async () => {
    const { trackId, jobId } = await queuedSeparation();
    let sawAbort = false;
    const running = runClaimedJob(
      ctx,
      'processing',
      { id: jobId },
      separationBody(async (job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = true;
        throw job.signal.reason;
      }),
    );
    await until('the row running', async () => (await jobRow(orm, 'processing_jobs', jobId)).progress === 40);
    const result = await cancelTicket({ orm, boss, maxDurationSeconds: 60 }, { trackId, processingJobId: jobId });
    expect(result.cancelled).toHaveLength(1);
    await running;
    expect(sawAbort).toBe(true);
    const row = await jobRow(orm, 'processing_jobs', jobId);
    expect(row.status).toBe('failed');
    expect(row.error).toBe('cancelled'); // the cancel's reason, not overwritten by the worker
    expect(await ctx.paths.jobTempDirs(jobId)).toEqual([]);
    expect(existsSync(ctx.paths.stemsDir(trackId, jobId))).toBe(false);
    expect(log.lines.some((l) => l.startsWith(`processing job ${jobId}: stopped, its row was failed elsewhere`))).toBe(true);
    expect(attempts.size).toBe(0);
  });

  it('never runs the body for a row that is not queued', async () => {
    const { jobId } = await insertTrackWithJob(orm.em.fork(), 'analysis', { status: 'completed' });
    let ran = false;
    await runClaimedJob(ctx, 'analysis', { id: jobId }, async () => {
      ran = true;
      throw new Error('unreachable');
    });
    expect(ran).toBe(false);
    expect((await jobRow(orm, 'analysis_jobs', jobId)).status).toBe('completed');
  });
});
