/**
 * Analyze worker: one AnalysisJob row -> the engine's analysis of the track's
 * audio, the overview PNG stored at analysis/<jobId>/overview.png, and the
 * AnalysisResult row committed with the completed status.
 */
import { UserFacingError } from '../download/errors.ts';
import { moveIntoPlace, removePartial } from '../storage/atomicWrite.ts';
import { findDownloadedAudio } from '../pipeline/reuse.ts';
import { moveJob, ThrottledProgress, writeProgress } from '../pipeline/rowWrites.ts';
import type { AnalyzePayload } from '../queues/payloads.ts';
import { beginAttempt } from './attempt.ts';
import { claimJob } from './claim.ts';
import { commitCompletion } from './complete.ts';
import type { WorkerContext } from './context.ts';
import { settleFailure } from './failures.ts';
import { AUDIO_GONE } from './separate.ts';
import path from 'node:path';


export async function runAnalyzeJob(ctx: WorkerContext, payload: AnalyzePayload, signal?: AbortSignal): Promise<void> {
  const id = payload.analysisJobId;
  const claim = await claimJob(ctx, 'analysis', id, payload.lostAttempts);
  if (!claim.run) return;
  const { trackId } = claim;
  const attempt = beginAttempt(ctx, 'analysis', id, signal);
  const progress = new ThrottledProgress(
    (p) => writeProgress(ctx.orm.em.fork(), 'analysis', id, trackId, 'processing', p),
    ctx.progressThrottle,
    (e) => ctx.log.warn(`analyze ${id}: progress write failed: ${String(e)}`),
  );
  let workDir: string | undefined;
  let finalPng: string | undefined;
  try {
    const audio = await findDownloadedAudio(ctx.orm.em.fork(), trackId);
    if (!audio) throw new UserFacingError('not_found', AUDIO_GONE);
    workDir = await ctx.paths.makeJobTempDir('analyze', id); // named by the row: the reaper removes a lost attempt's leftovers
    const tmpPng = path.join(workDir, 'overview.png');
    const result = await ctx.engine.request(
      { cmd: 'analyze', input: audio.path, features: ['all'], overview_png: tmpPng, max_duration: ctx.maxDurationSeconds },
      { onProgress: (p) => progress.report(p), signal: attempt.signal },
    );
    attempt.signal.throwIfAborted(); // cancelled as the result came in: publish nothing
    finalPng = ctx.paths.analysisOverview(id);
    await moveIntoPlace(tmpPng, finalPng);
    const features = { ...result.features, overview_png: finalPng };
    await progress.flush();
    await removePartial(workDir); // outputs are in place; nothing temporary outlives the job
    workDir = undefined;

    await commitCompletion(ctx, 'analysis', id, async (tx) => {
      await moveJob(tx, 'analysis', id, trackId, 'completed', {
        results: { features: ['all'], overview_png: finalPng!, input_download_job_id: audio.id },
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
    });
    attempt.end();
    ctx.log.info(`analyze ${id}: tempo ${String(result.tempo)}, key ${String(result.key)}`);
  } catch (error) {
    await progress.flush();
    if (finalPng) await removePartial(path.dirname(finalPng));
    await settleFailure(ctx, 'analysis', id, trackId, error, attempt, payload.lostAttempts);
  } finally {
    attempt.end();
    if (workDir) await removePartial(workDir);
  }
}
