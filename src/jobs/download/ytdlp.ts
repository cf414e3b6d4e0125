import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { pickCandidate, type Candidate } from '../../domain/pickCandidate.ts';
import { YtDlpError, cancelledError, formatDuration } from './errors.ts';
import { runTool, type ToolRun } from './runTool.ts';

export const DEFAULT_YTDLP_PATH = 'python/.venv/bin/yt-dlp';

export interface YtDlpOptions {
  /** yt-dlp executable (default python/.venv/bin/yt-dlp, relative to the cwd). */
  executable?: string;
  /** Per-connection timeout passed as --socket-timeout (default 15 s). */
  socketTimeoutSeconds?: number;
  /** Wall-clock limit for the whole yt-dlp run (search default 60 s, download 10 min). */
  timeoutMs?: number;
  /** Passed as --proxy; also how tests make the network deterministically absent. */
  proxy?: string;
  /** Extra arguments (e.g. ['--cookies', file]) inserted before ours. */
  extraArgs?: readonly string[];
  /** Size cap in MB (SFA_MAX_FILE_MB), passed as --max-filesize: yt-dlp stops a larger download. */
  maxFileMb?: number;
  signal?: AbortSignal;
}

export interface YouTubeCandidate extends Candidate {
  channel: string | null;
}

export interface YtDlpDownload {
  path: string;
  title: string;
  url: string;
}

const SEARCH_RESULTS = 5;

// ---------------------------------------------------------------- arguments

function commonArgs(opts: YtDlpOptions): string[] {
  const args = [...(opts.extraArgs ?? [])];
  args.push('--socket-timeout', String(opts.socketTimeoutSeconds ?? 15));
  // Few retries: a dead network should fail in seconds, not minutes.
  args.push('--extractor-retries', '1', '--retries', '2', '--fragment-retries', '2', '--no-color');
  if (opts.proxy) args.push('--proxy', opts.proxy);
  return args;
}

export function searchQuery(track: { artist: string | null; title: string }): string {
  return track.artist ? `${track.artist} - ${track.title}` : track.title;
}

export function buildSearchArgs(query: string, opts: YtDlpOptions = {}): string[] {
  // The query sits inside the `ytsearchN:` pseudo-URL, so it can never be read as an option.
  return [...commonArgs(opts), '-J', '--flat-playlist', '--no-warnings', `ytsearch${SEARCH_RESULTS}:${query}`];
}

const PROGRESS_PREFIX = 'sfa-progress ';
const RESULT_PREFIX = 'sfa-result ';

export function buildDownloadArgs(url: string, outDir: string, opts: YtDlpOptions = {}): string[] {
  return [
    ...commonArgs(opts),
    '-f', 'bestaudio/best',
    '--no-playlist',
    '--newline',
    '--progress',
    '--progress-template', `download:${PROGRESS_PREFIX}%(progress.downloaded_bytes)s %(progress.total_bytes)s %(progress.total_bytes_estimate)s`,
    '--print', `after_move:${RESULT_PREFIX}%(.{filepath,title,webpage_url})j`,
    // -P is a plain path (not a template), so a '%' in the temp dir is harmless.
    '-P', outDir,
    '-o', 'source.%(ext)s',
    '--no-mtime',
    ...(opts.maxFileMb ? ['--max-filesize', `${Math.floor(opts.maxFileMb * 1024 * 1024)}`] : []),
    '--',
    url,
  ];
}

// ---------------------------------------------------------------- parsing

/** Percent 0..100 from one of our progress lines, or null for any other line. */
export function parseProgressLine(line: string): number | null {
  if (!line.startsWith(PROGRESS_PREFIX)) return null;
  const [done, total, estimate] = line.slice(PROGRESS_PREFIX.length).trim().split(/\s+/).map(Number);
  const whole = total && Number.isFinite(total) && total > 0 ? total : estimate;
  if (done === undefined || !Number.isFinite(done) || !whole || !Number.isFinite(whole) || whole <= 0) return null;
  return Math.max(0, Math.min(100, (done / whole) * 100));
}

const SearchJson = z.object({
  entries: z
    .array(
      z
        .object({
          id: z.string(),
          title: z.string().nullish(),
          url: z.string().nullish(),
          duration: z.number().nullish(),
          channel: z.string().nullish(),
          uploader: z.string().nullish(),
        })
        .nullable(),
    )
    .default([]),
});

export function parseSearchOutput(stdout: string): YouTubeCandidate[] {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new YtDlpError('tool_failed', 'The YouTube search returned something we could not read. Update yt-dlp and try again.', { detail: stdout.slice(0, 200) });
  }
  const parsed = SearchJson.safeParse(json);
  if (!parsed.success) {
    throw new YtDlpError('tool_failed', 'The YouTube search returned something we could not read. Update yt-dlp and try again.', { detail: parsed.error.message });
  }
  return parsed.data.entries.flatMap((e) =>
    e
      ? [{
          id: e.id,
          title: e.title ?? e.id,
          url: e.url ?? `https://www.youtube.com/watch?v=${e.id}`,
          durationSeconds: e.duration ?? null,
          channel: e.channel ?? e.uploader ?? null,
        }]
      : [],
  );
}

/** Last `ERROR:` line of yt-dlp's stderr (what it thinks went wrong). */
function lastErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).filter((l) => l.trim());
  const err = [...lines].reverse().find((l) => l.startsWith('ERROR:'));
  return (err ?? lines.at(-1) ?? '').slice(0, 300);
}

/** Turns a failed yt-dlp run into a typed error with a message a user can act on. */
export function classifyYtDlpFailure(run: ToolRun, ctx: { executable: string; site: string; timeoutMs: number }): YtDlpError {
  if (run.spawnErrorCode) {
    return new YtDlpError('tool_missing', `yt-dlp is not installed where the bot expects it (${ctx.executable}). Run \`npm run setup\`, or set the yt-dlp path in the configuration.`, { detail: run.spawnErrorCode });
  }
  if (run.timedOut) {
    return new YtDlpError('timeout', `Downloading from ${ctx.site} took longer than ${Math.round(ctx.timeoutMs / 1000)} s and was stopped. Try again later.`, { retryable: true });
  }
  const stderr = run.stderr;
  const detail = lastErrorLine(stderr);
  if (/Video unavailable|This video is unavailable|Private video|video has been removed|account associated with this video has been terminated|not available in your country/i.test(stderr)) {
    return new YtDlpError('unavailable', `That video on ${ctx.site} is unavailable (removed, private or blocked in this region). Try another link, or put the song in your library folder.`, { detail });
  }
  if (/Sign in to confirm|confirm you.re not a bot/i.test(stderr)) {
    return new YtDlpError('forbidden', `${ctx.site} is asking the bot to sign in ("confirm you're not a bot"). Give yt-dlp cookies (extra args --cookies FILE) or try again later.`, { detail, retryable: true });
  }
  if (/HTTP Error 403|403: Forbidden/i.test(stderr)) {
    return new YtDlpError('forbidden', `${ctx.site} refused the download (HTTP 403). This usually means yt-dlp is out of date: run \`python/.venv/bin/pip install -U yt-dlp\` and try again.`, { detail, retryable: true });
  }
  if (/Failed to resolve|Name or service not known|Temporary failure in name resolution|Connection refused|Network is unreachable|No route to host|Unable to connect to proxy|timed out|Connection reset|getaddrinfo failed|Errno -\d+|Errno 1(01|10|11|13)/i.test(stderr)) {
    return new YtDlpError('network', `Could not reach ${ctx.site}: the server looks offline or the site is blocked. Check the internet connection and try again.`, { detail, retryable: true });
  }
  if (/HTTP Error 404/i.test(stderr)) {
    return new YtDlpError('not_found', `${ctx.site} says that media does not exist (HTTP 404). Check the link.`, { detail });
  }
  if (/Requested format is not available/i.test(stderr)) {
    return new YtDlpError('unavailable', `${ctx.site} offers no downloadable audio for that video. Try another link.`, { detail });
  }
  if (/Unsupported URL/i.test(stderr)) {
    return new YtDlpError('invalid_input', 'That link is not something yt-dlp can download. Use a Spotify track link or a direct link to an audio file.', { detail });
  }
  return new YtDlpError('tool_failed', `yt-dlp failed${detail ? `: ${detail.replace(/^ERROR:\s*/, '')}` : ` (exit code ${run.exitCode})`}. Updating yt-dlp often fixes this.`, { detail, retryable: true });
}

// ---------------------------------------------------------------- running

function executableOf(opts: YtDlpOptions): string {
  return opts.executable ?? DEFAULT_YTDLP_PATH;
}

function siteOf(url: string): string {
  try {
    const host = new URL(url).hostname.replace(/^www\./, '');
    return /(^|\.)youtube\.com$|^youtu\.be$/.test(host) ? 'YouTube' : host;
  } catch {
    return 'the site';
  }
}

export async function searchYouTube(query: string, opts: YtDlpOptions = {}): Promise<YouTubeCandidate[]> {
  const executable = executableOf(opts);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const run = await runTool(executable, buildSearchArgs(query, opts), { timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (run.cancelled) throw cancelledError('The YouTube search');
  if (run.exitCode !== 0) throw classifyYtDlpFailure(run, { executable, site: 'YouTube', timeoutMs });
  return parseSearchOutput(run.stdout);
}

export async function downloadWithYtDlp(
  url: string,
  outDir: string,
  opts: YtDlpOptions & { onProgress?: (percent: number) => void } = {},
): Promise<YtDlpDownload> {
  const executable = executableOf(opts);
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  let lastPercent = -1;
  let result: { filepath?: string; title?: string; webpage_url?: string } | undefined;
  const run = await runTool(executable, buildDownloadArgs(url, outDir, opts), {
    timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStdoutLine: (line) => {
      if (line.startsWith(RESULT_PREFIX)) {
        try {
          result = JSON.parse(line.slice(RESULT_PREFIX.length)) as typeof result;
        } catch {
          /* fall back to scanning outDir */
        }
        return;
      }
      const p = parseProgressLine(line);
      // Report whole percents, never backwards (yt-dlp repeats the final line).
      if (p !== null && Math.floor(p) > lastPercent) {
        lastPercent = Math.floor(p);
        opts.onProgress?.(lastPercent);
      }
    },
  });
  if (run.cancelled) throw cancelledError('The download');
  // yt-dlp skips a file over --max-filesize and may still exit 0.
  if (opts.maxFileMb && /larger than max-filesize/i.test(`${run.stdout}\n${run.stderr}`)) {
    throw new YtDlpError('too_large', `That audio on ${siteOf(url)} is larger than ${opts.maxFileMb} MB (SFA_MAX_FILE_MB), so it was not downloaded. Try a shorter track.`);
  }
  if (run.exitCode !== 0) throw classifyYtDlpFailure(run, { executable, site: siteOf(url), timeoutMs });
  const file = result?.filepath ?? (await findSourceFile(outDir));
  if (!file) {
    throw new YtDlpError('tool_failed', 'yt-dlp finished but produced no audio file. Update yt-dlp and try again.', { detail: run.stdout.slice(-300) });
  }
  if (lastPercent < 100) opts.onProgress?.(100);
  return { path: file, title: result?.title ?? path.basename(file), url: result?.webpage_url ?? url };
}

async function findSourceFile(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const hit = names.find((n) => n.startsWith('source.') && !/\.(part|ytdl|temp)$/.test(n));
  return hit ? path.join(dir, hit) : undefined;
}

/**
 * Search YouTube for the track and download the result whose length is closest
 * to Spotify's (within 10 s). Without a known length the first result is used.
 */
export async function findAndDownloadFromYouTube(
  track: { artist: string | null; title: string; durationSeconds: number | null },
  outDir: string,
  opts: YtDlpOptions & {
    onProgress?: (percent: number) => void;
    toleranceSeconds?: number;
    maxDurationSeconds?: number;
    searchTimeoutMs?: number;
  } = {},
): Promise<YtDlpDownload & { candidate: YouTubeCandidate }> {
  const query = searchQuery(track);
  const candidates = await searchYouTube(query, { ...opts, timeoutMs: opts.searchTimeoutMs ?? 60_000 });
  const picked = pickCandidate(candidates, track.durationSeconds, {
    toleranceSeconds: opts.toleranceSeconds ?? 10,
    ...(opts.maxDurationSeconds !== undefined ? { maxSeconds: opts.maxDurationSeconds } : {}),
  });
  if (!picked.ok) {
    const tol = opts.toleranceSeconds ?? 10;
    if (picked.reason === 'no_results') {
      throw new YtDlpError('no_match', `YouTube found nothing for "${query}". Try a direct audio link, or put the song in your library folder.`);
    }
    if (picked.reason === 'none_within_tolerance') {
      throw new YtDlpError('no_match', `No YouTube result within ${tol} s of the track's length (${formatDuration(track.durationSeconds ?? 0)}); closest was ${formatDuration(picked.closest.durationSeconds ?? 0)}. Try a direct audio link, or put the song in your library folder.`);
    }
    throw new YtDlpError('no_match', `None of the YouTube results for "${query}" has a usable length. Try a direct audio link, or put the song in your library folder.`);
  }
  const download = await downloadWithYtDlp(picked.candidate.url, outDir, opts);
  return { ...download, title: picked.candidate.title, candidate: picked.candidate };
}
