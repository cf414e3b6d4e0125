import { describe, expect, it } from 'vitest';
import {
  InvalidTransitionError,
  JOB_STATUSES,
  allowedSources,
  assertTransition,
  canTransition,
  isJobStatus,
  isTerminal,
  type JobStatus,
} from '../../src/domain/jobStatus.ts';

// Written out independently of TRANSITIONS so a change there must be deliberate:
// the domain model's table plus queued -> failed (a job refused before it starts).
const EXPECTED: Record<JobStatus, JobStatus[]> = {
  queued: ['downloading', 'processing', 'failed'],
  downloading: ['processing', 'completed', 'failed'],
  processing: ['completed', 'failed'],
  completed: [],
  failed: [],
};

const ALL_PAIRS = JOB_STATUSES.flatMap((from) =>
  JOB_STATUSES.map((to) => ({ from, to, allowed: EXPECTED[from].includes(to) })),
);

describe('job status machine', () => {
  it('has exactly the five statuses of the domain model', () => {
    expect([...JOB_STATUSES]).toEqual(['queued', 'downloading', 'processing', 'completed', 'failed']);
    expect(ALL_PAIRS).toHaveLength(25);
    expect(ALL_PAIRS.filter((p) => p.allowed)).toHaveLength(8);
  });

  it.each(ALL_PAIRS)('$from -> $to allowed: $allowed', ({ from, to, allowed }) => {
    expect(canTransition(from, to)).toBe(allowed);
    if (allowed) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      expect(() => assertTransition(from, to)).toThrow(InvalidTransitionError);
    }
  });

  it('never allows a status to stay the same or move backward', () => {
    for (const [i, from] of JOB_STATUSES.entries()) {
      for (const to of JOB_STATUSES.slice(0, i + 1)) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('treats completed and failed, and only those, as terminal', () => {
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['completed', 'failed']);
  });

  it.each([
    ['queued', []],
    ['downloading', ['queued']],
    ['processing', ['queued', 'downloading']],
    ['completed', ['downloading', 'processing']],
    ['failed', ['queued', 'downloading', 'processing']],
  ] as const)('allowedSources(%s) = %j', (to, sources) => {
    expect(allowedSources(to)).toEqual(sources);
  });

  it('allowedSources agrees with canTransition for every target', () => {
    for (const to of JOB_STATUSES) {
      expect(allowedSources(to)).toEqual(JOB_STATUSES.filter((from) => EXPECTED[from].includes(to)));
    }
  });

  it('InvalidTransitionError carries from/to and names both in its message', () => {
    let caught: unknown;
    try {
      assertTransition('completed', 'processing');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidTransitionError);
    expect(caught).toBeInstanceOf(Error);
    const error = caught as InvalidTransitionError;
    expect(error.name).toBe('InvalidTransitionError');
    expect(error.from).toBe('completed');
    expect(error.to).toBe('processing');
    expect(error.message).toBe('job status cannot move from completed to processing');
  });

  it('isJobStatus accepts exactly the five statuses', () => {
    for (const status of JOB_STATUSES) expect(isJobStatus(status)).toBe(true);
    for (const value of ['QUEUED', 'cancelled', '', ' queued', null, undefined, 0, {}, ['queued']]) {
      expect(isJobStatus(value)).toBe(false);
    }
  });
});
