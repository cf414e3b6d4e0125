import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DirectUrlError, UserFacingError, cancelledError, describeFetchFailure } from './errors.ts';
import { validateAudio, type AudioInfo, type ValidateAudioOptions } from './validateAudio.ts';

export interface DirectUrlOptions {
  /** Size cap in MB (SFA_MAX_FILE_MB). */
  maxFileMb: number;
  /** Time allowed until the server answers with headers (default 15 s). */
  connectTimeoutMs?: number;
  /** Time allowed for the whole transfer (default 10 min). */
  timeoutMs?: number;
  /** Allow localhost / private-network hosts. Off by default: a chat user must
   *  not be able to make the bot fetch internal services. Tests and the CLI turn it on. */
  allowPrivateHosts?: boolean;
  onProgress?: (percent: number) => void;
  fetchImpl?: typeof fetch;
  signal?: AbortSignal;
  validate?: ValidateAudioOptions;
}

export interface DirectUrlDownload {
  path: string;
  bytes: number;
  contentType: string | null;
  /** A display name from the URL (never used for storage paths). */
  displayName: string;
  audio: AudioInfo;
}

const AUDIO_EXTS = ['mp3', 'flac', 'wav', 'ogg', 'oga', 'opus', 'm4a', 'aac', 'webm', 'aiff', 'aif', 'wma', 'mka'];
const MIME_EXT: Record<string, string> = {
  'audio/mpeg': 'mp3', 'audio/mp3': 'mp3', 'audio/flac': 'flac', 'audio/x-flac': 'flac', 'audio/wav': 'wav',
  'audio/x-wav': 'wav', 'audio/wave': 'wav', 'audio/ogg': 'ogg', 'audio/opus': 'opus', 'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a', 'audio/aac': 'aac', 'audio/webm': 'webm', 'audio/aiff': 'aiff', 'audio/x-aiff': 'aiff',
};

export function parseDirectUrl(raw: string, allowPrivateHosts = false): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DirectUrlError('invalid_input', 'That is not a valid link. Send a Spotify track link or a direct http(s) link to an audio file.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DirectUrlError('invalid_input', 'Only http(s) links can be downloaded. Send a Spotify track link or a direct link to an audio file.');
  }
  if (!allowPrivateHosts && isPrivateHost(url.hostname)) {
    throw new DirectUrlError('invalid_input', 'Links to local or private-network addresses are not allowed. Use a public link, or attach the file.');
  }
  return url;
}

/** Literal loopback/private/link-local addresses and localhost. (DNS names that resolve privately are not caught.) */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  if (isIP(h) === 6) return h === '::1' || h === '::' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80') || h.startsWith('::ffff:');
  return false;
}

function extensionFor(url: URL, contentType: string | null): string {
  const fromPath = path.extname(url.pathname).slice(1).toLowerCase();
  if (AUDIO_EXTS.includes(fromPath)) return fromPath;
  return (contentType && MIME_EXT[contentType]) ?? 'bin';
}

/**
 * Stream an audio URL into `outDir/source.<ext>`, enforcing the size cap while
 * streaming (Content-Length can lie or be absent), then prove it is audio with ffprobe.
 */
export async function downloadDirectUrl(rawUrl: string, outDir: string, opts: DirectUrlOptions): Promise<DirectUrlDownload> {
  const url = parseDirectUrl(rawUrl, opts.allowPrivateHosts);
  const maxBytes = Math.floor(opts.maxFileMb * 1024 * 1024);
  const fetchImpl = opts.fetchImpl ?? fetch;
  const host = url.host;

  // One controller for the whole transfer; the connect timer is cleared once headers arrive.
  const controller = new AbortController();
  let why: 'connect' | 'total' | undefined;
  const connectTimer = setTimeout(() => { why = 'connect'; controller.abort(); }, opts.connectTimeoutMs ?? 15_000);
  const totalTimer = setTimeout(() => { why = 'total'; controller.abort(); }, opts.timeoutMs ?? 10 * 60_000);
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const fail = (err: unknown): UserFacingError => {
    if (err instanceof UserFacingError) return err;
    if (opts.signal?.aborted) return cancelledError('The download');
    if (why === 'connect') return new DirectUrlError('timeout', `${host} did not answer within ${Math.round((opts.connectTimeoutMs ?? 15_000) / 1000)} s. Check the link or try again later.`, { retryable: true });
    if (why === 'total') return new DirectUrlError('timeout', `Downloading from ${host} took too long and was stopped. Try a smaller file or a faster host.`, { retryable: true });
    return new DirectUrlError('network', `Could not download from ${host}: ${describeFetchFailure(err)}. Check the link and the server's internet connection.`, { retryable: true, cause: err });
  };

  const ext0 = path.extname(url.pathname).slice(1).toLowerCase();
  let target = path.join(outDir, `source.${AUDIO_EXTS.includes(ext0) ? ext0 : 'bin'}`);
  try {
    let res: Response;
    try {
      res = await fetchFollowingSafeRedirects(fetchImpl, url, controller.signal, opts.allowPrivateHosts ?? false);
    } finally {
      clearTimeout(connectTimer);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const hint = res.status === 404 ? 'the file does not exist' : res.status === 403 || res.status === 401 ? 'access is denied' : 'the server reported an error';
      throw new DirectUrlError(res.status === 404 ? 'not_found' : 'network', `${host} answered HTTP ${res.status} (${hint}). Check the link.`, { retryable: res.status >= 500 });
    }
    const contentType = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? null;
    if (contentType && /^(text\/html|application\/xhtml\+xml|text\/plain|application\/json)$/.test(contentType)) {
      await res.body?.cancel();
      throw new DirectUrlError('not_audio', `That link is a web page (${contentType}), not an audio file. Use a direct link to the file itself (e.g. ending in .mp3 or .flac), a Spotify track link, or attach the file.`);
    }
    const length = Number(res.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    if (total !== undefined && total > maxBytes) {
      await res.body?.cancel();
      throw tooLarge(total, opts.maxFileMb);
    }
    if (!res.body) throw new DirectUrlError('not_audio', `${host} sent an empty answer. Check the link.`);
    target = path.join(outDir, `source.${extensionFor(url, contentType)}`);

    let bytes = 0;
    let lastPercent = -1;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > maxBytes) return cb(tooLarge(bytes, opts.maxFileMb));
        if (total && opts.onProgress) {
          const p = Math.min(100, Math.floor((bytes / total) * 100));
          if (p > lastPercent) {
            lastPercent = p;
            opts.onProgress(p);
          }
        }
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), meter, createWriteStream(target));
    if (lastPercent < 100) opts.onProgress?.(100);

    let audio: AudioInfo;
    try {
      audio = await validateAudio(target, { ...opts.validate, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if (err instanceof UserFacingError && err.code === 'not_audio') {
        throw new DirectUrlError('not_audio', `The file at ${host} is not audio we can read${contentType ? ` (${contentType})` : ''}. Use a direct link to an audio file.`, { detail: err.message });
      }
      throw err;
    }
    return { path: target, bytes, contentType, displayName: displayNameOf(url), audio };
  } catch (err) {
    await rm(target, { force: true });
    throw fail(err);
  } finally {
    clearTimeout(connectTimer);
    clearTimeout(totalTimer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Follow up to 5 redirects by hand so a public link cannot bounce us to a private address. */
async function fetchFollowingSafeRedirects(fetchImpl: typeof fetch, start: URL, signal: AbortSignal, allowPrivate: boolean): Promise<Response> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const res = await fetchImpl(url, { signal, redirect: 'manual', headers: { accept: 'audio/*, application/octet-stream;q=0.8, */*;q=0.1' } });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return res;
    await res.body?.cancel();
    if (hop >= 5) throw new DirectUrlError('network', `${start.host} redirected too many times. Use the final link to the audio file.`);
    url = parseDirectUrl(new URL(location, url).toString(), allowPrivate);
  }
}

function tooLarge(bytes: number, capMb: number): DirectUrlError {
  return new DirectUrlError('too_large', `That file is ${(bytes / 1024 / 1024).toFixed(1)} MB or more; the limit is ${capMb} MB (SFA_MAX_FILE_MB). Use a smaller or more compressed file.`);
}

function displayNameOf(url: URL): string {
  let base = path.posix.basename(url.pathname);
  try {
    base = decodeURIComponent(base);
  } catch {
    /* keep it encoded */
  }
  base ||= url.host;
  return base.slice(0, 200);
}
