/**
 * Analyze worker: one AnalysisJob row -> the engine's analysis of the track's
 * audio, the overview PNG stored at analysis/<jobId>/overview.png, and the
 * AnalysisResult row committed with the completed status.
 */
import { UserFacingError } from '../download/errors.ts';
import path from 'node:path';
import { moveIntoPlace } from '../storage/atomicWrite.ts';
import { findDownloadedAudio } from '../pipeline/reuse.ts';
import { moveJob } from '../pipeline/rowWrites.ts';
import type { AnalyzePayload } from '../queues/payloads.ts';
import type { WorkerContext } from './context.ts';
import { runClaimedJob } from './runClaimedJob.ts';
import { AUDIO_GONE } from './separate.ts';

export function runAnalyzeJob(ctx: WorkerContext, payload: AnalyzePayload, signal?: AbortSignal): Promise<void> {
  const delivery = { id: payload.analysisJobId, lostAttempts: payload.lostAttempts, signal };
  return runClaimedJob(ctx, 'analysis', delivery, async (job) => {
    const { id, trackId } = job;
    const audio = await findDownloadedAudio(ctx.orm.em.fork(), trackId);
    if (!audio) throw new UserFacingError('not_found', AUDIO_GONE);
    const tmpPng = path.join(await job.tempDir(), 'overview.png');
    const result = await ctx.engine.request(
      { cmd: 'analyze', input: audio.path, features: ['all'], overview_png: tmpPng, max_duration: ctx.maxDurationSeconds },
      { onProgress: (p) => job.reportProgress(p), signal: job.signal },
    );
    job.signal.throwIfAborted(); // cancelled as the result came in: publish nothing
    const finalPng = ctx.paths.analysisOverview(id);
    await moveIntoPlace(tmpPng, finalPng);
    const features = { ...result.features, overview_png: finalPng };
    return {
      write: async (tx) => {
        await moveJob(tx, 'analysis', id, trackId, 'completed', {
          results: { features: ['all'], overview_png: finalPng, input_download_job_id: audio.id },
        });
        await tx.execute(
          `insert into analysis_results
             (track_id, analysis_job_id, tempo, key, energy, spectral_centroid, spectral_rolloff, zero_crossing_rate, features)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
          [
            trackId,
            id,
            result.tempo,
            result.key,
            result.energy,
            result.spectral_centroid,
            result.spectral_rolloff,
            result.zero_crossing_rate,
            JSON.stringify(features),
          ],
        );
      },
      summary: `tempo ${String(result.tempo)}, key ${String(result.key)}`,
    };
  });
}
