import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IpRange } from '../../domain/networkAddress.ts';
import { checkHostLiteral, pinnedFetch, privateAddressCause, type AddressPolicy, type ResolveAll } from './addressGuard.ts';
import { DirectUrlError, UserFacingError, cancelledError, describeFetchFailure } from './errors.ts';
import { validateAudio, type AudioInfo, type ValidateAudioOptions } from './validateAudio.ts';

export interface DirectUrlOptions {
  /** Size cap in MB (SFA_MAX_FILE_MB). */
  maxFileMb: number;
  /** Time allowed until the server answers with headers (default 15 s). */
  connectTimeoutMs?: number;
  /** Time allowed for the whole transfer (default 10 min). */
  timeoutMs?: number;
  /** Longest pause between two pieces of the body (default 60 s). */
  idleTimeoutMs?: number;
  /**
   * Allow localhost / private-network addresses. Off by default: a chat user must not be able to make
   * the bot fetch internal services. Comes with the work (a CLI user's request), never from the process.
   */
  allowPrivateHosts?: boolean;
  /** Private ranges the admin opened for everyone (SFA_ALLOWED_PRIVATE_ADDRESSES). */
  allowedRanges?: readonly IpRange[];
  /** Name resolution for the guard (default the system resolver; tests inject names). */
  resolve?: ResolveAll;
  /** When set, every URL of the chain (the first and each redirect) must pass it, or the download is refused with `refusedMessage`. */
  onlyUrls?: (url: URL) => boolean;
  refusedMessage?: string;
  onProgress?: (percent: number) => void;
  /** A fetch to use instead of the guarded one (tests): names are then not resolved nor pinned by the guard. */
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

export function parseDirectUrl(raw: string, policy: AddressPolicy = { allowPrivate: false }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DirectUrlError('invalid_input', 'That is not a valid link. Send a Spotify track link or a direct http(s) link to an audio file.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DirectUrlError('invalid_input', 'Only http(s) links can be downloaded. Send a Spotify track link or a direct link to an audio file.');
  }
  if (url.username || url.password) {
    throw new DirectUrlError('invalid_input', 'Links with a user name or password in them are not accepted. Use a plain public link to the audio file.');
  }
  checkHostLiteral(url, policy);
  return url;
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
  const policy: AddressPolicy = { allowPrivate: opts.allowPrivateHosts ?? false, allowedRanges: opts.allowedRanges, resolve: opts.resolve };
  const refuse = () => new DirectUrlError('invalid_input', opts.refusedMessage ?? 'That link is not allowed.');
  const url = parseDirectUrl(rawUrl, policy);
  if (opts.onlyUrls && !opts.onlyUrls(url)) throw refuse();
  const maxBytes = Math.floor(opts.maxFileMb * 1024 * 1024);
  const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  // The guarded dispatcher resolves and checks each host, and connects to exactly the addresses checked.
  const fetchImpl: typeof fetch = opts.fetchImpl ?? (pinnedFetch(policy) as unknown as typeof fetch);
  const host = url.host;

  // One controller for the whole transfer; the connect timer is cleared once headers arrive.
  const controller = new AbortController();
  let why: 'connect' | 'total' | 'idle' | undefined;
  const connectTimer = setTimeout(() => { why = 'connect'; controller.abort(); }, connectTimeoutMs);
  const totalTimer = setTimeout(() => { why = 'total'; controller.abort(); }, opts.timeoutMs ?? 10 * 60_000);
  let idleTimer: NodeJS.Timeout | undefined;
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const fail = (err: unknown): UserFacingError => {
    const refused = privateAddressCause(err);
    if (refused) return refused;
    if (err instanceof UserFacingError) return err;
    if (opts.signal?.aborted) return cancelledError('The download');
    if (why === 'connect') return new DirectUrlError('timeout', `${host} did not answer within ${Math.round(connectTimeoutMs / 1000)} s. Check the link or try again later.`, { retryable: true });
    if (why === 'total') return new DirectUrlError('timeout', `Downloading from ${host} took too long and was stopped. Try a smaller file or a faster host.`, { retryable: true });
    if (why === 'idle') return new DirectUrlError('timeout', `${host} stopped sending data for ${Math.round(idleTimeoutMs / 1000)} s, so the download was stopped. Try again later or use another host.`, { retryable: true });
    return new DirectUrlError('network', `Could not download from ${host}: ${describeFetchFailure(err)}. Check the link and the server's internet connection.`, { retryable: true, cause: err });
  };

  const ext0 = path.extname(url.pathname).slice(1).toLowerCase();
  let target = path.join(outDir, `source.${AUDIO_EXTS.includes(ext0) ? ext0 : 'bin'}`);
  try {
    let res: Response;
    let finalUrl: URL;
    try {
      ({ res, url: finalUrl } = await fetchFollowingSafeRedirects(fetchImpl, url, controller.signal, policy, opts.onlyUrls ? (u) => { if (!opts.onlyUrls!(u)) throw refuse(); } : undefined));
    } finally {
      clearTimeout(connectTimer);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const hint = res.status === 404 ? 'the file does not exist' : res.status === 403 || res.status === 401 ? 'access is denied' : 'the server reported an error';
      throw new DirectUrlError(res.status === 404 ? 'not_found' : 'network', `${host} answered HTTP ${res.status} (${hint}). Check the link.`, { retryable: res.status >= 500 });
    }
    // The server chooses this header: only a well-formed MIME type is kept (it is quoted in messages).
    const rawType = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
    const contentType = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/.test(rawType) ? rawType : null;
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
    target = path.join(outDir, `source.${extensionFor(finalUrl, contentType)}`);

    let bytes = 0;
    let lastPercent = -1;
    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => { why = 'idle'; controller.abort(); }, idleTimeoutMs);
    };
    armIdle();
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        armIdle();
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
    clearTimeout(idleTimer);
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
    clearTimeout(idleTimer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Follow up to 5 redirects by hand: every hop is parsed and checked again (literal addresses here, resolved
 * names in the guarded dispatcher), so a public link cannot bounce us to a private address.
 */
async function fetchFollowingSafeRedirects(
  fetchImpl: typeof fetch,
  start: URL,
  signal: AbortSignal,
  policy: AddressPolicy,
  checkHop?: (url: URL) => void,
): Promise<{ res: Response; url: URL }> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const res = await fetchImpl(url, { signal, redirect: 'manual', headers: { accept: 'audio/*, application/octet-stream;q=0.8, */*;q=0.1' } });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { res, url };
    await res.body?.cancel();
    if (hop >= 5) throw new DirectUrlError('network', `${start.host} redirected too many times. Use the final link to the audio file.`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new DirectUrlError('network', `${start.host} redirected to something that is not a link. Use the final link to the audio file.`);
    }
    checkHop?.(next); // the caller's own rule first (an attachment must stay on the CDN): its message is the specific one
    url = parseDirectUrl(next.href, policy);
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
