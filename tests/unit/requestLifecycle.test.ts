import { describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '../../src/domain/jobStatus.ts';
import {
  CANCELLED_BY_REQUESTER,
  DELIVERY_STATES,
  DELIVERY_TRANSITIONS,
  DM_STATES,
  canMoveDelivery,
  canMoveDm,
  deliverySources,
  isFinal,
  isOpen,
  lifecycleState,
  partialDelivery,
  stemsNotSent,
  workEnded,
  workFailure,
  type DeliveryState,
  type RequestWork,
} from '../../src/domain/requestLifecycle.ts';

const ALLOWED_DELIVERY = new Set(['pending>delivering', 'pending>delivered', 'pending>failed', 'delivering>pending', 'delivering>delivered', 'delivering>failed']);
const ALLOWED_DM = new Set(['pending>sent', 'pending>closed_fallback_sent', 'pending>failed']);

describe('delivery state moves', () => {
  const pairs = DELIVERY_STATES.flatMap((from) => DELIVERY_STATES.map((to) => ({ from, to })));

  it.for(pairs)('$from -> $to', ({ from, to }) => {
    expect(canMoveDelivery(from, to)).toBe(from === to || ALLOWED_DELIVERY.has(`${from}>${to}`));
  });

  it('has delivered and failed terminal, and nothing returns to pending but a released claim', () => {
    expect(DELIVERY_TRANSITIONS.delivered).toEqual([]);
    expect(DELIVERY_TRANSITIONS.failed).toEqual([]);
    expect(DELIVERY_STATES.filter((s) => s !== 'pending' && canMoveDelivery(s, 'pending'))).toEqual(['delivering']);
  });

  it('names the states a conditional write may start from', () => {
    expect(deliverySources('delivered')).toEqual(['pending', 'delivering']);
    expect(deliverySources('failed')).toEqual(['pending', 'delivering']);
    expect(deliverySources('delivering')).toEqual(['pending']);
    expect(deliverySources('pending')).toEqual(['delivering']);
  });

  it('counts pending and delivering as open', () => {
    expect(DELIVERY_STATES.filter(isOpen)).toEqual(['pending', 'delivering']);
  });
});

describe('DM state moves', () => {
  const pairs = DM_STATES.flatMap((from) => DM_STATES.map((to) => ({ from, to })));
  it.for(pairs)('$from -> $to', ({ from, to }) => {
    expect(canMoveDm(from, to)).toBe(from === to || ALLOWED_DM.has(`${from}>${to}`));
  });
});

describe('lifecycleState', () => {
  it.for(DELIVERY_STATES)('%s reads as itself', (state) => {
    expect(lifecycleState(state, null)).toBe(state);
    expect(lifecycleState(state, 'the download failed: 404')).toBe(state);
  });
  it('reads a failure from /cancel as cancelled, only when failed', () => {
    expect(lifecycleState('failed', CANCELLED_BY_REQUESTER)).toBe('cancelled');
    expect(lifecycleState('delivered', CANCELLED_BY_REQUESTER)).toBe('delivered');
  });
});

function work(w: Partial<RequestWork> = {}): RequestWork {
  return {
    kind: 'separate',
    model: 'htdemucs',
    processingJobLinked: true,
    download: 'completed',
    downloadError: null,
    separation: 'processing',
    separationError: null,
    analysis: 'completed',
    analysisError: null,
    ...w,
  };
}

const ENDED = (s: JobStatus | null) => s === 'completed' || s === 'failed';
const STATUSES: (JobStatus | null)[] = [...JOB_STATUSES, null];

describe('workEnded', () => {
  // Every combination of the three stages for both kinds, against the rule written out.
  const cases = (['separate', 'analyze'] as const).flatMap((kind) =>
    STATUSES.flatMap((download) => STATUSES.flatMap((separation) => STATUSES.map((analysis) => ({ kind, download, separation, analysis })))),
  );

  it.for(cases)('$kind: download $download, separation $separation, analysis $analysis', ({ kind, download, separation, analysis }) => {
    const expected =
      kind === 'analyze'
        ? ENDED(analysis) || download === 'failed'
        : (download === 'failed' && separation !== 'completed') || (ENDED(separation) && ENDED(analysis));
    expect(workEnded(work({ kind, download, separation, analysis }))).toBe(expected);
  });

  it('waits while a separation has no model or no linked row', () => {
    expect(workEnded(work({ separation: 'completed', model: null }))).toBe(false);
    expect(workEnded(work({ separation: 'completed', processingJobLinked: false }))).toBe(false);
    expect(workEnded(work({ separation: 'completed' }))).toBe(true);
  });
});

describe('isFinal', () => {
  const cases: [DeliveryState, Partial<RequestWork>, boolean][] = [
    ['failed', {}, true],
    ['pending', { separation: 'completed' }, false],
    ['delivering', { separation: 'completed' }, false],
    ['delivered', { separation: 'completed' }, true],
    ['delivered', { separation: 'completed', analysis: 'processing' }, false],
  ];
  it.for(cases)('%s with %o: %s', ([state, w, final]) => {
    expect(isFinal(state, work(w))).toBe(final);
  });
});

describe('workFailure', () => {
  it('reports the download first, unless the work it fed completed', () => {
    expect(workFailure(work({ download: 'failed', downloadError: '404', separation: 'queued', analysis: 'queued' }))).toBe('the download failed: 404');
    expect(workFailure(work({ download: 'failed', separation: 'failed', analysis: 'failed' }))).toBe('the download failed: no reason given');
    expect(workFailure(work({ download: 'failed', separation: 'completed', analysis: 'failed' }))).toBeUndefined();
    expect(workFailure(work({ kind: 'analyze', download: 'failed', separation: null, analysis: 'completed' }))).toBeUndefined();
  });

  it('reports the stage the request asked for', () => {
    expect(workFailure(work({ separation: 'failed', separationError: 'out of memory' }))).toBe('the separation failed: out of memory');
    expect(workFailure(work({ separation: 'failed' }))).toBe('the separation failed: no reason given');
    // A /separate does not fail for its analysis, nor an /analyze for a separation.
    expect(workFailure(work({ separation: 'completed', analysis: 'failed', analysisError: 'x' }))).toBeUndefined();
    expect(workFailure(work({ kind: 'analyze', separation: 'failed', analysis: 'failed', analysisError: 'bad audio' }))).toBe('the analysis failed: bad audio');
    expect(workFailure(work({ kind: 'analyze', separation: null, analysis: 'failed' }))).toBe('the analysis failed: no reason given');
  });

  it('reports nothing for work that completed', () => {
    expect(workFailure(work({ separation: 'completed' }))).toBeUndefined();
    expect(workFailure(work({ kind: 'analyze', separation: null }))).toBeUndefined();
  });
});

describe('delivery notes', () => {
  it('clips the stems failure and lists stems that did not go out', () => {
    expect(stemsNotSent('x'.repeat(400))).toBe(`the stems could not be sent: ${'x'.repeat(300)}`);
    expect(partialDelivery([])).toBeNull();
    expect(partialDelivery(['bass: too large', 'drums: 500'])).toBe('some stems were not delivered (bass: too large; drums: 500)');
    expect(partialDelivery(['y'.repeat(600)])).toBe(`some stems were not delivered (${'y'.repeat(500)})`);
  });
});
