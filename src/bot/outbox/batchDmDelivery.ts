/**
 * One `batch_dm` outbox row: an album's or playlist's one analysis DM, a
 * table of every track's BPM, key and Camelot (the list DJs want for
 * harmonic mixing) with the same as a CSV attachment. Closed DMs -> the
 * batch's thread (or channel), mentioning the requester. dm_state is stored
 * on the batch.
 */
import { batchCsv, batchCsvFileName, renderBatchDm, renderBatchDmFallback } from '../../domain/batchDm.ts';
import { loadBatchSnapshot, settleBatchDm } from '../../requests/batches.ts';
import { batchDmRows, recordCard } from '../../requests/batchView.ts';
import { sendToUser } from '../delivery/dm.ts';
import type { BotDeps } from '../deps.ts';
import type { Outcome } from './outcome.ts';

export async function deliverBatchDm(deps: BotDeps, batchId: string): Promise<Outcome> {
  const snapshot = await loadBatchSnapshot(deps.orm, batchId);
  if (!snapshot || snapshot.batch.dm_state !== 'pending') return { ok: true };
  const record = recordCard(snapshot.batch);
  const rows = batchDmRows(snapshot);
  const userId = snapshot.batch.requester_id;
  const result = await sendToUser({
    rest: deps.rest,
    userId,
    dm: () => renderBatchDm({ record, rows }),
    fallback: () => renderBatchDmFallback({ record, rows, requesterId: userId }),
    fallbackChannelId: snapshot.batch.thread_id ?? snapshot.batch.channel_id,
    file: { name: batchCsvFileName(record), data: Buffer.from(batchCsv(record, rows), 'utf8'), contentType: 'text/csv' },
  });
  if (result.dmState === 'failed') {
    const retry = result.status === undefined || result.status >= 500 || result.status === 429;
    if (!retry) await settleBatchDm(deps.orm, batchId, 'failed');
    return { ok: false, error: result.reason, retry };
  }
  await settleBatchDm(deps.orm, batchId, result.dmState);
  return { ok: true };
}
