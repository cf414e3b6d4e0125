/**
 * The only place that writes a job's status or progress.
 *
 * A transition is one conditional UPDATE (`... WHERE id = ? AND status IN
 * (allowed sources)`), so the state-machine check and the write are atomic:
 * of two workers racing to finish the same job exactly one wins, and a
 * refused transition writes nothing. The guard itself is the pure one in
 * src/domain/jobStatus.ts; a trigger in the database backs it up for writers
 * that bypass this module.
 */
import type { EntityManager, EntityName } from '@mikro-orm/postgresql';
import {
  InvalidTransitionError,
  JOB_STATUSES,
  allowedSources,
  canTransition,
  isJobStatus,
  isTerminal,
  type JobStatus,
} from '../domain/jobStatus.ts';
import { STAGE_FACTS, STAGES, type Stage } from '../domain/stages.ts';
import {
  AnalysisJob,
  DownloadJob,
  ProcessingJob,
  type IAnalysisJob,
  type IDownloadJob,
  type IProcessingJob,
} from './entities/index.ts';

/** A job row's kind is its pipeline stage (src/domain/stages.ts). */
export type JobKind = Stage;
export const JOB_KINDS: readonly JobKind[] = STAGES;

export const JOB_TABLES: Readonly<Record<JobKind, string>> = {
  download: STAGE_FACTS.download.table,
  processing: STAGE_FACTS.processing.table,
  analysis: STAGE_FACTS.analysis.table,
};

const JOB_ENTITIES = { download: DownloadJob, processing: ProcessingJob, analysis: AnalysisJob } as const;

export type JobEntity<K extends JobKind> = {
  download: IDownloadJob;
  processing: IProcessingJob;
  analysis: IAnalysisJob;
}[K];

type Json = Record<string, unknown>;

/** Fields a status change may set together with the status, per job kind. */
export type JobPatch<K extends JobKind> = {
  download: { progress?: number; error?: string | null; outputPath?: string | null; fileSize?: number | null };
  processing: { progress?: number; error?: string | null; outputPath?: string | null; options?: Json | null };
  analysis: { progress?: number; error?: string | null; results?: Json | null };
}[K];

/** Patch key -> column. Column names are interpolated into SQL, so only these are accepted. */
const PATCH_COLUMNS: Readonly<Record<JobKind, Readonly<Record<string, { column: string; json?: true }>>>> = {
  download: {
    error: { column: 'error' },
    outputPath: { column: 'output_path' },
    fileSize: { column: 'file_size' },
  },
  processing: {
    error: { column: 'error' },
    outputPath: { column: 'output_path' },
    options: { column: 'options', json: true },
  },
  analysis: {
    error: { column: 'error' },
    results: { column: 'results', json: true },
  },
};

/** Statuses in which a job is running and may report progress. */
export const ACTIVE_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => s !== 'queued' && !isTerminal(s));

export class JobNotFoundError extends Error {
  readonly kind: JobKind;
  readonly id: string;
  override readonly name = 'JobNotFoundError';
  constructor(kind: JobKind, id: string) {
    super(`${kind} job ${id} does not exist`);
    this.kind = kind;
    this.id = id;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Moves job `id` to status `to`, applying `patch` in the same UPDATE, and
 * returns the updated (managed) entity.
 *
 * - Throws InvalidTransitionError (nothing written) when the row's status does
 *   not allow `to`, and JobNotFoundError when there is no such row.
 * - `progress` never goes down (GREATEST with the stored value); reaching
 *   `completed` sets it to 100.
 * - Runs on `em`'s connection, inside its transaction if it has one.
 */
export async function transitionJob<K extends JobKind>(
  em: EntityManager,
  kind: K,
  id: string,
  to: JobStatus,
  patch: JobPatch<K> = {} as JobPatch<K>,
): Promise<JobEntity<K>> {
  if (!isJobStatus(to)) throw new TypeError(`unknown job status: ${String(to)}`);
  if (!UUID.test(id)) throw new JobNotFoundError(kind, id);
  const table = JOB_TABLES[kind];
  const { sets, values } = buildSets(kind, to, patch as Record<string, unknown>);
  const allowed = allowedSources(to);

  // Bounded: a retry happens only when the row moved forward between the
  // UPDATE and the read below, and the machine has no cycles.
  for (let attempt = 0; attempt <= JOB_STATUSES.length; attempt++) {
    if (allowed.length > 0) {
      const rows = await em.execute<Json[]>(
        `update ${table} set ${sets.join(', ')} where id = ? and status in (?) returning *`,
        [...values, id, allowed],
      );
      if (rows[0]) return toEntity(em, kind, rows[0]);
    }
    const current = await em.execute<{ status: JobStatus }[]>(`select status from ${table} where id = ?`, [id]);
    const from = current[0]?.status;
    if (from === undefined) throw new JobNotFoundError(kind, id);
    if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
    // Another writer moved the row into an allowed source meanwhile: the
    // guard is judged against the row as the write finds it, so try again.
  }
  throw new Error(`transitionJob: ${kind} job ${id} kept changing status; gave up`);
}

/**
 * map() merges the fresh row into the identity map, so an entity the caller
 * already loaded is refreshed rather than left stale. The global
 * EntityManager has no identity map of its own to refresh (MikroORM refuses
 * to use it outside a request context), so a throwaway fork maps instead.
 */
function toEntity<K extends JobKind>(em: EntityManager, kind: K, row: Json): JobEntity<K> {
  const context = em.getContext(false);
  const target = context.global ? em.fork() : context;
  return target.map(JOB_ENTITIES[kind] as EntityName<object>, row) as JobEntity<K>;
}

function buildSets(kind: JobKind, to: JobStatus, patch: Record<string, unknown>) {
  const sets = ['status = ?', 'updated_at = now()'];
  const values: unknown[] = [to];
  const columns = PATCH_COLUMNS[kind];
  let progress = to === 'completed' ? 100 : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (key === 'progress') {
      progress = Math.max(checkProgress(value), progress ?? 0);
      continue;
    }
    const spec = columns[key];
    if (!spec) throw new TypeError(`${kind} job has no patchable field "${key}"`);
    sets.push(spec.json ? `${spec.column} = ?::jsonb` : `${spec.column} = ?`);
    values.push(spec.json && value !== null ? JSON.stringify(value) : value);
  }
  if (progress !== undefined) {
    sets.push('progress = greatest(progress, ?)');
    values.push(progress);
  }
  return { sets, values };
}

function checkProgress(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100) {
    throw new RangeError(`progress must be an integer from 0 to 100, got ${String(value)}`);
  }
  return value;
}

/**
 * Raises a running job's progress. Writes only while the job is active
 * (downloading/processing) and only upwards; a late or repeated report is a
 * no-op, not an error. Returns whether the row changed.
 */
export async function setProgress(em: EntityManager, kind: JobKind, id: string, progress: number): Promise<boolean> {
  checkProgress(progress);
  if (!UUID.test(id)) return false;
  const rows = await em.execute<Json[]>(
    `update ${JOB_TABLES[kind]} set progress = ?, updated_at = now()
      where id = ? and status in (?) and progress < ? returning id`,
    [progress, id, ACTIVE_STATUSES, progress],
  );
  return rows.length > 0;
}

/**
 * A running job's heartbeat: bumps updated_at while the row is active, so the
 * reaper can tell a live worker from a vanished one even when progress does
 * not move. Returns false when the row is no longer active (cancelled, or
 * settled as lost by the reaper): its worker must stop.
 */
export async function touchJob(em: EntityManager, kind: JobKind, id: string): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const rows = await em.execute<Json[]>(
    `update ${JOB_TABLES[kind]} set updated_at = now() where id = ? and status in (?) returning id`,
    [id, ACTIVE_STATUSES],
  );
  return rows.length > 0;
}
