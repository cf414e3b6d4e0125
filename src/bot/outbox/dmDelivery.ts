/**
 * One `dm` outbox row: the analysis DM with the overview PNG (sendAnalysisDm);
 * closed DMs -> the channel fallback mentioning the requester. dm_state is
 * stored; an /analyze request is delivered once its DM went out.
 */
import type { AnalysisRowLike } from '../../domain/analysisWording.ts';
import { StoragePaths } from '../../jobs/storage/paths.ts';
import { sendAnalysisDm } from '../delivery/dm.ts';
import type { BotDeps } from '../deps.ts';
import { loadRequest, trackCard } from '../requests/view.ts';
import type { Outcome } from './dispatcher.ts';

export async function deliverDm(deps: BotDeps, requestId: string, payload: Record<string, string>): Promise<Outcome> {
  const row = await loadRequest(deps.orm, requestId);
  if (!row || row.dm_state !== 'pending') return { ok: true };
  const conn = deps.orm.em.getConnection();
  const results = await conn.execute<AnalysisRowLike[]>(
    `select r.tempo, r.key, r.energy, r.spectral_centroid, r.features from analysis_results r where r.analysis_job_id = ?`,
    [payload.analysisJobId],
  );
  const analysis = results[0];
  if (!analysis) return { ok: false, error: 'the analysis has no stored result', retry: false };
  const result = await sendAnalysisDm({
    rest: deps.rest,
    userId: row.requester_id,
    analysis,
    // The picture's path derives from the analysis job id (the worker stores it there).
    overviewPath: new StoragePaths(deps.config.dataDir).analysisOverview(payload.analysisJobId!),
    track: trackCard(row),
    fallbackChannelId: row.channel_id,
  });
  if (result.dmState === 'failed') {
    const retry = result.status === undefined || result.status >= 500 || result.status === 429;
    if (!retry) await conn.execute(`update requests set dm_state = 'failed', updated_at = now() where id = ?`, [requestId]);
    return { ok: false, error: result.reason, retry };
  }
  await conn.execute(`update requests set dm_state = ?, updated_at = now() where id = ?`, [result.dmState, requestId]);
  if (row.kind === 'analyze') {
    await conn.execute(`update requests set delivery_state = 'delivered', delivered_at = now(), updated_at = now() where id = ? and delivery_state in ('pending', 'delivering')`, [requestId]);
  }
  return { ok: true };
}
