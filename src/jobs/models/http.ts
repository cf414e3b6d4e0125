/**
 * GET for model files with a bounded wait: the headers and every chunk of the
 * body must arrive within `idleTimeoutMs`, so a server that stops answering
 * fails with a clear message instead of hanging. Answers that cannot be a
 * model file (404, 403, an HTML page) become ModelDownloadErrors.
 */
import { ModelDownloadError, isUnreachable, networkCode } from './errors.ts';

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface GetOptions {
  /** Resume: ask for the bytes from this offset on (Range). */
  from?: number;
  idleTimeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Appended to every error: what to do next (e.g. the files to copy by hand). */
  hint?: string;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The body's chunks; each wait is bounded by the idle timeout. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Stops the transfer (the body is not read any further). */
  cancel(): void;
}

const host = (url: string) => new URL(url).host;
const fileOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() ?? url);

/** The error for a network failure or timeout of `url` (used for the headers and the body alike). */
export function transferError(error: unknown, url: string, timedOut: boolean, cancelled: boolean, idleMs: number, hint = ''): ModelDownloadError {
  const next = hint ? `\n${hint}` : '';
  if (cancelled) return new ModelDownloadError('cancelled', `download of ${fileOf(url)} cancelled`, error);
  if (timedOut) {
    return new ModelDownloadError('timeout', `${host(url)} stopped answering while sending ${fileOf(url)} (nothing for ${Math.round(idleMs / 1000)} s). Try again later (the download resumes), or use a mirror with SFA_MODEL_BASE_URL.${next}`, error);
  }
  if (isUnreachable(error)) {
    return new ModelDownloadError('offline', `cannot reach ${host(url)} (${networkCode(error)}): is this machine offline? Connect it and run the command again, or use a mirror with SFA_MODEL_BASE_URL.${next}`, error);
  }
  return new ModelDownloadError('offline', `fetching ${url} failed (${networkCode(error) ?? (error as Error).message}). Run the command again (the download resumes).${next}`, error);
}

export async function get(url: string, options: GetOptions = {}): Promise<Answer> {
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('idle timeout'));
    }, idleMs);
  };
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) throw transferError(options.signal.reason, url, false, true, idleMs);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const done = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  };
  const fail = (error: unknown) => transferError(error, url, timedOut, options.signal?.aborted === true, idleMs, options.hint);

  let response: Response;
  arm();
  try {
    response = await fetch(url, {
      signal: controller.signal,
      headers: { ...(options.from ? { range: `bytes=${options.from}-` } : {}), 'accept-encoding': 'identity', 'user-agent': 'sfa-models' },
      redirect: 'follow',
    });
  } catch (error) {
    done();
    throw fail(error);
  }
  const refuse = (error: ModelDownloadError) => {
    done();
    controller.abort();
    return error;
  };
  const next = options.hint ? `\n${options.hint}` : '';
  if (response.status === 404) {
    throw refuse(new ModelDownloadError('not_found', `${host(url)} has no ${fileOf(url)} (404 Not Found at ${url}). Check SFA_MODEL_BASE_URL (a mirror must use demucs' layout, or serve its own files.txt).${next}`));
  }
  if (response.status === 403 || response.status === 401) {
    throw refuse(new ModelDownloadError('forbidden', `${host(url)} refused ${fileOf(url)} (${response.status} ${response.statusText || 'Forbidden'} at ${url}): a proxy or the mirror does not let this machine download it.${next}`));
  }
  if (response.status !== 200 && response.status !== 206 && response.status !== 416) {
    throw refuse(new ModelDownloadError('http', `${host(url)} answered ${response.status} ${response.statusText} for ${url}. Try again later, or use a mirror with SFA_MODEL_BASE_URL.${next}`));
  }
  if (/text\/html/i.test(response.headers.get('content-type') ?? '')) {
    throw refuse(new ModelDownloadError('html', `${host(url)} sent a web page instead of ${fileOf(url)} (a proxy or Wi-Fi login page, or a wrong SFA_MODEL_BASE_URL?).${next}`));
  }
  const body = response.body;
  return {
    status: response.status,
    headers: response.headers,
    async *chunks() {
      if (!body) return done();
      const reader = body.getReader();
      try {
        for (;;) {
          arm();
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await reader.read();
          } catch (error) {
            throw fail(error);
          }
          if (step.done) return;
          yield step.value;
        }
      } finally {
        done();
        reader.releaseLock();
      }
    },
    cancel() {
      done();
      controller.abort();
    },
  };
}

/** A whole small text file (files.txt); undefined on 404. */
export async function getText(url: string, options: GetOptions = {}): Promise<string | undefined> {
  let answer: Answer;
  try {
    answer = await get(url, options);
  } catch (error) {
    if (error instanceof ModelDownloadError && error.reason === 'not_found') return undefined;
    throw error;
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of answer.chunks()) {
    size += chunk.length;
    if (size > 1_000_000) {
      answer.cancel();
      throw new ModelDownloadError('bad_list', `${url} is larger than 1 MB: not a demucs files.txt`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}
