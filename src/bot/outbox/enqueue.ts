/**
 * Decides, from a request's rows, what must reach Discord now and writes it
 * to the `deliveries` outbox (in one transaction with the request row locked,
 * so two bot processes reacting to the same NOTIFY write it once):
 * - the processing row completed -> one `stems` delivery for that row;
 * - the analysis completed -> the `dm` delivery (unique per request);
 * - the work failed -> the request fails with the reason (the message says
 *   what went wrong and what to do).
 */
import type { Orm } from '../../db/orm.ts';
import { loadRequest, workEnded } from '../requests/view.ts';

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
  if (!stemsReady && !dmReady && !workEnded(row)) return out;
  await orm.em.fork().transactional(async (em) => {
    const locked = await em.execute<{ delivery_state: string }[]>(`select delivery_state from requests where id = ? for update`, [requestId]);
    const state = locked[0]?.delivery_state;
    if (!state || state === 'failed') return;
    const open = state === 'pending' || state === 'delivering';
    if (open && stemsReady) {
      const inserted = await em.execute<{ id: string }[]>(
        `insert into deliveries (request_id, kind, payload)
         select ?, 'stems', ?::jsonb
          where not exists (select 1 from deliveries where request_id = ? and kind = 'stems' and payload->>'processingJobId' = ?)
         returning id`,
        [requestId, JSON.stringify({ processingJobId: row.processing_job_id }), requestId, row.processing_job_id],
      );
      out.stems = inserted.length > 0;
    }
    if (dmReady) {
      const inserted = await em.execute<{ id: string }[]>(
        `insert into deliveries (request_id, kind, payload) values (?, 'dm', ?::jsonb)
         on conflict (request_id, kind) where kind in ('progress_edit', 'dm') do nothing returning id`,
        [requestId, JSON.stringify({ analysisJobId: row.analysis_job_id })],
      );
      out.dm = inserted.length > 0;
    }
    if (open && workEnded(row)) {
      const failure =
        row.d_status === 'failed' && row.p_status !== 'completed' && row.a_status !== 'completed'
          ? `the download failed: ${row.d_error ?? 'no reason given'}`
          : row.kind === 'separate' && row.p_status === 'failed'
            ? `the separation failed: ${row.p_error ?? 'no reason given'}`
            : row.kind === 'analyze' && row.a_status === 'failed'
              ? `the analysis failed: ${row.a_error ?? 'no reason given'}`
              : undefined;
      // No failure: an analysis request is delivered by its DM (the dispatcher marks it), a separation by its stems.
      if (failure) {
        await em.execute(`update requests set delivery_state = 'failed', delivery_error = ?, updated_at = now() where id = ?`, [failure, requestId]);
      }
    }
  });
  return out;
}
