import { describe, expect, it } from 'vitest';
import { pickCandidate } from '../../src/domain/pickCandidate.ts';

const c = (id: string, durationSeconds: number | null) => ({ id, title: id, url: `u/${id}`, durationSeconds });

describe('pickCandidate', () => {
  it('picks the result closest in length, not the first', () => {
    const r = pickCandidate([c('live', 260), c('lyric', 203), c('official', 201.5)], 201);
    expect(r).toEqual({ ok: true, candidate: c('official', 201.5), differenceSeconds: 0.5 });
  });
  it('prefers the earlier result on a tie', () => {
    const r = pickCandidate([c('a', 195), c('b', 205)], 200);
    expect(r.ok && r.candidate.id).toBe('a');
  });
  it('accepts exactly the tolerance and rejects beyond it', () => {
    expect(pickCandidate([c('a', 211)], 201).ok).toBe(true);
    const r = pickCandidate([c('a', 245), c('b', 300)], 201);
    expect(r).toEqual({ ok: false, reason: 'none_within_tolerance', closest: c('a', 245), differenceSeconds: 44 });
  });
  it('ignores results without a duration', () => {
    expect(pickCandidate([c('stream', null), c('a', 200)], 200)).toMatchObject({ ok: true, candidate: { id: 'a' } });
    expect(pickCandidate([c('stream', null)], 200)).toEqual({ ok: false, reason: 'no_durations' });
  });
  it('reports no results', () => {
    expect(pickCandidate([], 200)).toEqual({ ok: false, reason: 'no_results' });
  });
  it('without a target length takes the first timed result under the cap', () => {
    expect(pickCandidate([c('x', null), c('10h-loop', 36000), c('song', 200)], null, { maxSeconds: 1200 })).toEqual({ ok: true, candidate: c('song', 200), differenceSeconds: null });
  });
});
