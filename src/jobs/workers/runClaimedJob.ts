/**
 * The one scaffold of every worker: a pg-boss delivery names a job row; this
 * claims the row (claim.ts), runs the attempt under a heartbeat and the
 * cancellation watch (attempt.ts), throttles its progress writes, gives it a
 * temporary folder named by the row, and settles it: the completion write in
 * one transaction, or the failure (failures.ts) with the attempt's leftovers
 * removed (leftovers.ts, the reaper's rule too). A worker is then only its body.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { STAGE_FACTS, type Stage } from '../../domain/stages.ts';
import { ThrottledProgress, writeProgress } from '../pipeline/rowWrites.ts';
import { removePartial } from '../storage/atomicWrite.ts';
import { Attempt } from './attempt.ts';
import { claimJob } from './claim.ts';
import { commitCompletion } from './complete.ts';
import type { WorkerContext } from './context.ts';
import { settleFailure } from './failures.ts';
import { makeAttemptTempDir, removeAttemptLeftovers } from './leftovers.ts';

/** What a pg-boss delivery says: the row, how many earlier rows of this work were lost, and pg-boss's signal (expiry). */
export interface Delivery {
  id: string;
  lostAttempts?: number;
  signal?: AbortSignal;
}

/** What a body gets for the row it runs. */
export interface ClaimedJob {
  readonly id: string;
  readonly trackId: string;
  /** Aborted when the row is cancelled or reaped elsewhere, or pg-boss expires the job: pass it to every tool. */
  readonly signal: AbortSignal;
  /** 0..100; written (throttled) and announced while the row is active. */
  readonly reportProgress: (percent: number) => void;
  /** The attempt's temporary folder, created on first use; removed once outputs are in place, or on failure. */
  tempDir(): Promise<string>;
  /**
   * An output about to be moved into a place outside the row's own output folder: removed if the job
   * does not complete, unless `keep` says another row owns that file.
   */
  placing(file: string, keep?: (file: string) => Promise<boolean>): void;
}

/** How a body ends: the outputs' rows, written in the transaction that marks the row completed (first), and a log line. */
export interface Completion {
  write(tx: EntityManager): Promise<void>;
  summary: string;
}

/** The attempt for a claimed row: watched by the process's AttemptWatch, or (bare runner calls) only by pg-boss's signal. */
export function beginAttempt(ctx: WorkerContext, kind: Stage, id: string, jobSignal?: AbortSignal): Attempt {
  return ctx.attempts ? ctx.attempts.begin(kind, id, jobSignal) : new Attempt(kind, id, jobSignal, () => undefined);
}

export async function runClaimedJob(ctx: WorkerContext, kind: Stage, delivery: Delivery, body: (job: ClaimedJob) => Promise<Completion>): Promise<void> {
  const { id, lostAttempts } = delivery;
  const claim = await claimJob(ctx, kind, id, lostAttempts);
  if (!claim.run) return;
  const { trackId } = claim;
  const name = STAGE_FACTS[kind].queue;
  const attempt = beginAttempt(ctx, kind, id, delivery.signal);
  const progress = new ThrottledProgress(
    (p) => writeProgress(ctx.orm.em.fork(), kind, id, trackId, STAGE_FACTS[kind].activeStatus, p),
    ctx.progressThrottle,
    (e) => ctx.log.warn(`${name} ${id}: progress write failed: ${String(e)}`),
  );
  let workDir: string | undefined;
  let placed: { file: string; keep?: (file: string) => Promise<boolean> }[] = [];
  const job: ClaimedJob = {
    id,
    trackId,
    signal: attempt.signal,
    reportProgress: progress.report,
    tempDir: async () => (workDir ??= await makeAttemptTempDir(ctx.paths, kind, id)),
    placing: (file, keep) => void placed.push({ file, ...(keep ? { keep } : {}) }),
  };
  try {
    const completion = await body(job);
    await progress.flush();
    if (workDir) await removePartial(workDir); // outputs are in place; nothing temporary outlives the job
    workDir = undefined;
    await commitCompletion(ctx, kind, id, completion.write);
    placed = [];
    ctx.log.info(`${name} ${id}: ${completion.summary}`);
  } catch (error) {
    await progress.flush();
    // Moved into place but not recorded (cancelled, or the commit failed).
    for (const { file, keep } of placed) if (!(await keep?.(file))) await removePartial(file);
    await removeAttemptLeftovers(ctx.paths, kind, id, trackId);
    workDir = undefined;
    await settleFailure(ctx, kind, id, trackId, error, attempt, lostAttempts);
  } finally {
    attempt.end();
    if (workDir) await removePartial(workDir);
  }
}
