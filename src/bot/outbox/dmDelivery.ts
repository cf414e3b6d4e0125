/**
 * One `dm` outbox row: the analysis DM with the overview PNG (sendAnalysisDm);
 * closed DMs -> the channel fallback mentioning the requester. dm_state is
 * stored; an /analyze request is delivered once its DM went out.
 */
import type { AnalysisRowLike } from '../../domain/analysisWording.ts';
import { StoragePaths } from '../../jobs/storage/paths.ts';
import { sendAnalysisDm } from '../delivery/dm.ts';
import type { BotDeps } from '../deps.ts';
import { settleDm, markDelivered } from '../../requests/outbox.ts';
import { loadRequest, trackCard } from '../../requests/view.ts';
import type { Outcome } from './outcome.ts';

export async function deliverDm(deps: BotDeps, requestId: string, payload: Record<string, string>): Promise<Outcome> {
  const row = await loadRequest(deps.orm, requestId);
  if (!row || row.dm_state !== 'pending') return { ok: true };
  const results = await deps.orm.em.getConnection().execute<AnalysisRowLike[]>(
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
    if (!retry) await settleDm(deps.orm, requestId, 'failed');
    return { ok: false, error: result.reason, retry };
  }
  await settleDm(deps.orm, requestId, result.dmState);
  if (row.kind === 'analyze') await markDelivered(deps.orm, requestId);
  return { ok: true };
}
