/**
 * Progress aggregation (pure): one request = download -> separation -> analysis.
 * Turns the three rows' status/progress into one overall percentage and state,
 * for status lines (CLI, Discord message).
 */
import type { JobStatus } from './jobStatus.ts';
import { STAGE_FACTS, STAGES as PIPELINE, type StageLabel } from './stages.ts';

/** Stages by the word users read for them (src/domain/stages.ts), in pipeline order. */
export type Stage = StageLabel;
export const STAGES: readonly Stage[] = PIPELINE.map((stage) => STAGE_FACTS[stage].label);

export interface StageProgress {
  status: JobStatus;
  /** 0..100 */
  progress: number;
}

/** Share of the overall bar per stage: separation dominates the wall time. */
export const STAGE_WEIGHTS: Readonly<Record<Stage, number>> = { download: 20, separation: 60, analysis: 20 };

export type OverallState = 'queued' | 'running' | 'completed' | 'failed';

export interface OverallProgress {
  /** 0..100, integer; 100 only when every present stage completed. */
  percent: number;
  state: OverallState;
  /** First failed stage, if any. */
  failedStage?: Stage;
}

/** 0..100; anything not a finite number is 0. */
export const clampPercent = (p: number) => (Number.isFinite(p) ? Math.max(0, Math.min(100, p)) : 0);

/** A stage's contribution in 0..1: completed = 1, failed counts as done so the bar does not stall. */
function fraction(stage: StageProgress): number {
  if (stage.status === 'completed' || stage.status === 'failed') return 1;
  if (stage.status === 'queued') return 0;
  return clampPercent(stage.progress) / 100;
}

/** Missing stages (e.g. analyze-only requests) are left out of the weighting. */
export function aggregateProgress(stages: Partial<Record<Stage, StageProgress>>): OverallProgress {
  const present = STAGES.filter((s) => stages[s] !== undefined);
  if (present.length === 0) return { percent: 0, state: 'queued' };
  const total = present.reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0);
  const done = present.reduce((sum, s) => sum + STAGE_WEIGHTS[s] * fraction(stages[s]!), 0);
  const failedStage = present.find((s) => stages[s]!.status === 'failed');
  const all = (pred: (p: StageProgress) => boolean) => present.every((s) => pred(stages[s]!));
  let state: OverallState;
  if (failedStage) state = 'failed';
  else if (all((p) => p.status === 'completed')) state = 'completed';
  else if (all((p) => p.status === 'queued')) state = 'queued';
  else state = 'running';
  // Never show 100 for something unfinished, whatever rounding says.
  const raw = Math.floor((done / total) * 100);
  const percent = state === 'completed' ? 100 : Math.min(raw, 99);
  return failedStage ? { percent, state, failedStage } : { percent, state };
}

/** "downloading 42%", "queued", "completed", "failed: <reason>" — one status line per stage. */
export function describeStage(stage: StageProgress & { error?: string | null }): string {
  switch (stage.status) {
    case 'queued':
      return 'queued';
    case 'completed':
      return 'completed';
    case 'failed':
      return stage.error ? `failed: ${stage.error}` : 'failed';
    default:
      return `${stage.status} ${Math.floor(clampPercent(stage.progress))}%`;
  }
}
