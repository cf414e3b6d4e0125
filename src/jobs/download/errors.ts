/**
 * Errors that may reach a user (Discord message, CLI output). `userMessage` says
 * what went wrong and what to do; `message` may carry technical detail for logs.
 * Never put secrets in either.
 */
export type DownloadErrorCode =
  | 'invalid_input'
  | 'spotify_unreachable'
  | 'spotify_not_found'
  | 'spotify_auth'
  | 'spotify_credentials_missing'
  | 'spotify_rate_limited'
  | 'spotify_bad_response'
  | 'no_match'
  | 'network'
  | 'timeout'
  | 'cancelled'
  | 'unavailable'
  | 'forbidden'
  | 'not_found'
  | 'tool_missing'
  | 'tool_failed'
  | 'too_large'
  | 'not_audio'
  | 'unsupported_audio'
  | 'unreadable'
  | 'too_long'
  | 'too_short'
  | 'invalid_audio'
  | 'storage'
  | 'model_missing'
  | 'model_download';

export class UserFacingError extends Error {
  readonly code: DownloadErrorCode;
  readonly userMessage: string;
  /** True when trying again later may help (network blips, rate limits, timeouts). */
  readonly retryable: boolean;

  constructor(
    code: DownloadErrorCode,
    userMessage: string,
    opts: { detail?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(opts.detail ? `${userMessage} [${opts.detail}]` : userMessage, { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.userMessage = userMessage;
    this.retryable = opts.retryable ?? false;
  }
}

export class SpotifyError extends UserFacingError {}
export class YtDlpError extends UserFacingError {}
export class SpotdlError extends UserFacingError {}
export class DirectUrlError extends UserFacingError {}
export class LibraryError extends UserFacingError {}
export class AudioValidationError extends UserFacingError {}
export class StorageError extends UserFacingError {}
/** Every source failed or none applied; `attempts` lists why, in order. */
export class ResolveAudioError extends UserFacingError {
  attempts: { source: string; error: UserFacingError }[] = [];
}

export function isUserFacingError(err: unknown): err is UserFacingError {
  return err instanceof UserFacingError;
}

export function cancelledError(what: string): UserFacingError {
  return new UserFacingError('cancelled', `${what} was cancelled.`);
}

/** m:ss (or h:mm:ss) for user messages. */
export function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Node/undici network error codes, found on err, err.cause, or deeper. */
export function networkErrorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

const NETWORK_CODE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found (no internet or DNS?)',
  EAI_AGAIN: 'DNS lookup failed (no internet?)',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_SOCKET: 'connection dropped',
};

/** Short human description of a fetch failure (timeout, refused, DNS ...). */
export function describeFetchFailure(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const code = networkErrorCode(err);
  if (code) return NETWORK_CODE_TEXT[code] ?? code;
  return err instanceof Error ? err.message : String(err);
}
