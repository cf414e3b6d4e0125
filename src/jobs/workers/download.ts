/**
 * Download worker: one DownloadJob row -> the track's audio under
 * downloads/<trackId>/source.<ext>, validated, with Track metadata filled in;
 * then releases the separation/analysis rows waiting for it (same transaction).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserFacingError } from '../download/errors.ts';
import { resolveAudio, type AudioRequest } from '../download/resolveAudio.ts';
import { checkReadableFile } from '../download/validateAudio.ts';
import { moveIntoPlace } from '../storage/atomicWrite.ts';
import { filePathOfSource } from '../pipeline/input.ts';
import { releaseWaitingJobs } from '../pipeline/release.ts';
import { moveJob } from '../pipeline/rowWrites.ts';
import type { DownloadPayload } from '../queues/payloads.ts';
import type { WorkerContext } from './context.ts';
import { runClaimedJob } from './runClaimedJob.ts';

interface TrackRow {
  spotify_id: string | null;
  spotify_url: string | null;
  source_url: string | null;
  private_network_allowed: boolean;
  title: string;
  artist: string | null;
  duration: number | null;
  isrc: string | null;
}

export function runDownloadJob(ctx: WorkerContext, payload: DownloadPayload, signal?: AbortSignal): Promise<void> {
  const delivery = { id: payload.downloadJobId, lostAttempts: payload.lostAttempts, signal };
  return runClaimedJob(ctx, 'download', delivery, async (job) => {
    const { id, trackId } = job;
    const em = ctx.orm.em.fork();
    const track = (await em.execute<TrackRow[]>(`select * from tracks where id = ?`, [trackId]))[0]!;
    const request = await audioRequestFor(ctx, trackId, track, job.signal);
    const resolved = await resolveAudio(request, ctx.sources, { workDir: await job.tempDir(), onProgress: job.reportProgress, signal: job.signal });
    job.signal.throwIfAborted(); // cancelled as the file came in: publish nothing
    const ext = path.extname(resolved.path).slice(1).toLowerCase() || 'audio';
    const finalPath = ctx.paths.downloadSource(trackId, ext);
    // The track's audio is not this row's alone: another (completed) download row may own that same path.
    job.placing(finalPath, (file) => ownedByCompletedDownload(ctx, file));
    await moveIntoPlace(resolved.path, finalPath);
    const size = (await stat(finalPath)).size;
    return {
      // The row first, then the track: the lock order of every writer (cancel, failures, the reaper).
      write: async (tx) => {
        await moveJob(tx, 'download', id, trackId, 'completed', { outputPath: finalPath, fileSize: size });
        await tx.execute(`update tracks set duration = coalesce(duration, ?), updated_at = now() where id = ?`, [
          Math.round(resolved.audio.durationSeconds),
          trackId,
        ]);
        await releaseWaitingJobs(tx, ctx, trackId);
      },
      summary: `${resolved.description} -> ${finalPath}`,
    };
  });
}

async function ownedByCompletedDownload(ctx: WorkerContext, file: string): Promise<boolean> {
  try {
    const rows = await ctx.orm.em.fork().execute(`select id from download_jobs where output_path = ? and status = 'completed' limit 1`, [file]);
    return rows.length > 0;
  } catch {
    return true; // cannot tell (database unreachable): keep the file rather than risk a completed row's audio
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
    // The worker must see the same filesystem. Missing, a folder/fifo/device, unreadable: each its own message.
    if (!(await stat(file).catch(() => null))) {
      throw new UserFacingError('not_found', `The file ${file} does not exist where the worker runs. Check the path and try again.`);
    }
    await checkReadableFile(file);
    return { kind: 'file', path: file, displayName: path.basename(file) };
  }
  // The permission comes from the work's own row, never from the worker process.
  if (track.source_url) return { kind: 'url', url: track.source_url, allowPrivateHosts: track.private_network_allowed };
  throw new UserFacingError('invalid_input', 'This track has no source to download from. Request it again with a link or a file.');
}
