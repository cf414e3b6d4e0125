/** planCancel and the cancelled error text: which rows a cancel stops, keeps or reports as finished. */
import { describe, expect, it } from 'vitest';
import { cancelledError, isCancelledError, planCancel, type CancelFacts, type CancelRow } from '../../src/domain/cancellation.ts';
import { JOB_STATUSES, type JobStatus } from '../../src/domain/jobStatus.ts';

const row = (kind: CancelRow['kind'], id: string, status: JobStatus, needed = false): CancelRow => ({ kind, id, status, needed });
const facts = (f: Partial<CancelFacts>): CancelFacts => ({ named: [], others: [], audioReady: false, otherDownloadActive: false, ...f });
const ids = (rows: CancelRow[]) => rows.map((r) => r.id);
const LIVE: JobStatus[] = ['queued', 'downloading', 'processing'];
const DONE: JobStatus[] = ['completed', 'failed'];

describe('planCancel: processing and analysis rows', () => {
  it('cancels a live row nobody else needs, keeps one another request needs, reports a finished one', () => {
    for (const kind of ['processing', 'analysis'] as const) {
      for (const status of JOB_STATUSES) {
        for (const needed of [false, true]) {
          const plan = planCancel(facts({ named: [row(kind, 'x', status, needed)] }));
          if (DONE.includes(status)) expect(plan).toEqual({ cancel: [], kept: [], finished: ['x'] });
          else if (needed) expect(plan).toEqual({ cancel: [], kept: ['x'], finished: [] });
          else expect(plan).toEqual({ cancel: [row(kind, 'x', status)], kept: [], finished: [] });
        }
      }
    }
  });

  it('does not touch rows it was not given when no download is named', () => {
    const plan = planCancel(facts({ named: [row('processing', 'p', 'queued')], others: [row('analysis', 'a', 'queued')] }));
    expect(ids(plan.cancel)).toEqual(['p']);
  });
});

describe('planCancel: the download', () => {
  it('a finished download is reported, and nothing waiting for audio is touched', () => {
    for (const status of DONE) {
      const plan = planCancel(facts({ named: [row('download', 'd', status)], others: [row('analysis', 'a', 'queued')] }));
      expect(plan).toEqual({ cancel: [], kept: [], finished: ['d'] });
    }
  });

  it('cancels a live download first, then the named rows, then every row that waited for it', () => {
    for (const status of LIVE.filter((s) => s !== 'processing')) {
      const plan = planCancel(
        facts({
          named: [row('download', 'd', status), row('processing', 'p', 'queued'), row('analysis', 'a', 'queued')],
          others: [row('processing', 'p2', 'queued')],
        }),
      );
      expect(ids(plan.cancel)).toEqual(['d', 'p', 'a', 'p2']);
      expect(plan.kept).toEqual([]);
    }
  });

  it('keeps the download while a kept queued row still needs its audio', () => {
    const plan = planCancel(facts({ named: [row('download', 'd', 'downloading'), row('processing', 'p', 'queued', true), row('analysis', 'a', 'queued')] }));
    expect(ids(plan.cancel)).toEqual(['a']);
    expect(plan.kept).toEqual(['p', 'd']);
  });

  it('keeps the download while another request waits for a row of the track', () => {
    const plan = planCancel(facts({ named: [row('download', 'd', 'queued'), row('processing', 'p', 'queued')], others: [row('analysis', 'b', 'queued', true)] }));
    expect(ids(plan.cancel)).toEqual(['p']);
    expect(plan.kept).toEqual(['d']);
  });

  it('a kept row that is already running does not need the download', () => {
    const plan = planCancel(facts({ named: [row('download', 'd', 'downloading'), row('processing', 'p', 'processing', true)] }));
    expect(ids(plan.cancel)).toEqual(['d']);
    expect(plan.kept).toEqual(['p']);
  });

  it('rows do not wait for the named download when the audio is already stored or another download is on its way', () => {
    for (const extra of [{ audioReady: true }, { otherDownloadActive: true }]) {
      const plan = planCancel(
        facts({ ...extra, named: [row('download', 'd', 'downloading')], others: [row('processing', 'p2', 'queued', true), row('analysis', 'a2', 'queued')] }),
      );
      expect(ids(plan.cancel)).toEqual(['d']);
      expect(plan.kept).toEqual([]);
    }
  });

  it('a download marked needed is kept', () => {
    expect(planCancel(facts({ named: [row('download', 'd', 'queued', true)] }))).toEqual({ cancel: [], kept: ['d'], finished: [] });
  });
});

describe('the cancelled error', () => {
  it('is "cancelled", or "cancelled: <reason>" with the reason on one line and clipped', () => {
    expect(cancelledError()).toBe('cancelled');
    expect(cancelledError('  ')).toBe('cancelled');
    expect(cancelledError('asked by\n@ana')).toBe('cancelled: asked by @ana');
    expect(cancelledError('x'.repeat(2000))).toHaveLength('cancelled: '.length + 500);
  });
  it('is recognised, and nothing else is', () => {
    expect(isCancelledError('cancelled')).toBe(true);
    expect(isCancelledError(cancelledError('by the user'))).toBe(true);
    for (const other of [null, undefined, '', 'cancelledx', 'The job was stopped before it finished (it took too long or was cancelled)']) {
      expect(isCancelledError(other)).toBe(false);
    }
  });
});
