/** Turning an error into the `error` column of a failed row, and writing it. */
import { InvalidTransitionError } from '../../domain/jobStatus.ts';
import { STAGE_FACTS } from '../../domain/stages.ts';
import type { JobKind } from '../../db/jobStatusWrites.ts';
import { UserFacingError } from '../download/errors.ts';
import { EngineError, type EngineClientErrorCode } from '../engine/client.ts';
import { failRow } from '../pipeline/release.ts';
import type { Attempt } from './attempt.ts';
import { abandonAttempt } from './claim.ts';
import { SETTLE_RETRY_MS, type WorkerContext } from './context.ts';
import { retryTransient } from './dbRetry.ts';

/** What the user reads first, per engine error code (every code of catalog/engine_protocol.json, and the client's timeout). */
const ENGINE_PREFIX: Readonly<Record<EngineClientErrorCode, string>> = {
  bad_input: 'The engine refused the request',
  unsupported_audio: 'The audio could not be decoded',
  too_long: 'The track is too long',
  model_missing: 'The model is not installed on this worker (the admin installs it with `sfa models download`)',
  out_of_memory: 'The worker ran out of memory; try a shorter track or a lighter model',
  cancelled: 'The job was stopped before it finished (it took too long or was cancelled)',
  timeout: 'The job took too long and was stopped',
  internal: 'The engine failed',
};

/** What the user reads: says what went wrong and, where it helps, what to do. Never a stack trace. */
export function failureMessage(kind: JobKind, error: unknown): string {
  if (error instanceof UserFacingError) return error.userMessage;
  if (error instanceof EngineError) {
    const prefix = ENGINE_PREFIX[error.code] ?? `The ${STAGE_FACTS[kind].label} failed`;
    return `${prefix}: ${error.message}`.slice(0, 2000);
  }
  const text = error instanceof Error ? error.message : String(error);
  return `The ${STAGE_FACTS[kind].label} failed with an internal error (${text.slice(0, 300)}). Try again; if it keeps happening, tell the bot admin.`;
}

/**
 * Fails the row (and, for a download, the rows waiting for its audio). A row
 * that is no longer active (recovered as "worker lost" meanwhile) is left alone.
 */
export async function failJob(ctx: WorkerContext, kind: JobKind, id: string, trackId: string, error: unknown): Promise<void> {
  const message = failureMessage(kind, error);
  const once = () => ctx.orm.em.fork().transactional((em) => failRow(em, kind, id, trackId, message));
  try {
    await retryTransient(`failing ${kind} job ${id}`, once, { forMs: SETTLE_RETRY_MS, log: ctx.log });
  } catch (err) {
    if (err instanceof InvalidTransitionError) {
      ctx.log.warn(`${kind} job ${id}: not failed (already ${err.from})`);
      return;
    }
    throw err;
  }
  ctx.log.info(`${kind} job ${id} failed: ${message}`);
}

/**
 * The end of a failed attempt:
 * - the row was settled elsewhere (cancelled, or reaped as lost): nothing to write —
 *   a cancel is not a loss to retry, and a reaped row already has its replacement;
 * - aborted by pg-boss (the job expired): recorded as lost and retried as a new row;
 * - any other error: the row fails with its reason.
 */
export async function settleFailure(
  ctx: WorkerContext,
  kind: JobKind,
  id: string,
  trackId: string,
  error: unknown,
  attempt: Attempt,
  lostAttempts: number | undefined,
): Promise<void> {
  if (attempt.rowGone !== undefined) {
    ctx.log.info(`${kind} job ${id}: stopped, its row ${attempt.rowGone}`);
    return;
  }
  if (attempt.expired) {
    ctx.log.warn(`${kind} job ${id}: aborted by pg-boss (expired): ${error instanceof Error ? error.message : String(error)}`);
    await abandonAttempt(ctx, kind, id, trackId, lostAttempts ?? 0);
    return;
  }
  await failJob(ctx, kind, id, trackId, error);
}
