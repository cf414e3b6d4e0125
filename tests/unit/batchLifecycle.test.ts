/** An album's or playlist's request as decisions: entry states, what may start, when it is settled, the hourly allowance. */
import { describe, expect, it } from 'vitest';
import {
  allowanceUsedUp,
  BATCH_STATES,
  BATCH_TRANSITIONS,
  canMoveBatch,
  entryState,
  hourlyAllowance,
  isSettled,
  nextBatchState,
  type EntryFacts,
} from '../../src/domain/batchLifecycle.ts';

const queued: EntryFacts = { skipReason: null, request: null };
const skipped: EntryFacts = { skipReason: 'a local file', request: null };
const running: EntryFacts = { skipReason: null, request: 'open' };
const done: EntryFacts = { skipReason: null, request: 'delivered' };
const failed: EntryFacts = { skipReason: null, request: 'failed' };
const cancelled: EntryFacts = { skipReason: null, request: 'cancelled' };

describe('entryState', () => {
  it.each([
    [skipped, 'running', 'skipped'],
    [skipped, 'cancelled', 'skipped'],
    [queued, 'running', 'queued'],
    [queued, 'cancelled', 'cancelled'],
    [queued, 'done', 'queued'],
    [running, 'running', 'running'],
    [running, 'cancelled', 'running'],
    [done, 'cancelled', 'done'],
    [failed, 'running', 'failed'],
    [cancelled, 'cancelled', 'cancelled'],
  ] as const)('%o in a %s batch is %s', (entry, batch, state) => {
    expect(entryState(entry, batch)).toBe(state);
  });
});

describe('isSettled and nextBatchState', () => {
  it('a running batch is done once no entry is queued or running', () => {
    expect(isSettled('running', [done, failed, skipped, cancelled])).toBe(true);
    expect(nextBatchState('running', [done, failed, skipped])).toBe('done');
    expect(nextBatchState('running', [done, running])).toBe('running');
    expect(nextBatchState('running', [done, queued])).toBe('running');
  });
  it('a cancelled batch is settled once its started tracks ended; its queued ones never start', () => {
    expect(isSettled('cancelled', [done, queued, queued])).toBe(true);
    expect(isSettled('cancelled', [done, running, queued])).toBe(false);
    expect(nextBatchState('cancelled', [done, queued])).toBe('cancelled');
  });
  it('done and cancelled are terminal', () => {
    expect(nextBatchState('done', [running])).toBe('done');
    for (const from of BATCH_STATES) {
      for (const to of BATCH_STATES) expect(canMoveBatch(from, to)).toBe(from === to || (from === 'running' && to !== 'running'));
    }
    expect(BATCH_TRANSITIONS.done).toEqual([]);
  });
});

describe('hourlyAllowance', () => {
  const now = 10 * 3_600_000;
  const min = 60_000;
  it('counts the tracks of the last hour only', () => {
    expect(hourlyAllowance([], 10, now)).toEqual({ left: 10, nextAt: null });
    expect(hourlyAllowance([now - 61 * min, now - 5 * min, now - min], 10, now)).toEqual({ left: 8, nextAt: null });
  });
  it('when used up, says when the oldest counted track leaves the window', () => {
    const times = [now - 50 * min, now - 20 * min, now - 10 * min];
    expect(hourlyAllowance(times, 3, now)).toEqual({ left: 0, nextAt: now + 10 * min });
    // Over the limit (it was lowered): enough must leave to get under it.
    expect(hourlyAllowance([...times, now - min], 3, now)).toEqual({ left: 0, nextAt: now + 40 * min });
  });
  it('words the refusal with a Discord timestamp', () => {
    expect(allowanceUsedUp(10, now + 10 * min)).toBe(`You have asked for 10 tracks in the last hour, the most one person may. You can ask again <t:${(now + 10 * min) / 1000}:R>.`);
    expect(allowanceUsedUp(1, 1_000_500)).toMatch(/asked for 1 track in the last hour.*<t:1000:R>\.$/);
  });
});
