/**
 * The job status machine shared by DownloadJob, ProcessingJob and AnalysisJob.
 *
 * Forward only; `completed` and `failed` are terminal; a retry is a new row.
 * `queued -> failed` is not in the domain model's table but is in the original
 * system's functional-core design (cancelled before start, input vanished).
 */
export const JOB_STATUSES = ['queued', 'downloading', 'processing', 'completed', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['downloading', 'processing', 'failed'],
  downloading: ['processing', 'completed', 'failed'],
  processing: ['completed', 'failed'],
  completed: [],
  failed: [],
};

export class InvalidTransitionError extends Error {
  readonly from: JobStatus;
  readonly to: JobStatus;
  override readonly name = 'InvalidTransitionError';
  constructor(from: JobStatus, to: JobStatus) {
    super(`job status cannot move from ${from} to ${to}`);
    this.from = from;
    this.to = to;
  }
}

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws InvalidTransitionError unless `from -> to` is allowed. */
export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

/** The statuses a row may be in for a write to `to` to be legal; used by conditional UPDATEs. */
export function allowedSources(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => canTransition(from, to));
}

export function isTerminal(status: JobStatus): boolean {
  return TRANSITIONS[status].length === 0;
}
