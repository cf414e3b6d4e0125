/**
 * Riding out a database restart or a deadlock in a worker's few essential
 * writes (claim, completion, failure). A worker whose separation finished
 * while PostgreSQL was restarting should record it once the server is back,
 * not lose the work. Each retried write is one transaction guarded by the
 * status machine, so running it again is safe.
 */
import type { Logger } from '../../log.ts';

/** Connection lost/refused (node), admin shutdown / cannot connect now (57P0x), connection exceptions (08xxx). */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03']);
/** Deadlock, serialization failure: the transaction was rolled back and can simply run again. */
const RETRY_CODES = new Set(['40P01', '40001']);
const CONNECTION_MESSAGES =
  /connection terminated|connection error|terminating connection|client was closed|client has encountered a connection error|the database system is (starting up|shutting down|in recovery mode)|ECONNREFUSED|ECONNRESET/i;

/** Is this error worth retrying the same transaction for? */
export function isTransientDbError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || RETRY_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientDbError(inner, depth + 1))) return true; // AggregateError
  return isTransientDbError(e.cause, depth + 1);
}

export interface RetryOptions {
  /** Give up (rethrow) once this long has passed since the first attempt. */
  forMs: number;
  /** Told once, at the first retry; without it the retries are quiet. */
  log?: Pick<Logger, 'warn'>;
  /** First pause; doubles up to 2 s (0: no pause). */
  initialDelayMs?: number;
  /** Which errors are retried; default isTransientDbError. */
  retryIf?: (error: unknown) => boolean;
  /** Give up (rethrow) after this many attempts as well; default no limit. */
  maxAttempts?: number;
}

export async function retryTransient<T>(what: string, run: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.forMs;
  const retryIf = options.retryIf ?? isTransientDbError;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  let delay = options.initialDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!retryIf(error) || attempt >= maxAttempts || Date.now() + delay > deadline) throw error;
      if (attempt === 1) options.log?.warn(`${what}: ${(error as Error).message}; retrying for up to ${Math.round(options.forMs / 1000)} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(2_000, delay * 2);
    }
  }
}
