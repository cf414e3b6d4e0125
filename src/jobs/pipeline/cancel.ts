/**
 * cancelTicket: stop a request's work. In ONE transaction, with the download
 * row, then the track, then the processing/analysis rows locked (the lock order
 * of the workers, so a cancel racing a download that completes or fails does
 * not deadlock it):
 * - the named rows still queued or running become `failed` with "cancelled"
 *   (moveJob: NOTIFY included), unless another pending chat request waits for
 *   them — for a download, any other pending request of the track
 *   (planCancel, src/domain/cancellation.ts);
 * - their pg-boss jobs still waiting (created/retry) are deleted, so no worker
 *   picks them up; a job a worker already fetched finds a failed row and does
 *   nothing (claim.ts);
 * - rows of the track that waited for a cancelled download fail with it.
 * A worker running a cancelled row hears the NOTIFY (or sees the row at its
 * next heartbeat), aborts the engine / yt-dlp / ffmpeg, removes its partial
 * files and writes nothing more (src/jobs/workers/attempt.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { JOB_TABLES, type JobKind } from '../../db/jobStatusWrites.ts';
import { cancelledError, planCancel, type CancelRow } from '../../domain/cancellation.ts';
import type { JobStatus } from '../../domain/jobStatus.ts';
import { openRequestsWaitingFor } from '../../requests/store.ts';
import { QUEUE_OF_KIND } from '../queues/payloads.ts';
import { transactionDb } from '../queues/send.ts';
import { retryTransient } from '../workers/dbRetry.ts';
import { InputError } from './input.ts';
import type { PipelineContext } from './requestSeparation.ts';
import { findDownloadedAudio } from './reuse.ts';
import { moveJob } from './rowWrites.ts';

export interface CancelTicket {
  trackId: string;
  downloadJobId?: string | undefined;
  processingJobId?: string | undefined;
  analysisJobId?: string | undefined;
}

export interface CancelOptions {
  /** Why, for the user: the rows' error becomes "cancelled: <reason>" (default just "cancelled"). */
  reason?: string;
  /** The chat request being cancelled (requests.id): it does not count as another request waiting for the rows. */
  requestId?: string;
}

export interface CancelResult {
  /** Rows failed as cancelled: named ones and the rows that waited for a cancelled download. */
  cancelled: string[];
  /** Named rows left running because another pending request waits for them. */
  kept: string[];
  /** Named rows that had already completed or failed. */
  finished: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WAITING_BOSS_STATES = new Set(['created', 'retry']);
/** A deadlock (40P01) rolls the whole transaction back; running it again is safe. */
const MAX_TRIES = 3;
const isDeadlock = (error: unknown) => (error as { code?: unknown } | null | undefined)?.code === '40P01';

export async function cancelTicket(ctx: PipelineContext, ticket: CancelTicket, opts: CancelOptions = {}): Promise<CancelResult> {
  const named: [JobKind, string][] = [];
  for (const [kind, id] of [
    ['download', ticket.downloadJobId],
    ['processing', ticket.processingJobId],
    ['analysis', ticket.analysisJobId],
  ] as const) {
    if (id === undefined) continue;
    if (!UUID.test(id)) throw new InputError(`Cannot cancel: "${String(id).slice(0, 40)}" is not a ${kind} job id.`);
    named.push([kind, id.toLowerCase()]);
  }
  if (!UUID.test(ticket.trackId)) throw new InputError(`Cannot cancel: "${String(ticket.trackId).slice(0, 40)}" is not a track id.`);
  if (opts.requestId !== undefined && !UUID.test(opts.requestId)) throw new InputError('Cannot cancel: the request id is not a valid id.');
  const error = cancelledError(opts.reason);

  // Deadlocks only, at once, up to MAX_TRIES times (no time limit: the attempts bound it).
  return retryTransient('cancelling', () => ctx.orm.em.fork().transactional((em) => cancelIn(ctx, em, ticket.trackId.toLowerCase(), named, error, opts.requestId)), {
    forMs: Number.POSITIVE_INFINITY,
    initialDelayMs: 0,
    maxAttempts: MAX_TRIES,
    retryIf: isDeadlock,
  });
}

async function cancelIn(
  ctx: PipelineContext,
  em: EntityManager,
  trackId: string,
  named: [JobKind, string][],
  error: string,
  requestId: string | undefined,
): Promise<CancelResult> {
  const download = named.find(([kind]) => kind === 'download');
  const rows: CancelRow[] = [];
  if (download) rows.push(await lockNamed(em, trackId, ...download));
  const track = await em.execute(`select id from tracks where id = ? for update`, [trackId]);
  if (track.length === 0) throw new InputError(`Cannot cancel: there is no track ${trackId}.`);
  for (const [kind, id] of named) if (kind !== 'download') rows.push(await lockNamed(em, trackId, kind, id));

  // `not in (?)` needs at least one value; the nil uuid matches no row.
  const namedIds = named.length > 0 ? named.map(([, id]) => id) : ['00000000-0000-0000-0000-000000000000'];
  const others: CancelRow[] = [];
  for (const kind of ['processing', 'analysis'] as const) {
    const found = await em.execute<{ id: string }[]>(
      `select id from ${JOB_TABLES[kind]} where track_id = ? and status = 'queued' and id not in (?) order by id for update`,
      [trackId, namedIds],
    );
    for (const row of found) others.push({ kind, id: row.id, status: 'queued', needed: false });
  }
  for (const row of [...rows, ...others]) row.needed = await neededByAnotherRequest(em, trackId, row, requestId);

  const otherDownloads = await em.execute<{ n: string }[]>(
    `select count(*) as n from download_jobs where track_id = ? and status in ('queued', 'downloading') and id not in (?)`,
    [trackId, namedIds],
  );
  const plan = planCancel({
    named: rows,
    others,
    audioReady: (await findDownloadedAudio(em, trackId)) !== undefined,
    otherDownloadActive: Number(otherDownloads[0]!.n) > 0,
  });

  const db = transactionDb(em);
  for (const row of plan.cancel) {
    await moveJob(em, row.kind, row.id, trackId, 'failed', { error });
    const queue = QUEUE_OF_KIND[row.kind];
    const waiting = (await ctx.boss.findJobs(queue, { key: row.id, ...(db ? { db } : {}) })).filter((j) => WAITING_BOSS_STATES.has(j.state));
    if (waiting.length > 0) await ctx.boss.deleteJob(queue, waiting.map((j) => j.id), db ? { db } : {});
  }
  return { cancelled: plan.cancel.map((r) => r.id), kept: plan.kept, finished: plan.finished };
}

async function lockNamed(em: EntityManager, trackId: string, kind: JobKind, id: string): Promise<CancelRow> {
  const found = await em.execute<{ status: JobStatus; track_id: string }[]>(
    `select status, track_id from ${JOB_TABLES[kind]} where id = ? for update`,
    [id],
  );
  const row = found[0];
  if (!row) throw new InputError(`Cannot cancel: there is no ${kind} job ${id}.`);
  if (row.track_id !== trackId) throw new InputError(`Cannot cancel: ${kind} job ${id} belongs to another track.`);
  return { kind, id, status: row.status, needed: false };
}

/**
 * Does a pending chat request other than `requestId` wait for this row? (Two users may share one job.)
 * Requests point at processing/analysis rows; a download is the track's, so every pending request of the
 * track waits for it (also one whose rows are not there yet: its model is still being chosen).
 */
async function neededByAnotherRequest(em: EntityManager, trackId: string, row: CancelRow, requestId: string | undefined): Promise<boolean> {
  const what = row.kind === 'download' ? { track: trackId } : row.kind === 'processing' ? { processingJob: row.id } : { analysisJob: row.id };
  return (await openRequestsWaitingFor(em, what, requestId)) > 0;
}
