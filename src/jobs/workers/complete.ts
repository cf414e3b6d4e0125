/**
 * The completion write of a job: one transaction that moves the row to
 * `completed` (first, so a cancelled row refuses it before anything else is
 * written) and records its outputs. Retried through a database restart; a
 * retry that finds the row already completed means the earlier commit went
 * through unacknowledged, which is success.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobKind } from '../../db/jobStatusWrites.ts';
import { InvalidTransitionError } from '../../domain/jobStatus.ts';
import { SETTLE_RETRY_MS, type WorkerContext } from './context.ts';
import { retryTransient } from './dbRetry.ts';

export async function commitCompletion(
  ctx: WorkerContext,
  kind: JobKind,
  id: string,
  write: (tx: EntityManager) => Promise<void>,
): Promise<void> {
  const once = async () => {
    try {
      await ctx.orm.em.fork().transactional(write);
    } catch (error) {
      if (error instanceof InvalidTransitionError && error.from === 'completed') return;
      throw error;
    }
  };
  await retryTransient(`completing ${kind} job ${id}`, once, { forMs: SETTLE_RETRY_MS, log: ctx.log });
}
