/**
 * Status/progress writes of the pipeline: transitionJob / setProgress (the only
 * writers) followed by a NOTIFY in the same transaction, and a throttled
 * progress reporter for the workers.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { setProgress, transitionJob, type JobEntity, type JobKind, type JobPatch } from '../../db/jobStatusWrites.ts';
import type { JobStatus } from '../../domain/jobStatus.ts';
import type { ModelFetchProgress } from '../../domain/modelFiles.ts';
import { announce, type ProgressEvent } from './progressEvents.ts';

/** transitionJob + announce. Throws what transitionJob throws (nothing written, nothing announced). */
export async function moveJob<K extends JobKind>(
  em: EntityManager,
  kind: K,
  id: string,
  trackId: string,
  to: JobStatus,
  patch: JobPatch<K> = {} as JobPatch<K>,
): Promise<JobEntity<K>> {
  const row = await transitionJob(em, kind, id, to, patch);
  await announce(em, { kind, jobId: id, trackId, status: row.status, progress: row.progress, error: row.error ?? null });
  return row;
}

/** setProgress + announce when the row changed. */
export async function writeProgress(em: EntityManager, kind: JobKind, id: string, trackId: string, status: JobStatus, progress: number) {
  const wrote = await setProgress(em, kind, id, progress);
  if (wrote) await announce(em, { kind, jobId: id, trackId, status, progress });
  return wrote;
}

/** A running separation's model fetch (null: done); see writeRunningSeparation. */
export function writeModelFetch(em: EntityManager, id: string, trackId: string, fetch: ModelFetchProgress | null): Promise<boolean> {
  return writeRunningSeparation(em, id, trackId, 'model_fetch', fetch === null ? null : JSON.stringify(fetch), { fetch });
}

/** A running separation's slow step (null: over), e.g. "preparing model for this CPU"; see writeRunningSeparation. */
export function writeStageNote(em: EntityManager, id: string, trackId: string, note: string | null): Promise<boolean> {
  return writeRunningSeparation(em, id, trackId, 'stage_note', note, note ? { note } : {});
}

/**
 * One column of what a separation is doing besides its percentage, written only
 * while the row is active, then announced with the row's current progress (and
 * the new value, so followers need not read the row).
 */
async function writeRunningSeparation(
  em: EntityManager,
  id: string,
  trackId: string,
  column: 'model_fetch' | 'stage_note',
  value: string | null,
  news: Pick<ProgressEvent, 'fetch' | 'note'>,
): Promise<boolean> {
  const rows = await em.execute<{ progress: number }[]>(
    `update processing_jobs set ${column} = ?, updated_at = now() where id = ? and status = 'processing' returning progress`,
    [value, id],
  );
  if (rows.length === 0) return false;
  await announce(em, { kind: 'processing', jobId: id, trackId, status: 'processing', progress: Number(rows[0]!.progress), ...news });
  return true;
}

export interface ThrottleOptions {
  /** Write at least this long after the previous write ... */
  minIntervalMs?: number;
  /** ... or when progress rose by at least this many points. */
  minStep?: number;
}

/**
 * Turns a stream of progress callbacks (many per second from yt-dlp or Demucs)
 * into few writes: one when ≥ minIntervalMs passed or progress rose ≥ minStep
 * since the last write. Writes run one at a time, in order; a failed write is
 * reported to onError and does not stop later ones (progress is best-effort).
 */
export class ThrottledProgress {
  private readonly write: (progress: number) => Promise<unknown>;
  private readonly onError: (error: unknown) => void;
  private readonly now: () => number;
  private lastValue = -1;
  private lastAt = Number.NEGATIVE_INFINITY;
  private chain: Promise<void> = Promise.resolve();
  private readonly minIntervalMs: number;
  private readonly minStep: number;

  constructor(
    write: (progress: number) => Promise<unknown>,
    options: ThrottleOptions = {},
    onError: (error: unknown) => void = () => undefined,
    now: () => number = Date.now,
  ) {
    this.write = write;
    this.onError = onError;
    this.now = now;
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.minStep = options.minStep ?? 2;
  }

  report = (percent: number): void => {
    const value = Math.max(0, Math.min(100, Math.floor(percent)));
    if (!Number.isFinite(value) || value <= this.lastValue) return;
    const t = this.now();
    if (value - this.lastValue < this.minStep && t - this.lastAt < this.minIntervalMs) return;
    this.lastValue = value;
    this.lastAt = t;
    this.chain = this.chain.then(() => this.write(value)).then(
      () => undefined,
      (error: unknown) => this.onError(error),
    );
  };

  /** Waits for writes already started (call before the final status change). */
  flush(): Promise<void> {
    return this.chain;
  }
}
