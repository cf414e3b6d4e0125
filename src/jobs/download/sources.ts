import type { IpRange } from '../../domain/networkAddress.ts';
import type { ResolveAll } from './addressGuard.ts';
import { downloadDirectUrl } from './directUrl.ts';
import { libraryIndexFor } from './library.ts';
import type { AudioSources } from './resolveAudio.ts';
import { downloadWithSpotdl, locateSpotdl } from './spotdl.ts';
import { validateAudio } from './validateAudio.ts';
import { DEFAULT_YTDLP_PATH, findAndDownloadFromYouTube } from './ytdlp.ts';

/** Plain settings the download worker takes from the app config. */
export interface DownloadSettings {
  libraryDir?: string | undefined;
  /** Explicit spotdl path; when unset, `spotdl` on PATH is used if present. Set `false` to disable. */
  spotdlPath?: string | false | undefined;
  ytdlpPath?: string | undefined;
  /** Optional proxy for yt-dlp (--proxy). */
  ytdlpProxy?: string | undefined;
  maxFileMb: number;
  maxDurationSeconds: number;
  /** Private ranges links of anyone may reach (SFA_ALLOWED_PRIVATE_ADDRESSES); otherwise only a request's own permission opens them. */
  allowedPrivateRanges?: readonly IpRange[] | undefined;
  /** Name resolution for the private-network guard (default the system resolver; tests inject names). */
  resolve?: ResolveAll | undefined;
  ffprobePath?: string | undefined;
  ffmpegPath?: string | undefined;
}

/** The real sources for resolveAudio(), built from settings. */
export async function createAudioSources(s: DownloadSettings): Promise<AudioSources> {
  const validateOpts = {
    maxDurationSeconds: s.maxDurationSeconds,
    ...(s.ffprobePath ? { ffprobePath: s.ffprobePath } : {}),
    ...(s.ffmpegPath ? { ffmpegPath: s.ffmpegPath } : {}),
  };
  const spotdl = s.spotdlPath === false ? null : await locateSpotdl(s.spotdlPath);
  const ytdlp = { executable: s.ytdlpPath ?? DEFAULT_YTDLP_PATH, ...(s.ytdlpProxy ? { proxy: s.ytdlpProxy } : {}) };
  return {
    library: s.libraryDir
      ? async (track) => {
          const hit = await libraryIndexFor(s.libraryDir!).findMatch(track);
          return hit ? { path: hit.entry.path } : null;
        }
      : undefined,
    spotdl: spotdl
      ? (track, ctx) => downloadWithSpotdl(track.url, ctx.workDir, { executable: spotdl, maxFileMb: s.maxFileMb, ...(ctx.signal ? { signal: ctx.signal } : {}) })
      : undefined,
    youtube: (track, ctx) =>
      findAndDownloadFromYouTube(track, ctx.workDir, {
        ...ytdlp,
        maxDurationSeconds: s.maxDurationSeconds,
        maxFileMb: s.maxFileMb,
        onProgress: ctx.onProgress,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    directUrl: (url, ctx, access) =>
      downloadDirectUrl(url, ctx.workDir, {
        maxFileMb: s.maxFileMb,
        allowPrivateHosts: access?.allowPrivateHosts ?? false,
        ...(s.allowedPrivateRanges ? { allowedRanges: s.allowedPrivateRanges } : {}),
        ...(s.resolve ? { resolve: s.resolve } : {}),
        onProgress: ctx.onProgress,
        validate: validateOpts,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    validate: (file) => validateAudio(file, validateOpts),
  };
}
