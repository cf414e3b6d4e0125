import { access, readdir, rm, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { SpotdlError, cancelledError } from './errors.ts';
import { runTool, type ToolRun } from './runTool.ts';

export interface SpotdlOptions {
  /** spotdl executable; resolve with `locateSpotdl()` first. */
  executable: string;
  /** Output format passed to --format (default opus: YouTube's own codec, no lossy re-encode to mp3). */
  format?: string;
  timeoutMs?: number;
  extraArgs?: readonly string[];
  /** Extra environment (e.g. proxy variables); inherited otherwise. */
  env?: Record<string, string | undefined>;
  /** Size cap in MB (SFA_MAX_FILE_MB): spotdl has none, so its output folder is watched and the run stopped past it. */
  maxFileMb?: number;
  /** How often the output folder is measured (default 500 ms). */
  sizeCheckMs?: number;
  signal?: AbortSignal;
}

const AUDIO_EXT = /\.(opus|mp3|m4a|flac|ogg|wav|aac|webm)$/i;

/**
 * The configured spotdl path if given (must be executable), else `spotdl` on PATH,
 * else null: spotdl is optional and the caller falls back to yt-dlp.
 */
export async function locateSpotdl(configured?: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  if (configured) return (await isExecutable(configured)) ? configured : null;
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'spotdl');
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function buildSpotdlArgs(trackUrl: string, outDir: string, opts: Pick<SpotdlOptions, 'format' | 'extraArgs'> = {}): string[] {
  return [
    'download',
    // {track-id} is a Spotify id: the file name never contains the title.
    '--output', path.join(outDir, '{track-id}.{output-ext}'),
    '--format', opts.format ?? 'opus',
    '--overwrite', 'force',
    '--threads', '1',
    '--print-errors',
    '--simple-tui',
    ...(opts.extraArgs ?? []),
    // The link comes from an API answer: after `--` it can never be read as an option.
    '--',
    trackUrl,
  ];
}

export function classifySpotdlFailure(run: ToolRun, executable: string, timeoutMs: number): SpotdlError {
  if (run.spawnErrorCode) {
    return new SpotdlError('tool_missing', `spotdl could not be started (${executable}). Install it (\`pip install spotdl\`) or remove it from the configuration.`, { detail: run.spawnErrorCode });
  }
  if (run.timedOut) {
    return new SpotdlError('timeout', `spotdl took longer than ${Math.round(timeoutMs / 1000)} s and was stopped. Try again later.`, { retryable: true });
  }
  const out = `${run.stderr}\n${run.stdout}`;
  const detail = lastMeaningfulLine(out);
  if (/No results found|LookupError|Could not find a match/i.test(out)) {
    return new SpotdlError('no_match', 'spotdl found no matching audio for this track. Try a direct audio link, or put the song in your library folder.', { detail });
  }
  if (/ConnectionError|Max retries exceeded|Failed to resolve|Name or service not known|Temporary failure in name resolution|Connection refused|Network is unreachable|timed out/i.test(out)) {
    return new SpotdlError('network', 'spotdl could not reach Spotify/YouTube. Check the internet connection and try again.', { detail, retryable: true });
  }
  if (/rate.?limit|429/i.test(out)) {
    return new SpotdlError('spotify_rate_limited', 'spotdl is being rate-limited by Spotify; try again in a few minutes.', { detail, retryable: true });
  }
  if (/FFmpeg|ffmpeg is not installed/i.test(out) && /not (installed|found)/i.test(out)) {
    return new SpotdlError('tool_missing', 'spotdl needs FFmpeg and could not find it. Install ffmpeg (`npm run setup`).', { detail });
  }
  if (/403|Forbidden|Sign in to confirm/i.test(out)) {
    return new SpotdlError('forbidden', 'YouTube refused spotdl\'s download (HTTP 403). Update spotdl and yt-dlp and try again.', { detail, retryable: true });
  }
  return new SpotdlError('tool_failed', `spotdl failed${detail ? `: ${detail}` : ` (exit code ${run.exitCode})`}.`, { detail, retryable: true });
}

function lastMeaningfulLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => /error|exception|failed/i.test(l));
  return (err ?? lines.at(-1) ?? '').slice(0, 300);
}

export async function downloadWithSpotdl(trackUrl: string, outDir: string, opts: SpotdlOptions): Promise<{ path: string }> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  // Stopped by the caller's signal, or by the size watch when the output grows past the cap.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const maxBytes = opts.maxFileMb ? Math.floor(opts.maxFileMb * 1024 * 1024) : undefined;
  let tooLarge = false;
  const watch = maxBytes
    ? setInterval(() => {
        void folderBytes(outDir).then((bytes) => {
          if (bytes > maxBytes && !stop.signal.aborted) {
            tooLarge = true;
            stop.abort();
          }
        });
      }, opts.sizeCheckMs ?? 500)
    : undefined;
  let run: ToolRun;
  try {
    run = await runTool(opts.executable, buildSpotdlArgs(trackUrl, outDir, opts), {
      timeoutMs,
      cwd: outDir, // spotdl writes caches/errors files relative to cwd
      ...(opts.env ? { env: opts.env } : {}),
      signal: stop.signal,
    });
  } finally {
    clearInterval(watch);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (tooLarge) {
    await removeOutputs(outDir);
    throw new SpotdlError('too_large', `spotdl's download grew past ${opts.maxFileMb} MB (SFA_MAX_FILE_MB) and was stopped. Try a shorter track.`);
  }
  if (run.cancelled) throw cancelledError('The download');
  if (run.exitCode !== 0) throw classifySpotdlFailure(run, opts.executable, timeoutMs);
  // spotdl can exit 0 after printing an error for the song, so trust the file, not the code.
  const names = (await readdir(outDir)).filter((n) => AUDIO_EXT.test(n));
  if (names.length === 0) throw classifySpotdlFailure({ ...run, exitCode: run.exitCode }, opts.executable, timeoutMs);
  const file = path.join(outDir, names[0]!);
  if (maxBytes && (await stat(file)).size > maxBytes) {
    await removeOutputs(outDir);
    throw new SpotdlError('too_large', `spotdl's download is larger than ${opts.maxFileMb} MB (SFA_MAX_FILE_MB). Try a shorter track.`);
  }
  return { path: file };
}

/** Total size of the files directly in `dir` (spotdl writes there and into no subfolder we use). */
async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const e of entries) if (e.isFile()) total += (await stat(path.join(dir, e.name)).catch(() => ({ size: 0 }))).size;
  return total;
}

async function removeOutputs(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.map((name) => rm(path.join(dir, name), { recursive: true, force: true })));
}
