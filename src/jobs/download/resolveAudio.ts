import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ResolveAudioError, UserFacingError, type DownloadErrorCode } from './errors.ts';
import type { AudioInfo } from './validateAudio.ts';

/**
 * Where the audio for a request comes from, in order:
 *   Spotify track: the user's library folder -> spotdl (if installed) -> yt-dlp search
 *   direct URL:    http(s) download
 *   local file:    validate + copy
 * Sources are injected plain functions, so the order is testable without tools
 * (see sources.ts for the real wiring). The result is always a file inside
 * `workDir` that the caller moves into storage; the user's own files are copied,
 * never moved.
 */

export interface TrackForLookup {
  spotifyId: string;
  title: string;
  artist: string | null;
  artists: string[];
  durationSeconds: number | null;
  isrc: string | null;
  url: string;
}

export type AudioRequest =
  | { kind: 'spotify'; track: TrackForLookup }
  | { kind: 'url'; url: string; /** The request's permission to reach private addresses (a CLI user's own link). */ allowPrivateHosts?: boolean }
  | { kind: 'file'; path: string; displayName?: string };

export type AudioOrigin = 'library' | 'spotdl' | 'youtube' | 'url' | 'file';

export interface SourceContext {
  /** A fresh, empty directory for this attempt's files. */
  workDir: string;
  onProgress: (percent: number) => void;
  signal?: AbortSignal | undefined;
}

export interface AudioSources {
  /** Path of a matching file in the user's library, or null. */
  library?: ((track: TrackForLookup) => Promise<{ path: string } | null>) | undefined;
  /** Present only when spotdl is installed/configured. */
  spotdl?: ((track: TrackForLookup, ctx: SourceContext) => Promise<{ path: string }>) | undefined;
  youtube?: ((track: TrackForLookup, ctx: SourceContext) => Promise<{ path: string; title: string }>) | undefined;
  directUrl: (url: string, ctx: SourceContext, access?: { allowPrivateHosts: boolean }) => Promise<{ path: string; displayName: string }>;
  validate: (file: string) => Promise<AudioInfo>;
}

export interface ResolvedAudio {
  /** A file inside workDir, ready for moveIntoPlace(). */
  path: string;
  origin: AudioOrigin;
  /** For the user: "from your library", "from YouTube: <title>" ... */
  description: string;
  audio: AudioInfo;
  /** Sources tried before the one that worked, with why they failed. */
  attempts: { source: AudioOrigin; error: UserFacingError }[];
}

export interface ResolveOptions {
  workDir: string;
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

export async function resolveAudio(req: AudioRequest, sources: AudioSources, opts: ResolveOptions): Promise<ResolvedAudio> {
  const attempts: ResolvedAudio['attempts'] = [];
  const progress = opts.onProgress ?? (() => undefined);
  const ctxFor = async (name: AudioOrigin): Promise<SourceContext> => {
    const workDir = path.join(opts.workDir, name);
    await mkdir(workDir, { recursive: true });
    return { workDir, onProgress: progress, signal: opts.signal };
  };
  const finish = async (origin: AudioOrigin, file: string, description: string): Promise<ResolvedAudio> => {
    const audio = await sources.validate(file);
    progress(100);
    return { path: file, origin, description, audio, attempts };
  };

  if (req.kind === 'file') {
    const audio = await sources.validate(req.path); // check before copying a large non-audio file
    const copy = await copyInto(req.path, (await ctxFor('file')).workDir);
    progress(100);
    return { path: copy, origin: 'file', description: `from ${req.displayName ? `the file ${req.displayName}` : 'the attached file'}`, audio, attempts };
  }

  if (req.kind === 'url') {
    const got = await sources.directUrl(req.url, await ctxFor('url'), { allowPrivateHosts: req.allowPrivateHosts ?? false });
    return finish('url', got.path, `from ${hostOf(req.url)}: ${got.displayName}`);
  }

  const track = req.track;
  const steps: { origin: AudioOrigin; run: () => Promise<ResolvedAudio | null> }[] = [];
  if (sources.library) {
    const library = sources.library;
    steps.push({
      origin: 'library',
      run: async () => {
        const hit = await library(track);
        if (!hit) return null;
        await sources.validate(hit.path); // a damaged library file falls through to downloads
        const copy = await copyInto(hit.path, (await ctxFor('library')).workDir);
        return finish('library', copy, 'from your library');
      },
    });
  }
  if (sources.spotdl) {
    const spotdl = sources.spotdl;
    steps.push({ origin: 'spotdl', run: async () => finish('spotdl', (await spotdl(track, await ctxFor('spotdl'))).path, 'via spotDL (YouTube Music)') });
  }
  if (sources.youtube) {
    const youtube = sources.youtube;
    steps.push({
      origin: 'youtube',
      run: async () => {
        const got = await youtube(track, await ctxFor('youtube'));
        return finish('youtube', got.path, `from YouTube: ${got.title}`);
      },
    });
  }

  for (const step of steps) {
    if (opts.signal?.aborted) throw new UserFacingError('cancelled', 'The download was cancelled.');
    try {
      const result = await step.run();
      if (result) return result;
    } catch (err) {
      const uerr = asUserFacing(err);
      if (uerr.code === 'cancelled') throw uerr; // never fall through a cancellation
      attempts.push({ source: step.origin, error: uerr });
    }
  }

  const last = attempts.at(-1)?.error;
  const code: DownloadErrorCode = last?.code ?? 'no_match';
  const message = last
    ? last.userMessage
    : 'No download source is available for Spotify tracks (no library match, and neither spotdl nor yt-dlp is configured). Send a direct audio link or attach the file.';
  const error = new ResolveAudioError(code, message, {
    detail: attempts.map((a) => `${a.source}: ${a.error.message}`).join(' | '),
    retryable: last?.retryable ?? false,
  });
  error.attempts = attempts;
  throw error;
}

async function copyInto(src: string, dir: string): Promise<string> {
  const ext = path.extname(src).toLowerCase().replace(/[^.a-z0-9]/g, '').slice(0, 6) || '.bin';
  const dest = path.join(dir, `source${ext}`);
  await copyFile(src, dest);
  return dest;
}

function asUserFacing(err: unknown): UserFacingError {
  if (err instanceof UserFacingError) return err;
  return new UserFacingError('tool_failed', 'Something went wrong while fetching the audio. Try again; if it keeps happening, tell the bot admin.', {
    detail: err instanceof Error ? err.message : String(err),
    cause: err,
    retryable: true,
  });
}

function hostOf(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return 'the link';
  }
}
