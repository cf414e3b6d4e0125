/**
 * Which tracks of an album or playlist one request runs (pure): the record's
 * entries in Spotify's order, narrowed by a selection (`--tracks`), cut at a
 * limit (SFA_MAX_BATCH_TRACKS or `--limit`), with every entry that does not
 * run listed with its reason, and the sentence that says what will happen
 * ("the first 10 of 23 tracks", "tracks 1, 3 and 5-7 of 12") before it starts.
 */
import { formatTrackNumbers, trackSelectionText } from './trackSelection.ts';

export interface RecordEntry {
  /** 1-based position in the record as Spotify lists it (skipped entries keep their number). */
  position: number;
  title: string;
  /** The Spotify track to run; absent when the entry cannot run. */
  spotifyId?: string | undefined;
  /** Why the entry cannot run (a local file, a podcast episode, unavailable); set exactly when spotifyId is not. */
  skip?: string | undefined;
}

export interface PlannedTrack {
  position: number;
  title: string;
  spotifyId: string;
}

export interface SkippedTrack {
  position: number;
  title: string;
  reason: string;
}

export interface BatchPlan {
  run: PlannedTrack[];
  skipped: SkippedTrack[];
  /** What runs, relative to the record: "the first 10 of 23 tracks". */
  summary: string;
  /** The selection that runs what the limit left out (`11-23`), for a hint; undefined when nothing was left out. */
  rest: string | undefined;
}

export interface BatchOptions {
  /** 1-based positions to consider (sorted); undefined: the whole record. */
  selection?: readonly number[] | undefined;
  /** Most tracks one request runs (at least 1). */
  limit: number;
  /** Why tracks over the limit do not run (default: the per-request limit). */
  limitReason?: string | undefined;
}

const plural = (n: number) => `${n} track${n === 1 ? '' : 's'}`;

export function planBatch(entries: readonly RecordEntry[], options: BatchOptions): BatchPlan {
  const limit = Math.max(1, Math.floor(options.limit));
  const chosen = options.selection ? new Set(options.selection) : undefined;
  const candidates = chosen ? entries.filter((e) => chosen.has(e.position)) : [...entries];
  const runnable: PlannedTrack[] = [];
  const skipped: SkippedTrack[] = [];
  for (const e of candidates) {
    if (e.spotifyId && !e.skip) runnable.push({ position: e.position, title: e.title, spotifyId: e.spotifyId });
    else skipped.push({ position: e.position, title: e.title, reason: e.skip ?? 'not available on Spotify' });
  }
  const run = runnable.slice(0, limit);
  const over = runnable.slice(limit);
  const overReason = options.limitReason ?? `over the limit of ${plural(limit)} per request`;
  for (const e of over) skipped.push({ position: e.position, title: e.title, reason: overReason });
  skipped.sort((a, b) => a.position - b.position);
  return { run, skipped, summary: summarise(entries.length, candidates.length, run.length, over.length > 0, limit, options.selection), rest: over.length ? trackSelectionText(over.map((e) => e.position)) : undefined };
}

function summarise(total: number, considered: number, running: number, cut: boolean, limit: number, selection: readonly number[] | undefined): string {
  if (running === 0) return `none of ${selection ? `the ${plural(considered)} chosen` : `the ${plural(total)}`} can run`;
  if (selection) {
    const chosen = selection.length === 1 ? `track ${selection[0]} of ${total}` : `tracks ${formatTrackNumbers(selection)} of ${total}`;
    return cut ? `the first ${limit} of ${chosen}` : chosen;
  }
  if (cut) return `the first ${limit} of ${plural(total)}`;
  return running === total ? (total === 1 ? 'its one track' : `all ${plural(total)}`) : `${running} of ${plural(total)}`;
}
