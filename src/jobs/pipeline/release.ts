/**
 * Chaining, without in-memory state: separation and analysis rows are created
 * `queued` up-front and wait for their track's audio. "Waiting" is a fact in the
 * database: a queued processing/analysis row of a track. It is released (its
 * pg-boss job sent) in the same transaction that makes the audio available —
 * the request's (when a download is reused) or the download's completion — and
 * failed in the transaction that records that no audio is coming.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PgBoss } from 'pg-boss';
import type { JobKind } from '../../db/jobStatusWrites.ts';
import { analysisExpirySeconds, separationExpirySeconds } from '../../domain/jobBudget.ts';
import { sendAnalyze, sendDownload, sendSeparate } from '../queues/send.ts';
import { moveJob } from './rowWrites.ts';

export interface ReleaseContext {
  boss: PgBoss;
  maxDurationSeconds: number;
}

/** Locks the track row: request and download completion serialise on it. */
export async function lockTrack(em: EntityManager, trackId: string): Promise<{ duration: number | null }> {
  const rows = await em.execute<{ duration: number | null }[]>(`select duration from tracks where id = ? for update`, [trackId]);
  if (!rows[0]) throw new Error(`track ${trackId} does not exist`);
  return rows[0];
}

/**
 * A queued row whose pg-boss job is to be sent, with what its expiry is sized from:
 * the track's duration (and the model) for a separation or an analysis.
 */
export type QueuedRow =
  | { kind: 'download'; id: string }
  | { kind: 'processing'; id: string; model: string; duration: number | null }
  | { kind: 'analysis'; id: string; duration: number | null };

/**
 * Sends the pg-boss job of a queued row (in `em`'s transaction), its expiry sized from
 * the row. Returns null when a job for the row is already waiting or running (singletonKey).
 */
export function sendQueuedRow(em: EntityManager, ctx: ReleaseContext, row: QueuedRow, lostAttempts?: number): Promise<string | null> {
  switch (row.kind) {
    case 'download':
      return sendDownload(ctx.boss, em, row.id, lostAttempts);
    case 'processing':
      return sendSeparate(ctx.boss, em, row.id, separationExpirySeconds(row.duration, row.model, ctx.maxDurationSeconds), lostAttempts);
    case 'analysis':
      return sendAnalyze(ctx.boss, em, row.id, analysisExpirySeconds(row.duration, ctx.maxDurationSeconds), lostAttempts);
  }
}

/**
 * Sends the pg-boss job of every queued processing/analysis row of the track.
 * Rows already sent are deduplicated by their singletonKey. Run in a transaction.
 */
export async function releaseWaitingJobs(em: EntityManager, ctx: ReleaseContext, trackId: string): Promise<void> {
  const { duration } = await lockTrack(em, trackId);
  const processing = await em.execute<{ id: string; model: string }[]>(
    `select id, model from processing_jobs where track_id = ? and status = 'queued' order by inserted_at, id`,
    [trackId],
  );
  for (const row of processing) await sendQueuedRow(em, ctx, { kind: 'processing', id: row.id, model: row.model, duration });
  const analysis = await em.execute<{ id: string }[]>(
    `select id from analysis_jobs where track_id = ? and status = 'queued' order by inserted_at, id`,
    [trackId],
  );
  for (const row of analysis) await sendQueuedRow(em, ctx, { kind: 'analysis', id: row.id, duration });
}

/** Fails an active row with `reason` and, for a download, the rows waiting for its audio (failWaitingJobs). */
export async function failRow(em: EntityManager, kind: JobKind, id: string, trackId: string, reason: string): Promise<void> {
  await moveJob(em, kind, id, trackId, 'failed', { error: reason });
  if (kind === 'download') await failWaitingJobs(em, trackId, `The download failed: ${reason}`);
}

/** Whether a download of the track is still queued or running. */
export async function downloadComing(em: EntityManager, trackId: string): Promise<boolean> {
  const active = await em.execute<{ n: string }[]>(
    `select count(*) as n from download_jobs where track_id = ? and status in ('queued', 'downloading')`,
    [trackId],
  );
  return Number(active[0]!.n) > 0;
}

/**
 * No audio is coming for the track (its download failed for good): fail the rows
 * waiting for it — unless another download of the track is still queued or running.
 */
export async function failWaitingJobs(em: EntityManager, trackId: string, reason: string): Promise<void> {
  await lockTrack(em, trackId);
  if (await downloadComing(em, trackId)) return;
  for (const kind of ['processing', 'analysis'] as const) {
    const table = kind === 'processing' ? 'processing_jobs' : 'analysis_jobs';
    const rows = await em.execute<{ id: string }[]>(`select id from ${table} where track_id = ? and status = 'queued'`, [trackId]);
    for (const row of rows) await moveJob(em, kind, row.id, trackId, 'failed', { error: reason });
  }
}
