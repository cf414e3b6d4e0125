/**
 * Why a model download failed, worded for the person who has to fix it: what
 * happened, where, and what to do next. Each carries a `reason` so callers
 * (the CLI's exit code, the worker) can tell them apart.
 */
import { UserFacingError } from '../download/errors.ts';

export type ModelDownloadReason =
  | 'offline'
  | 'timeout'
  | 'not_found'
  | 'forbidden'
  | 'http'
  | 'html'
  | 'checksum'
  | 'disk_full'
  | 'unwritable'
  | 'bad_list'
  | 'cancelled';

export class ModelDownloadError extends UserFacingError {
  readonly reason: ModelDownloadReason;
  constructor(reason: ModelDownloadReason, message: string, cause?: unknown) {
    super('model_download', message, { cause, retryable: reason === 'offline' || reason === 'timeout' });
    this.reason = reason;
  }
}

/** Network failures before any answer: which ones mean "this machine cannot reach the server". */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** The error code inside a fetch failure (undici wraps it in `cause`). */
export function networkCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isUnreachable(error: unknown): boolean {
  const code = networkCode(error);
  return code !== undefined && UNREACHABLE.has(code);
}

/** A file-system error while writing into the model folder, as a ModelDownloadError (or undefined if it is none of ours). */
export function storageProblem(error: unknown, dir: string): ModelDownloadError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ModelDownloadError('disk_full', `the disk holding ${dir} is full (${code}). Free some space there, or download into another folder with --dir (or SFA_MODEL_DIR), then run the command again: the download resumes where it stopped.`, error);
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
    const why = { EACCES: 'permission denied', EPERM: 'not permitted', EROFS: 'read-only file system', ENOTDIR: 'a part of that path is a file, not a folder', EEXIST: 'a file is in the way', EISDIR: 'a folder is in the way' }[code];
    return new ModelDownloadError('unwritable', `cannot write model files into ${dir} (${why}). Choose a folder you can write to with --dir or SFA_MODEL_DIR.`, error);
  }
  return undefined;
}
