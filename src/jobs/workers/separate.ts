/**
 * Separate worker: one ProcessingJob row -> stems via the engine, written into a
 * temporary directory, moved to stems/<trackId>/<jobId>/<stem>.<format>, Stem rows
 * and the completed status committed together.
 */
import { stat } from 'node:fs/promises';
import { moveIntoPlace } from '../storage/atomicWrite.ts';
import { findDownloadedAudio } from '../pipeline/reuse.ts';
import { moveJob, ThrottledProgress, writeModelFetch, writeStageNote } from '../pipeline/rowWrites.ts';
import { DEFAULT_STEM_FORMAT, isStemFormat } from '../../domain/audioFormats.ts';
import { fetchPercent, type ModelFetchProgress } from '../../domain/modelFiles.ts';
import { provideModel, type ModelProvision } from '../models/provide.ts';
import type { SeparatePayload } from '../queues/payloads.ts';
import type { WorkerContext } from './context.ts';
import { runClaimedJob } from './runClaimedJob.ts';
import { UserFacingError } from '../download/errors.ts';

/** The engine's stage while it converts a model for this CPU (OpenVINO, first use only). */
export const PREPARING_MODEL = 'preparing model for this CPU';

export const AUDIO_GONE =
  'The downloaded audio for this track is no longer available. Request it again to download it anew.';

export function runSeparateJob(ctx: WorkerContext, payload: SeparatePayload, signal?: AbortSignal): Promise<void> {
  const delivery = { id: payload.processingJobId, lostAttempts: payload.lostAttempts, signal };
  return runClaimedJob(ctx, 'processing', delivery, async (job) => {
    const { id, trackId } = job;
    const em = ctx.orm.em.fork();
    const row = (await em.execute<{ model: string; options: Record<string, unknown> | null }[]>(
      `select model, options from processing_jobs where id = ?`,
      [id],
    ))[0]!;
    const options = row.options ?? {};
    const format = isStemFormat(options.format) ? options.format : DEFAULT_STEM_FORMAT;
    const audio = await findDownloadedAudio(em, trackId);
    if (!audio) throw new UserFacingError('not_found', AUDIO_GONE);

    if (ctx.models) await fetchModelFirst(ctx, ctx.models, id, trackId, row.model, job.signal);
    // The engine's slow first-use step is kept on the row while it lasts (said once, cleared when separating starts).
    let note: string | null = null;
    let noteWrites = Promise.resolve();
    const setNote = (next: string | null) => {
      if (next === note) return;
      note = next;
      noteWrites = noteWrites
        .then(() => writeStageNote(ctx.orm.em.fork(), id, trackId, next))
        .then(
          () => undefined,
          (e: unknown) => ctx.log.warn(`separate ${id}: progress note failed: ${String(e)}`),
        );
    };
    const result = await ctx.engine.request(
      { cmd: 'separate', input: audio.path, out_dir: await job.tempDir(), model: row.model, format, max_duration: ctx.maxDurationSeconds },
      {
        onProgress: (p, stage) => {
          job.reportProgress(p);
          setNote(stage === PREPARING_MODEL ? PREPARING_MODEL : null);
        },
        signal: job.signal,
      },
    );
    await noteWrites;
    job.signal.throwIfAborted(); // cancelled as the result came in: publish nothing
    const stemsDir = ctx.paths.stemsDir(trackId, id);
    const stems: { name: string; path: string; size: number }[] = [];
    for (const stem of result.stems) {
      const dest = ctx.paths.stemFile(trackId, id, stem.name, result.format);
      await moveIntoPlace(stem.path, dest);
      stems.push({ name: stem.name, path: dest, size: (await stat(dest)).size });
    }
    return {
      write: async (tx) => {
        await moveJob(tx, 'processing', id, trackId, 'completed', {
          outputPath: stemsDir,
          options: {
            ...options,
            format: result.format,
            inputDownloadJobId: audio.id,
            duration: result.duration,
            sampleRate: result.sample_rate,
            clipped: result.clipped,
            elapsedSeconds: result.elapsed_seconds,
            device: result.device,
            backend: result.backend,
            precision: result.precision,
          },
        });
        for (const stem of stems) {
          await tx.execute(`insert into stems (processing_job_id, track_id, stem_type, file_path, file_size) values (?, ?, ?, ?, ?)`, [
            id,
            trackId,
            stem.name,
            stem.path,
            stem.size,
          ]);
        }
      },
      summary: `${stems.length} stems in ${result.elapsed_seconds.toFixed(1)} s`,
    };
  });
}

/** First use of a model: fetch it (or refuse, SFA_MODEL_DOWNLOAD=never), its progress on the row's model_fetch. */
async function fetchModelFirst(ctx: WorkerContext, provision: ModelProvision, id: string, trackId: string, model: string, signal: AbortSignal): Promise<void> {
  let latest: ModelFetchProgress | undefined;
  const warn = (e: unknown) => ctx.log.warn(`separate ${id}: model fetch progress write failed: ${String(e)}`);
  const writes = new ThrottledProgress(() => writeModelFetch(ctx.orm.em.fork(), id, trackId, latest ?? null), ctx.progressThrottle, warn);
  const outcome = await provideModel(
    provision,
    model,
    (p) => {
      latest = p;
      writes.report(fetchPercent(p));
    },
    signal,
  );
  await writes.flush();
  if (outcome === 'fetched') {
    ctx.log.info(`separate ${id}: fetched model ${model} into ${provision.dir}`);
    await writeModelFetch(ctx.orm.em.fork(), id, trackId, null).catch(warn);
  }
}
