/**
 * The pipeline's stages, once: download -> separation -> analysis. Each stage is
 * a kind of job row (its table), a pg-boss queue that runs those rows, the word
 * users read for it, and the status its rows hold while a worker runs them.
 *
 * The names differ per place for historical reasons (the `processing_jobs` table
 * is run by the `separate` queue and called "separation"); they are stored data
 * and queue names, so they are kept, and everything reads them from here.
 */
import type { JobStatus } from './jobStatus.ts';

export interface StageFacts {
  /** The job table whose rows this stage runs. */
  readonly table: string;
  /** The pg-boss queue whose jobs run those rows (a job's singletonKey is its row id). */
  readonly queue: string;
  /** What users read for the stage ("The separation failed ..."). */
  readonly label: string;
  /** The status of a row a worker has claimed and is running. */
  readonly activeStatus: JobStatus;
}

export const STAGE_FACTS = {
  download: { table: 'download_jobs', queue: 'download', label: 'download', activeStatus: 'downloading' },
  processing: { table: 'processing_jobs', queue: 'separate', label: 'separation', activeStatus: 'processing' },
  analysis: { table: 'analysis_jobs', queue: 'analyze', label: 'analysis', activeStatus: 'processing' },
} as const satisfies Record<string, StageFacts>;

/** A stage, named by its kind of job row. */
export type Stage = keyof typeof STAGE_FACTS;
/** Pipeline order. */
export const STAGES: readonly Stage[] = ['download', 'processing', 'analysis'];

export type StageQueue = (typeof STAGE_FACTS)[Stage]['queue'];
export type StageLabel = (typeof STAGE_FACTS)[Stage]['label'];

/** The stage a queue runs. */
export function stageOfQueue(queue: StageQueue): Stage {
  return STAGES.find((stage) => STAGE_FACTS[stage].queue === queue)!;
}
