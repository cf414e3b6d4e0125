/**
 * Which rows a cancel stops. Pure: src/jobs/pipeline/cancel.ts reads the facts
 * under the track's lock and carries the plan out; tests/unit/cancellation.test.ts
 * covers every case.
 *
 * - A named row that already finished is left as it is (`finished`).
 * - A named processing/analysis row another pending chat request waits for is
 *   kept: two users may share one job.
 * - A named download is kept while another pending request of the track needs
 *   it (`needed`), or while a row that depends on it is kept, i.e. a queued
 *   processing/analysis row (named and kept, or not named and needed by another
 *   request) has no other audio to wait for. Otherwise it is cancelled, and so
 *   is every other queued row of the track that was waiting for it.
 */
import { isTerminal, type JobStatus } from './jobStatus.ts';

export type CancelKind = 'download' | 'processing' | 'analysis';

export interface CancelRow {
  kind: CancelKind;
  id: string;
  status: JobStatus;
  /** Another pending request (not the one being cancelled) points at this row; for a download, is of its track. */
  needed: boolean;
}

export interface CancelFacts {
  /** The rows the ticket names (at most one per kind). */
  named: readonly CancelRow[];
  /** The track's other queued processing/analysis rows. */
  others: readonly CancelRow[];
  /** The track has a completed download with its file: queued rows do not wait for the named download. */
  audioReady: boolean;
  /** Another download of the track (not named) is queued or running: waiting rows have it to wait for. */
  otherDownloadActive: boolean;
}

export interface CancelPlan {
  /** Rows to fail as cancelled: the named ones first, then the rows that waited for a cancelled download. */
  cancel: CancelRow[];
  kept: string[];
  finished: string[];
}

/** The `error` of a cancelled row: "cancelled", or "cancelled: <reason>". */
export function cancelledError(reason?: string): string {
  const why = reason?.trim().replace(/\s+/g, ' ').slice(0, 500);
  return why ? `cancelled: ${why}` : 'cancelled';
}

export function isCancelledError(error: string | null | undefined): boolean {
  return error === 'cancelled' || (error?.startsWith('cancelled: ') ?? false);
}

export function planCancel(facts: CancelFacts): CancelPlan {
  const plan: CancelPlan = { cancel: [], kept: [], finished: [] };
  const download = facts.named.find((r) => r.kind === 'download');
  const keptWork: CancelRow[] = [];
  for (const row of facts.named) {
    if (row.kind === 'download') continue;
    if (isTerminal(row.status)) plan.finished.push(row.id);
    else if (row.needed) {
      plan.kept.push(row.id);
      keptWork.push(row);
    } else plan.cancel.push(row);
  }
  if (!download) return plan;
  if (isTerminal(download.status)) {
    plan.finished.push(download.id);
    return plan;
  }
  const waitsForThisDownload = !facts.audioReady && !facts.otherDownloadActive;
  const waiting = waitsForThisDownload ? facts.others.filter((r) => r.status === 'queued') : [];
  const dependentKept = waitsForThisDownload && (keptWork.some((r) => r.status === 'queued') || waiting.some((r) => r.needed));
  if (dependentKept || download.needed) {
    plan.kept.push(download.id);
    return plan;
  }
  plan.cancel.unshift(download);
  plan.cancel.push(...waiting);
  return plan;
}
