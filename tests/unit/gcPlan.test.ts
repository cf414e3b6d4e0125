import { describe, expect, it } from 'vitest';
import { formatBytes, parseDuration, parseSize, planGc, tmpFolderMayBeInUse, type GcUnit, type GcUnitKind } from '../../src/domain/gcPlan.ts';

const NOW = 1_000 * 86_400_000; // day 1000
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A unit `days` old (modified and changed then), of `bytes`. */
function unit(path: string, kind: GcUnitKind, days: number, bytes: number, extra: Partial<GcUnit> = {}): GcUnit {
  const t = NOW - days * DAY;
  return { path, kind, bytes, modifiedMs: t, changedMs: t, ...extra };
}

const removed = (plan: ReturnType<typeof planGc>) => Object.fromEntries(plan.remove.map((r) => [r.unit.path, r.reason]));
const kept = (plan: ReturnType<typeof planGc>) => Object.fromEntries(plan.keep.map((k) => [k.unit.path, k.reason]));

describe('planGc', () => {
  const grace = HOUR;

  it('with no limits removes only stale tmp folders', () => {
    const units = [unit('tmp/a', 'tmp', 2, 10), unit('d/1', 'download', 300, 100), unit('o/1', 'orphan', 300, 100)];
    const plan = planGc(units, { nowMs: NOW, graceMs: grace });
    expect(removed(plan)).toEqual({ 'tmp/a': 'stale-tmp' });
    expect(kept(plan)).toEqual({ 'd/1': 'within-limits', 'o/1': 'within-limits' });
    expect(plan).toMatchObject({ bytesBefore: 210, bytesAfter: 200, underBudget: true });
  });

  it('never removes a held tmp folder: in use, or changed within the grace period', () => {
    const units = [
      unit('tmp/busy', 'tmp', 3, 10, { protectedBy: 'a running job may be using it' }),
      unit('tmp/young', 'tmp', 3, 10, { changedMs: NOW - HOUR / 2 }),
      unit('tmp/old', 'tmp', 3, 10),
    ];
    const plan = planGc(units, { nowMs: NOW, graceMs: grace, maxBytes: 0 });
    expect(removed(plan)).toEqual({ 'tmp/old': 'stale-tmp' });
    expect(plan.keep.map((k) => [k.unit.path, k.reason, k.detail])).toEqual([
      ['tmp/busy', 'in-use', 'a running job may be using it'],
      ['tmp/young', 'grace', undefined],
    ]);
    expect(plan.underBudget).toBe(false);
  });

  it('--max-age removes what is older than the limit, whatever its kind, unless held', () => {
    const units = [
      unit('d/old', 'download', 40, 1),
      unit('s/old', 'stems', 31, 1),
      unit('a/old', 'overview', 30.5, 1),
      unit('o/old', 'orphan', 90, 1),
      unit('d/new', 'download', 29, 1),
      unit('s/used', 'stems', 90, 1, { protectedBy: 'a chat request is still waiting to deliver it' }),
      unit('d/touched', 'download', 90, 1, { changedMs: NOW - 1000 }),
    ];
    const plan = planGc(units, { nowMs: NOW, graceMs: grace, maxAgeMs: 30 * DAY });
    expect(removed(plan)).toEqual({ 'd/old': 'max-age', 's/old': 'max-age', 'a/old': 'max-age', 'o/old': 'max-age' });
    expect(kept(plan)).toEqual({ 'd/new': 'within-limits', 's/used': 'in-use', 'd/touched': 'grace' });
  });

  it('exactly --max-age old is kept (older than, not as old as)', () => {
    const plan = planGc([unit('d/edge', 'download', 30, 1)], { nowMs: NOW, graceMs: 0, maxAgeMs: 30 * DAY });
    expect(plan.remove).toEqual([]);
  });

  it('over --max-bytes: unreferenced files first, then oldest first, stopping once under the budget', () => {
    const units = [
      unit('d/a', 'download', 10, 400),
      unit('s/b', 'stems', 20, 300),
      unit('o/c', 'orphan', 1, 100),
      unit('a/d', 'overview', 5, 50),
      unit('d/e', 'download', 30, 500, { protectedBy: 'work is queued or running for its track' }),
    ];
    // 1350 stored; budget 900: orphan (100) -> 1250, stems 20 d (300) -> 950, download 10 d (400) -> 550.
    const plan = planGc(units, { nowMs: NOW, graceMs: grace, maxBytes: 900 });
    expect(plan.remove.map((r) => [r.unit.path, r.reason])).toEqual([
      ['d/a', 'over-budget'],
      ['s/b', 'over-budget'],
      ['o/c', 'over-budget'],
    ]);
    expect(kept(plan)).toEqual({ 'a/d': 'within-limits', 'd/e': 'in-use' });
    expect(plan).toMatchObject({ bytesBefore: 1350, bytesAfter: 550, underBudget: true });
  });

  it('already under the budget: nothing beyond stale tmp is removed', () => {
    const units = [unit('tmp/x', 'tmp', 2, 500), unit('d/a', 'download', 10, 400)];
    const plan = planGc(units, { nowMs: NOW, graceMs: grace, maxBytes: 400 });
    expect(removed(plan)).toEqual({ 'tmp/x': 'stale-tmp' });
    expect(plan).toMatchObject({ bytesAfter: 400, underBudget: true });
  });

  it('stale tmp and --max-age removals count towards the budget before anything else goes', () => {
    const units = [unit('tmp/x', 'tmp', 2, 300), unit('d/old', 'download', 100, 300), unit('d/a', 'download', 10, 300), unit('d/b', 'download', 5, 300)];
    const plan = planGc(units, { nowMs: NOW, graceMs: grace, maxAgeMs: 50 * DAY, maxBytes: 300 });
    expect(removed(plan)).toEqual({ 'tmp/x': 'stale-tmp', 'd/old': 'max-age', 'd/a': 'over-budget' });
    expect(plan.bytesAfter).toBe(300);
  });

  it('held files alone over the budget: removes what it may and reports underBudget false', () => {
    const units = [unit('d/a', 'download', 10, 400, { protectedBy: 'in use' }), unit('d/b', 'download', 10, 100), unit('d/c', 'download', 0, 100)];
    const plan = planGc(units, { nowMs: NOW, graceMs: grace, maxBytes: 100 });
    expect(removed(plan)).toEqual({ 'd/b': 'over-budget' });
    expect(kept(plan)).toEqual({ 'd/a': 'in-use', 'd/c': 'grace' });
    expect(plan).toMatchObject({ bytesAfter: 500, underBudget: false });
  });

  it('grace uses the change time (a file renamed into place just now), age uses the modification time', () => {
    const renamed = unit('d/renamed', 'download', 100, 10, { changedMs: NOW - 60_000 });
    expect(planGc([renamed], { nowMs: NOW, graceMs: grace, maxAgeMs: DAY }).remove).toEqual([]);
    expect(removed(planGc([renamed], { nowMs: NOW, graceMs: 0, maxAgeMs: DAY }))).toEqual({ 'd/renamed': 'max-age' });
  });

  it('ties in age are broken by path, so the plan is deterministic', () => {
    const units = [unit('d/b', 'download', 10, 100), unit('d/a', 'download', 10, 100), unit('d/c', 'download', 10, 100)];
    expect(removed(planGc(units, { nowMs: NOW, graceMs: 0, maxBytes: 150 }))).toEqual({ 'd/a': 'over-budget', 'd/b': 'over-budget' });
  });

  it('a budget of 0 removes every unit that is not held', () => {
    const units = [unit('d/a', 'download', 10, 1), unit('s/b', 'stems', 10, 1), unit('a/c', 'overview', 10, 1), unit('o/d', 'orphan', 10, 1)];
    const plan = planGc(units, { nowMs: NOW, graceMs: 0, maxBytes: 0 });
    expect(plan.remove).toHaveLength(4);
    expect(plan).toMatchObject({ bytesAfter: 0, underBudget: true });
  });

  it('empty storage', () => {
    expect(planGc([], { nowMs: NOW, graceMs: 0, maxBytes: 0, maxAgeMs: 0 })).toEqual({ remove: [], keep: [], bytesBefore: 0, bytesAfter: 0, underBudget: true });
  });
});

describe('tmpFolderMayBeInUse', () => {
  it('no queued or running row: no folder is in use', () => {
    expect(tmpFolderMayBeInUse(NOW, undefined)).toBe(false);
  });
  it('a folder modified before the oldest active row was inserted (minus the margin) belongs to no running job', () => {
    const oldest = NOW - HOUR;
    expect(tmpFolderMayBeInUse(oldest - 2 * 60_000, oldest)).toBe(false);
    expect(tmpFolderMayBeInUse(oldest - 30_000, oldest)).toBe(true); // within the clock margin
    expect(tmpFolderMayBeInUse(oldest + 1, oldest)).toBe(true);
    expect(tmpFolderMayBeInUse(oldest - 30_000, oldest, 0)).toBe(false);
  });
});

describe('parseSize', () => {
  it.each([
    ['20G', 20 * 1024 ** 3],
    ['20g', 20 * 1024 ** 3],
    ['20GB', 20 * 1024 ** 3],
    ['20GiB', 20 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['500M', 500 * 1024 ** 2],
    ['750 MB', 750 * 1024 ** 2],
    ['64k', 64 * 1024],
    ['2T', 2 * 1024 ** 4],
    ['4096', 4096],
    ['4096B', 4096],
    ['0', 0],
    [' 1G ', 1024 ** 3],
    ['0.5', 0],
  ])('%s = %d bytes', (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, bytes });
  });

  it.each(['', 'G', '20X', '-1G', '1e9', '20 G B', '1,5G', '20Gb extra', '99999999999T'])('refuses %j', (text) => {
    const r = parseSize(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
  });
});

describe('parseDuration', () => {
  it('reads days and minutes, decimals allowed', () => {
    expect(parseDuration('30', 'days')).toEqual({ ok: true, ms: 30 * DAY });
    expect(parseDuration('0.5', 'days')).toEqual({ ok: true, ms: DAY / 2 });
    expect(parseDuration('0', 'minutes')).toEqual({ ok: true, ms: 0 });
    expect(parseDuration('90', 'minutes')).toEqual({ ok: true, ms: 90 * 60_000 });
  });
  it.each(['-1', 'soon', '', '1d', '.5', 'Infinity'])('refuses %j', (text) => {
    expect(parseDuration(text, 'days')).toMatchObject({ ok: false, message: expect.stringContaining('days') });
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
    [3 * 1024 ** 5, '3072 TiB'],
  ])('%d -> %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});
