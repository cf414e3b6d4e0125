/**
 * An album's or playlist's request (a batch) as decisions (pure): where each
 * track stands, when the batch is settled, and how much of the user's hourly
 * allowance it may use. (Which tracks may start is the per-user slot count,
 * src/requests/slots.ts, shared with every other request.)
 *
 * A batch is `running` until every track that was to run has started and
 * ended, then `done`; /cancel makes it `cancelled` (queued tracks never
 * start, finished ones are kept). Both end states are terminal. The batch's
 * analysis DM is owed once it is settled: every started track has ended.
 */
import { HOUR_MS } from './reactionChoice.ts';

export const RECORD_KINDS = ['album', 'playlist'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export const BATCH_STATES = ['running', 'done', 'cancelled'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** thread: a thread on the batch message; links: no thread permission, the message links each track's stems; messages: no thread and no file server, stems as channel messages. */
export const STEMS_PLACES = ['thread', 'links', 'messages'] as const;
export type StemsPlace = (typeof STEMS_PLACES)[number];

/** Where one entry of the record stands. */
export type EntryState = 'skipped' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface EntryFacts {
  /** Why it does not run (set for entries that never run). */
  skipReason: string | null;
  /** Its request, once started: still open, delivered, failed, or cancelled by the requester. */
  request: 'open' | 'delivered' | 'failed' | 'cancelled' | null;
}

export function entryState(entry: EntryFacts, batch: BatchState): EntryState {
  if (entry.skipReason !== null) return 'skipped';
  switch (entry.request) {
    case null:
      return batch === 'cancelled' ? 'cancelled' : 'queued';
    case 'open':
      return 'running';
    case 'delivered':
      return 'done';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
  }
}

/** Every track that was to run has ended (a cancelled batch: every started one). */
export function isSettled(batch: BatchState, entries: readonly EntryFacts[]): boolean {
  return entries.every((e) => {
    const s = entryState(e, batch);
    return s !== 'queued' && s !== 'running';
  });
}

/** The batch's state once its entries are as given: a running batch becomes done when settled. */
export function nextBatchState(batch: BatchState, entries: readonly EntryFacts[]): BatchState {
  return batch === 'running' && isSettled(batch, entries) ? 'done' : batch;
}

export const BATCH_TRANSITIONS: Readonly<Record<BatchState, readonly BatchState[]>> = {
  running: ['done', 'cancelled'],
  done: [],
  cancelled: [],
};

export function canMoveBatch(from: BatchState, to: BatchState): boolean {
  return from === to || BATCH_TRANSITIONS[from].includes(to);
}

/**
 * The hourly allowance (SFA_USER_REQUESTS_PER_HOUR), counted in tracks: what a command may still
 * start, given the tracks the user asked for in the last hour (epoch ms) and now.
 */
export interface Allowance {
  left: number;
  /** When the next track becomes available again (epoch ms), if none is left. */
  nextAt: number | null;
}

export function hourlyAllowance(askedAt: readonly number[], perHour: number, now: number): Allowance {
  const recent = askedAt.filter((t) => t > now - HOUR_MS).sort((a, b) => a - b);
  const left = Math.max(0, perHour - recent.length);
  // The oldest of the counted tracks leaves the window first; with several over the limit, the one that brings the count under it.
  const nextAt = left > 0 ? null : (recent[recent.length - perHour] ?? now) + HOUR_MS;
  return { left, nextAt };
}

/** The answer when the allowance is used up. */
export function allowanceUsedUp(perHour: number, nextAt: number): string {
  return `You have asked for ${perHour} track${perHour === 1 ? '' : 's'} in the last hour, the most one person may. ` +
    `You can ask again <t:${Math.floor(nextAt / 1000)}:R>.`;
}
