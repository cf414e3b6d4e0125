/**
 * The reaper: runs in every worker process on an interval and makes sure no
 * row stays queued/downloading/processing forever. What to do with a row is
 * decided by decideRecovery (src/domain/recovery.ts); this module reads the
 * facts and carries the action out.
 *
 * Safe in several processes at once: each row is handled in its own
 * transaction that locks the row and its track with SKIP LOCKED (a row another
 * reaper, a worker's claim or a cancel is holding is skipped until the next
 * round) and re-reads everything under the lock before acting. Lock order is
 * row, then track, as for every other writer.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobWithMetadata } from 'pg-boss';
import { JOB_KINDS, JOB_TABLES, type JobKind } from '../../db/jobStatusWrites.ts';
import type { JobStatus } from '../../domain/jobStatus.ts';
import { decideRecovery, type AudioState, type BossJobFact, type RecoveryAction, type RowFacts } from '../../domain/recovery.ts';
import { downloadComing, failRow, sendQueuedRow, type QueuedRow } from '../pipeline/release.ts';
import { findDownloadedAudio } from '../pipeline/reuse.ts';
import { QUEUE_OF_KIND } from '../queues/payloads.ts';
import { transactionDb } from '../queues/send.ts';
import { replaceLost } from './claim.ts';
import type { WorkerContext } from './context.ts';
import { removeAttemptLeftovers } from './leftovers.ts';

export interface ReaperSettings {
  staleAfterSeconds: number;
  /** Rows looked at per kind and round (oldest heartbeat first). Default 100. */
  batchSize?: number;
}

export interface Reaped {
  kind: JobKind;
  id: string;
  action: RecoveryAction['action'] | 'skipped';
  detail?: string;
}

/** One round over every kind: the rows whose heartbeat is older than the stale threshold. */
export async function reapOnce(ctx: WorkerContext, settings: ReaperSettings): Promise<Reaped[]> {
  const done: Reaped[] = [];
  for (const kind of JOB_KINDS) {
    const candidates = await ctx.orm.em.fork().execute<{ id: string; track_id: string }[]>(
      `select id, track_id from ${JOB_TABLES[kind]}
        where status in ('queued', 'downloading', 'processing') and updated_at < now() - make_interval(secs => ?)
        order by updated_at limit ?`,
      [settings.staleAfterSeconds, settings.batchSize ?? 100],
    );
    for (const row of candidates) {
      try {
        const outcome = await reapRow(ctx, kind, row.id, row.track_id, settings);
        if (outcome.action !== 'leave' && outcome.action !== 'skipped') done.push(outcome);
        if (outcome.action === 'replace_lost' || outcome.action === 'give_up_lost') await removeAttemptLeftovers(ctx.paths, kind, row.id, row.track_id);
      } catch (error) {
        ctx.log.warn(`reaper: ${kind} job ${row.id}: ${String((error as Error).message ?? error)}`);
      }
    }
  }
  return done;
}

/** Decides and acts on one row, in one transaction. */
export async function reapRow(ctx: WorkerContext, kind: JobKind, id: string, trackId: string, settings: ReaperSettings): Promise<Reaped> {
  return ctx.orm.em.fork().transactional(async (em) => {
    // A processing row's model sizes its expiry when it is sent again.
    const rows = await em.execute<{ status: JobStatus; idle: number; now: Date; model?: string }[]>(
      `select status, extract(epoch from now() - updated_at)::float8 as idle, now() as now${kind === 'processing' ? ', model' : ''}
         from ${JOB_TABLES[kind]} where id = ? for update skip locked`,
      [id],
    );
    const row = rows[0];
    if (!row) return { kind, id, action: 'skipped' as const };
    const track = (await em.execute<{ duration: number | null }[]>(`select duration from tracks where id = ? for update skip locked`, [trackId]))[0];
    if (!track) return { kind, id, action: 'skipped' as const };

    const queue = QUEUE_OF_KIND[kind];
    const db = transactionDb(em);
    const jobs = await ctx.boss.findJobs<{ lostAttempts?: number }>(queue, { key: id, ...(db ? { db } : {}) });
    const now = new Date(row.now).getTime();
    const facts: RowFacts = {
      kind,
      status: row.status,
      idleSeconds: Number(row.idle),
      bossJobs: jobs.map((j) => bossFact(j, now)),
      lostAttempts: newest(jobs)?.data?.lostAttempts ?? 0,
      audio: kind !== 'download' && row.status === 'queued' ? await audioState(em, trackId) : 'ready',
    };
    const action = decideRecovery(facts, settings);
    switch (action.action) {
      case 'leave':
        return { kind, id, action: 'leave' as const, detail: action.because };
      case 'replace_lost':
      case 'give_up_lost': {
        const outcome = await replaceLost(ctx, em, kind, id, trackId, facts.lostAttempts, action.reason);
        return { kind, id, action: action.action, ...(outcome.replacementId ? { detail: outcome.replacementId } : {}) };
      }
      case 'resend': {
        if (action.cancelStuck) {
          const stuck = jobs.filter((j) => j.state === 'active').map((j) => j.id);
          await ctx.boss.cancel(queue, stuck, db ? { db } : {});
        }
        const sent = await sendQueuedRow(em, ctx, queuedRow(kind, id, row.model, track.duration), facts.lostAttempts);
        ctx.log.warn(`reaper: ${kind} job ${id} was queued with no pg-boss job left to run it; sent it again`);
        return { kind, id, action: 'resend' as const, ...(sent ? { detail: sent } : {}) };
      }
      case 'fail': {
        await failRow(em, kind, id, trackId, action.reason);
        ctx.log.warn(`reaper: ${kind} job ${id} failed: ${action.reason}`);
        return { kind, id, action: 'fail' as const, detail: action.reason };
      }
    }
  });
}

function bossFact(job: JobWithMetadata, nowMs: number): BossJobFact {
  if (job.state !== 'active') return { state: job.state };
  const started = job.startedOn ? new Date(job.startedOn).getTime() : nowMs;
  return { state: 'active', activeSeconds: Math.max(0, (nowMs - started) / 1000) };
}

function newest<T>(jobs: JobWithMetadata<T>[]): JobWithMetadata<T> | undefined {
  return jobs.reduce<JobWithMetadata<T> | undefined>((a, b) => (!a || new Date(b.createdOn) > new Date(a.createdOn) ? b : a), undefined);
}

/** Is the track's audio stored, on its way, or not coming? */
async function audioState(em: EntityManager, trackId: string): Promise<AudioState> {
  if (await findDownloadedAudio(em, trackId)) return 'ready';
  return (await downloadComing(em, trackId)) ? 'coming' : 'none';
}

/** The row to send again, from what reapRow read under its locks (a processing row's model, the track's duration). */
function queuedRow(kind: JobKind, id: string, model: string | undefined, duration: number | null): QueuedRow {
  if (kind === 'download') return { kind, id };
  if (kind === 'processing') return { kind, id, model: model!, duration };
  return { kind, id, duration };
}

export interface RunningReaper {
  stop(): Promise<void>;
}

/**
 * Runs reapOnce every `intervalSeconds` (first round after one interval); rounds never overlap.
 * (With SFA_REAPER_INTERVAL_SECONDS=0 the caller starts none: some other process reaps.)
 */
export function startReaper(ctx: WorkerContext, settings: ReaperSettings & { intervalSeconds: number }): RunningReaper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const round = async () => {
    try {
      await reapOnce(ctx, settings);
    } catch (error) {
      // The database may be restarting: try again next round.
      ctx.log.warn(`reaper: round failed: ${String((error as Error).message ?? error)}`);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(schedule);
    }, settings.intervalSeconds * 1000);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
