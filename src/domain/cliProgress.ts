/**
 * What the `sfa` CLI shows while it follows a request's rows (pure): one bar
 * per stage on a terminal, or plain lines for logs and pipes (one when a
 * stage's status changes, one per 10 % step while it runs).
 */
import type { JobStatus } from './jobStatus.ts';
import { describeModelFetch, fetchPercent, type ModelFetchProgress } from './modelFiles.ts';
import { clampPercent, describeStage } from './progress.ts';
import { STAGE_FACTS, STAGES, type StageQueue } from './stages.ts';

/** The CLI names a stage by its queue (src/domain/stages.ts), in pipeline order. */
export type CliStage = StageQueue;
export const CLI_STAGES: readonly CliStage[] = STAGES.map((stage) => STAGE_FACTS[stage].queue);

export interface StageState {
  status: JobStatus;
  /** 0..100 as stored in the row. */
  progress: number;
  error?: string | null;
  /** Served from storage by this request (no work was done for it). */
  stored?: boolean;
  /** The separation is fetching its model first (null once fetched). */
  fetch?: ModelFetchProgress | null;
  /** What a running stage is busy with, while its percentage stands still (e.g. "preparing model for this CPU"). */
  note?: string;
}

/** The stages one command follows; stages it does not run are absent. */
export type StageStates = Partial<Record<CliStage, StageState>>;

/** Whole percent in 0..100. */
const clamp = (p: number) => Math.floor(clampPercent(p));

/** The percentage a stage shows: completed is 100 whatever the row said. */
export function shownPercent(state: StageState): number {
  if (state.status === 'completed') return 100;
  const fetch = fetchingModel(state);
  return fetch ? fetchPercent(fetch) : clamp(state.progress);
}

/** The model fetch a running separation is busy with, if any. */
export function fetchingModel(state: StageState): ModelFetchProgress | undefined {
  return state.status === 'processing' && state.fetch ? state.fetch : undefined;
}

/** describeStage, plus "completed (from storage)" and the reason of a failure on one line. */
export function describeStageState(state: StageState): string {
  if (state.status === 'completed' && state.stored) return 'completed (from storage)';
  if (state.status === 'failed' && state.error) return `failed: ${oneLine(state.error)}`;
  const fetch = fetchingModel(state);
  if (fetch) return describeModelFetch(fetch);
  if (state.note && (state.status === 'downloading' || state.status === 'processing')) return `${describeStage(state)}: ${state.note}`;
  return describeStage(state);
}

/** `[#####.....]`, `width` cells between the brackets. */
export function renderBar(percent: number, width: number): string {
  const cells = Math.max(1, Math.floor(width));
  const filled = Math.round((clamp(percent) / 100) * cells);
  return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}]`;
}

export interface BarOptions {
  /** Cells per bar (default 24). */
  barWidth?: number;
  /** Terminal width: lines are cut to it, since a wrapped line breaks the in-place redraw. */
  columns?: number;
}

/** One line per present stage, in pipeline order: `separate  [####....]  40% processing`. */
export function renderStageBars(stages: StageStates, options: BarOptions = {}): string[] {
  const width = options.barWidth ?? 24;
  const lines: string[] = [];
  for (const stage of CLI_STAGES) {
    const state = stages[stage];
    if (!state) continue;
    const running = (state.status === 'downloading' || state.status === 'processing') && !fetchingModel(state);
    const status = running ? (state.note ? `${state.status}: ${state.note}` : state.status) : describeStageState(state);
    const line = `${stage.padEnd(8)} ${renderBar(shownPercent(state), width)} ${String(shownPercent(state)).padStart(3)}% ${status}`;
    lines.push(cut(line, options.columns));
  }
  return lines;
}

/** What the plain-line printer remembers per stage between updates. */
export type PlainMemory = Partial<Record<CliStage, { status: JobStatus; decile: number; fetching?: boolean; note?: string }>>;

/**
 * The plain lines due for `stages` given what was printed before: a stage's first
 * sighting and every status change print a line; while it runs, each new 10 % step
 * does. Progress going down (a replacement row) prints nothing until it passes the
 * last printed step again.
 */
export function plainProgressLines(previous: PlainMemory, stages: StageStates): { lines: string[]; memory: PlainMemory } {
  const memory: PlainMemory = { ...previous };
  const lines: string[] = [];
  for (const stage of CLI_STAGES) {
    const state = stages[stage];
    if (!state) continue;
    const decile = Math.floor(shownPercent(state) / 10);
    const fetching = fetchingModel(state) !== undefined;
    const before = previous[stage];
    // Starting or ending a model fetch restarts the steps (its percent is the fetch's, not the stage's); a new note is news.
    if (!before || before.status !== state.status || (before.fetching ?? false) !== fetching || decile > before.decile || (state.note && state.note !== before.note)) {
      lines.push(`${stage}: ${describeStageState(state)}`);
      memory[stage] = { status: state.status, decile, fetching, ...(state.note ? { note: state.note } : {}) };
    }
  }
  return { lines, memory };
}

/** Every present stage is completed or failed. */
export function allSettled(stages: StageStates): boolean {
  return CLI_STAGES.every((s) => stages[s] === undefined || stages[s].status === 'completed' || stages[s].status === 'failed');
}

/** The failed stages with their reasons, in pipeline order. */
export function failedStages(stages: StageStates): { stage: CliStage; reason: string }[] {
  return CLI_STAGES.flatMap((stage) => {
    const state = stages[stage];
    return state?.status === 'failed' ? [{ stage, reason: state.error?.trim() || 'no reason was recorded' }] : [];
  });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function cut(line: string, columns: number | undefined): string {
  if (!columns || columns < 8 || line.length < columns) return line;
  return `${line.slice(0, columns - 2)}…`;
}
