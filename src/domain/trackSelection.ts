/**
 * `--tracks 1,3,5-7`: which tracks of an album or playlist to run (pure).
 * Numbers are 1-based positions in the record as Spotify lists it. Parsing
 * checks the syntax; checkSelection checks it against the record's length,
 * which is only known after the metadata lookup. Reasons are user-facing.
 */

export type SelectionResult = { ok: true; numbers: number[] } | { ok: false; reason: string };

/** Spotify's own cap on a playlist's length; anything above is a typo, and bounds what a range may expand to. */
export const MAX_TRACK_NUMBER = 10_000;

const EXAMPLE = 'like 1,3,5-7';

/**
 * Sorted, without duplicates (a record runs in its own order whatever order was typed). `option` names
 * the option in the reasons: `--tracks` on the command line, `` `tracks:` `` in Discord.
 */
export function parseTrackSelection(text: string, option = '--tracks'): SelectionResult {
  const parts = String(text).split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) return { ok: false, reason: `${option} needs track numbers, ${EXAMPLE}` };
  const chosen = new Set<number>();
  for (const part of parts) {
    if (part === '') return { ok: false, reason: `${option} has an empty entry between commas; write the numbers ${EXAMPLE}` };
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return { ok: false, reason: `${option}: "${part.slice(0, 20)}" is not a track number or a range (${EXAMPLE})` };
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (const n of [first, last]) {
      if (n === 0) return { ok: false, reason: `${option}: track numbers start at 1 (the first track is 1, not 0)` };
      if (n > MAX_TRACK_NUMBER) return { ok: false, reason: `${option}: ${n} is more tracks than any album or playlist has (at most ${MAX_TRACK_NUMBER})` };
    }
    if (last < first) return { ok: false, reason: `${option}: the range ${first}-${last} runs backwards; write ${last}-${first}` };
    for (let n = first; n <= last; n++) chosen.add(n);
  }
  return { ok: true, numbers: [...chosen].sort((a, b) => a - b) };
}

/** The problem with a selection for a record of `total` tracks, or undefined when every number is in it. */
export function checkSelection(numbers: readonly number[], total: number, what: string, option = '--tracks'): string | undefined {
  const outside = numbers.filter((n) => n > total);
  if (outside.length === 0) return undefined;
  const named = outside.length === 1 ? `track ${outside[0]} is` : `tracks ${formatTrackNumbers(outside)} are`;
  return `${option}: ${named} out of range: the ${what} has ${total} track${total === 1 ? '' : 's'}`;
}

/** Runs of consecutive numbers as ranges, sorted and without duplicates: [1, 3, 5, 6, 7] -> ['1', '3', '5-7']. */
function trackRuns(numbers: readonly number[]): string[] {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const pieces: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    pieces.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return pieces;
}

/** `1, 3 and 5-7`, for sentences. */
export function formatTrackNumbers(numbers: readonly number[]): string {
  const pieces = trackRuns(numbers);
  if (pieces.length <= 1) return pieces.join('');
  return `${pieces.slice(0, -1).join(', ')} and ${pieces.at(-1)}`;
}

/** `1,3,5-7`: the form --tracks takes back. */
export function trackSelectionText(numbers: readonly number[]): string {
  return trackRuns(numbers).join(',');
}
