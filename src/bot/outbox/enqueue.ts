/**
 * Decides, from a request's rows, what must reach Discord now and writes it
 * to the `deliveries` outbox (in one transaction with the request row locked,
 * so two bot processes reacting to the same NOTIFY write it once):
 * - the processing row completed -> one `stems` delivery for that row;
 * - the analysis completed -> the `dm` delivery (unique per request); for
 *   an album's /analyze track (no DM of its own) the request is delivered;
 * - the work failed -> the request fails with the reason (the message says
 *   what went wrong and what to do).
 */
import type { Orm } from '../../db/orm.ts';
import { isOpen, workFailure } from '../../domain/requestLifecycle.ts';
import { enqueueDm, enqueueStems, failRequest, lockDeliveryState, markDelivered } from '../../requests/outbox.ts';
import { loadRequest, workEnded, workOf } from '../../requests/view.ts';

export interface Enqueued {
  stems: boolean;
  dm: boolean;
}

export async function enqueueDue(orm: Orm, requestId: string): Promise<Enqueued> {
  const out: Enqueued = { stems: false, dm: false };
  const row = await loadRequest(orm, requestId);
  // A failed (or cancelled) request gets nothing more; a delivered /separate may still be waiting for its analysis DM.
  if (!row || row.delivery_state === 'failed') return out;
  // Most changes are progress: nothing below can be due, so no transaction (and no row lock) for them.
  const stemsReady = row.kind === 'separate' && row.p_status === 'completed' && !!row.processing_job_id;
  const dmReady = row.a_status === 'completed' && !!row.analysis_job_id && row.dm_state === 'pending';
  // An album's /analyze track sends no DM of its own (the batch sends one for all): its analysis is its delivery.
  const analyzedInBatch = row.batch_id !== null && row.kind === 'analyze' && row.a_status === 'completed';
  if (!stemsReady && !dmReady && !analyzedInBatch && !workEnded(row)) return out;
  await orm.em.fork().transactional(async (em) => {
    const state = await lockDeliveryState(em, requestId);
    if (!state || state === 'failed') return;
    const open = isOpen(state);
    if (open && stemsReady) out.stems = await enqueueStems(em, requestId, row.processing_job_id!);
    if (dmReady) out.dm = await enqueueDm(em, requestId, row.analysis_job_id!);
    if (open && analyzedInBatch) await markDelivered(em, requestId);
    if (open && workEnded(row)) {
      // No failure: an analysis request is delivered by its DM (the dispatcher marks it), a separation by its stems.
      const failure = workFailure(workOf(row));
      if (failure) await failRequest(em, requestId, failure);
    }
  });
  return out;
}
