/**
 * Choosing which search result to download (pure; no I/O).
 * With a known track length the closest duration wins if it is within the
 * tolerance; without one (title-only metadata) the first result with a known,
 * acceptable length wins, because search order is the only signal left.
 */
export interface Candidate {
  id: string;
  title: string;
  url: string;
  durationSeconds: number | null;
}

export type PickResult<C extends Candidate> =
  | { ok: true; candidate: C; differenceSeconds: number | null }
  | { ok: false; reason: 'no_results' }
  | { ok: false; reason: 'none_within_tolerance'; closest: C; differenceSeconds: number }
  | { ok: false; reason: 'no_durations' };

export function pickCandidate<C extends Candidate>(
  candidates: readonly C[],
  targetSeconds: number | null,
  opts: { toleranceSeconds?: number; maxSeconds?: number } = {},
): PickResult<C> {
  const tolerance = opts.toleranceSeconds ?? 10;
  if (candidates.length === 0) return { ok: false, reason: 'no_results' };
  const timed = candidates.filter(
    (c): c is C & { durationSeconds: number } =>
      typeof c.durationSeconds === 'number' && Number.isFinite(c.durationSeconds) && c.durationSeconds > 0,
  );
  if (targetSeconds === null) {
    const first = timed.find((c) => opts.maxSeconds === undefined || c.durationSeconds <= opts.maxSeconds);
    return first ? { ok: true, candidate: first, differenceSeconds: null } : { ok: false, reason: 'no_durations' };
  }
  if (timed.length === 0) return { ok: false, reason: 'no_durations' };
  // Stable: on equal distance the earlier (more relevant) result wins.
  let best = timed[0]!;
  let bestDiff = Math.abs(best.durationSeconds - targetSeconds);
  for (const c of timed.slice(1)) {
    const d = Math.abs(c.durationSeconds - targetSeconds);
    if (d < bestDiff) {
      best = c;
      bestDiff = d;
    }
  }
  if (bestDiff <= tolerance) return { ok: true, candidate: best, differenceSeconds: bestDiff };
  return { ok: false, reason: 'none_within_tolerance', closest: best, differenceSeconds: bestDiff };
}
