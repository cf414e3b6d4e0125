/**
 * Download worker: one DownloadJob row -> the track's audio under
 * downloads/<trackId>/source.<ext>, validated, with Track metadata filled in;
 * then releases the separation/analysis rows waiting for it (same transaction).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserFacingError } from '../download/errors.ts';
import { resolveAudio, type AudioRequest } from '../download/resolveAudio.ts';
import { moveIntoPlace, removePartial } from '../storage/atomicWrite.ts';
import { filePathOfSource } from '../pipeline/input.ts';
import { releaseWaitingJobs } from '../pipeline/release.ts';
import { moveJob, ThrottledProgress, writeProgress } from '../pipeline/rowWrites.ts';
import type { DownloadPayload } from '../queues/payloads.ts';
import { claimJob } from './claim.ts';
import type { WorkerContext } from './context.ts';
import { settleFailure } from './failures.ts';

interface TrackRow {
  spotify_id: string | null;
  spotify_url: string | null;
  source_url: string | null;
  title: string;
  artist: string | null;
  duration: number | null;
  isrc: string | null;
}

export async function runDownloadJob(ctx: WorkerContext, payload: DownloadPayload, signal?: AbortSignal): Promise<void> {
  const id = payload.downloadJobId;
  const claim = await claimJob(ctx, 'download', id, payload.lostAttempts);
  if (!claim.run) return;
  const { trackId } = claim;
  const progress = new ThrottledProgress(
    (p) => writeProgress(ctx.orm.em.fork(), 'download', id, trackId, 'downloading', p),
    ctx.progressThrottle,
    (e) => ctx.log.warn(`download ${id}: progress write failed: ${String(e)}`),
  );
  let workDir: string | undefined;
  try {
    const em = ctx.orm.em.fork();
    const track = (await em.execute<TrackRow[]>(`select * from tracks where id = ?`, [trackId]))[0]!;
    const request = await audioRequestFor(ctx, trackId, track, signal);
    workDir = await ctx.paths.makeTempDir('download');
    const resolved = await resolveAudio(request, ctx.sources, { workDir, onProgress: progress.report, ...(signal ? { signal } : {}) });
    const ext = path.extname(resolved.path).slice(1).toLowerCase() || 'audio';
    const finalPath = ctx.paths.downloadSource(trackId, ext);
    await moveIntoPlace(resolved.path, finalPath);
    const size = (await stat(finalPath)).size;
    await progress.flush();
    await removePartial(workDir); // outputs are in place; nothing temporary outlives the job
    workDir = undefined;

    await ctx.orm.em.fork().transactional(async (tx) => {
      await tx.execute(`update tracks set duration = coalesce(duration, ?), updated_at = now() where id = ?`, [
        Math.round(resolved.audio.durationSeconds),
        trackId,
      ]);
      await moveJob(tx, 'download', id, trackId, 'completed', { outputPath: finalPath, fileSize: size });
      await releaseWaitingJobs(tx, ctx, trackId);
    });
    ctx.log.info(`download ${id}: ${resolved.description} -> ${finalPath}`);
  } catch (error) {
    await progress.flush();
    await settleFailure(ctx, 'download', id, trackId, error, signal, payload.lostAttempts);
  } finally {
    if (workDir) await removePartial(workDir);
  }
}

/** Where the audio comes from, from the Track row; Spotify metadata is fetched and stored first. */
async function audioRequestFor(ctx: WorkerContext, trackId: string, track: TrackRow, signal?: AbortSignal): Promise<AudioRequest> {
  if (track.spotify_id) {
    if (!ctx.spotifyMetadata) throw new UserFacingError('spotify_unreachable', 'This worker cannot look up Spotify tracks. Send a direct audio link or attach the file.');
    const meta = await ctx.spotifyMetadata(track.spotify_id, signal);
    await ctx.orm.em.fork().execute(
      `update tracks set title = ?, artist = coalesce(?, artist), album = coalesce(?, album), album_art_url = coalesce(?, album_art_url),
              duration = coalesce(?, duration), isrc = coalesce(?, isrc), updated_at = now() where id = ?`,
      [meta.title, meta.artist, meta.album, meta.albumArtUrl, meta.durationSeconds === null ? null : Math.round(meta.durationSeconds), meta.isrc, trackId],
    );
    return { kind: 'spotify', track: { spotifyId: meta.spotifyId, title: meta.title, artist: meta.artist, artists: meta.artists, durationSeconds: meta.durationSeconds, isrc: meta.isrc, url: meta.url } };
  }
  const file = filePathOfSource(track.source_url);
  if (file) {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) {
      throw new UserFacingError('not_found', `The file ${file} does not exist or is not readable by the worker. Check the path and try again.`);
    }
    return { kind: 'file', path: file, displayName: path.basename(file) };
  }
  if (track.source_url) return { kind: 'url', url: track.source_url };
  throw new UserFacingError('invalid_input', 'This track has no source to download from. Request it again with a link or a file.');
}
