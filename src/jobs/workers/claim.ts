/**
 * The worker-side guard run before any work: what to do with the row a pg-boss
 * job names. pg-boss delivers at-least-once (retries after a thrown error, an
 * expired attempt, a crashed process), so the row decides:
 *
 *   queued                -> claim it (queued -> downloading/processing) and run
 *   completed / failed    -> no-op: the outcome is already recorded
 *   downloading/processing-> an earlier attempt was lost (crash, expiry). The
 *                            machine is forward-only, so that row is failed with
 *                            "worker lost" and — a retry is a new job row — a new
 *                            queued row is created for the same work and sent as a
 *                            new pg-boss job (at most MAX_LOST_ATTEMPTS times).
 *
 * All of it happens in one transaction with the row locked, so two deliveries of
 * the same job cannot both claim or both recover.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { JOB_TABLES, type JobKind } from '../../db/jobStatusWrites.ts';
import type { JobStatus } from '../../domain/jobStatus.ts';
import { afterLostAttempt } from '../../domain/recovery.ts';
import { STAGE_FACTS } from '../../domain/stages.ts';
import { relinkJob } from '../../requests/store.ts';
import { failRow, sendQueuedRow, type QueuedRow } from '../pipeline/release.ts';
import { moveJob } from '../pipeline/rowWrites.ts';
import { claimRetryMs, SETTLE_RETRY_MS, type WorkerContext } from './context.ts';
import { retryTransient } from './dbRetry.ts';

export const WORKER_LOST =
  'The worker running this job stopped or timed out before finishing (worker lost).';
export const WORKER_TIMED_OUT = 'The job ran longer than its time budget and was stopped (worker lost).';

export type Claim =
  | { run: true; trackId: string }
  | { run: false; reason: 'missing' | 'completed' | 'failed' | 'recovered' | 'gave_up'; replacementId?: string };

/** Retried through a short database outage (or a deadlock), then thrown: pg-boss retries the delivery. */
export async function claimJob(ctx: WorkerContext, kind: JobKind, id: string, lostAttempts = 0): Promise<Claim> {
  return retryTransient(`claiming ${kind} job ${id}`, () => claimOnce(ctx, kind, id, lostAttempts), { forMs: claimRetryMs(ctx), log: ctx.log });
}

async function claimOnce(ctx: WorkerContext, kind: JobKind, id: string, lostAttempts: number): Promise<Claim> {
  return ctx.orm.em.fork().transactional(async (em) => {
    const rows = await em.execute<{ status: JobStatus; track_id: string }[]>(
      `select status, track_id from ${JOB_TABLES[kind]} where id = ? for update`,
      [id],
    );
    const row = rows[0];
    if (!row) return { run: false, reason: 'missing' } as const;
    const trackId = row.track_id;
    if (row.status === 'completed' || row.status === 'failed') return { run: false, reason: row.status } as const;
    if (row.status === 'queued') {
      await moveJob(em, kind, id, trackId, STAGE_FACTS[kind].activeStatus, { progress: 0 });
      return { run: true, trackId } as const;
    }
    // Active: a previous attempt of this very row was lost.
    const outcome = await replaceLost(ctx, em, kind, id, trackId, lostAttempts, WORKER_LOST);
    return { run: false, ...outcome } as const;
  });
}

/**
 * Fails an active row as lost and, within MAX_LOST_ATTEMPTS (src/domain/recovery.ts), queues a new row for the
 * same work. Used by claimJob (a redelivery found the row active) and by a worker whose
 * attempt pg-boss aborted (expiry): either way the next attempt is a new row.
 */
export async function replaceLost(
  ctx: WorkerContext,
  em: EntityManager,
  kind: JobKind,
  id: string,
  trackId: string,
  lostAttempts: number,
  why: string,
): Promise<{ reason: 'recovered' | 'gave_up'; replacementId?: string }> {
  const attempts = lostAttempts + 1;
  if (afterLostAttempt(lostAttempts) === 'give_up') {
    const reason = `${why} Gave up after ${attempts} attempts; the track may be too large for this worker.`;
    await failRow(em, kind, id, trackId, reason);
    ctx.log.warn(`${kind} job ${id}: lost ${attempts} times; gave up`);
    return { reason: 'gave_up' };
  }
  await moveJob(em, kind, id, trackId, 'failed', { error: `${why} A new attempt was queued.` });
  const replacementId = await replaceRow(ctx, em, kind, id, trackId, attempts);
  ctx.log.warn(`${kind} job ${id}: lost; retrying as ${replacementId}`);
  return { reason: 'recovered', replacementId };
}

/** The worker's attempt was aborted by pg-boss (expired): record it as lost, in its own transaction. */
export async function abandonAttempt(ctx: WorkerContext, kind: JobKind, id: string, trackId: string, lostAttempts = 0): Promise<void> {
  const once = () =>
    ctx.orm.em.fork().transactional(async (em) => {
      const rows = await em.execute<{ status: JobStatus }[]>(`select status from ${JOB_TABLES[kind]} where id = ? for update`, [id]);
      if (rows[0]?.status !== STAGE_FACTS[kind].activeStatus) return; // already settled by someone else
      await replaceLost(ctx, em, kind, id, trackId, lostAttempts, WORKER_TIMED_OUT);
    });
  await retryTransient(`recording ${kind} job ${id} as lost`, once, { forMs: SETTLE_RETRY_MS, log: ctx.log });
}

/** A new queued row for the same work, requests repointed to it, and its pg-boss job sent. */
async function replaceRow(ctx: WorkerContext, em: EntityManager, kind: JobKind, oldId: string, trackId: string, attempts: number): Promise<string> {
  let row: QueuedRow;
  if (kind === 'download') {
    const inserted = await em.execute<{ id: string }[]>(`insert into download_jobs (track_id) values (?) returning id`, [trackId]);
    row = { kind, id: inserted[0]!.id };
  } else if (kind === 'processing') {
    const inserted = await em.execute<{ id: string; model: string }[]>(
      `insert into processing_jobs (track_id, model, options)
         select track_id, model, options from processing_jobs where id = ? returning id, model`,
      [oldId],
    );
    const { id, model } = inserted[0]!;
    await relinkJob(em, 'processing', oldId, id);
    row = { kind, id, model, duration: await trackDuration(em, trackId) };
  } else {
    const inserted = await em.execute<{ id: string }[]>(`insert into analysis_jobs (track_id) values (?) returning id`, [trackId]);
    const { id } = inserted[0]!;
    await relinkJob(em, 'analysis', oldId, id);
    row = { kind, id, duration: await trackDuration(em, trackId) };
  }
  await sendQueuedRow(em, ctx, row, attempts);
  return row.id;
}

/** What a separation's or an analysis's expiry is sized from. */
async function trackDuration(em: EntityManager, trackId: string): Promise<number | null> {
  const rows = await em.execute<{ duration: number | null }[]>(`select duration from tracks where id = ?`, [trackId]);
  return rows[0]?.duration ?? null;
}
