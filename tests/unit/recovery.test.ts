/**
 * decideRecovery: every combination of row kind, status, heartbeat age,
 * pg-boss job states, lost attempts and audio state, checked against the rules
 * written out independently below, plus the invariant the reaper exists for:
 * no row is left queued/downloading/processing forever.
 */
import { describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '../../src/domain/jobStatus.ts';
import {
  afterLostAttempt,
  decideRecovery,
  MAX_LOST_ATTEMPTS,
  MAX_SENDS,
  NO_AUDIO_COMING,
  neverStartedReason,
  workerLostReason,
  type AudioState,
  type BossJobFact,
  type RecoveryKind,
  type RowFacts,
} from '../../src/domain/recovery.ts';

const STALE = 60;
const settings = { staleAfterSeconds: STALE };
const KINDS: RecoveryKind[] = ['download', 'processing', 'analysis'];
const AUDIO: AudioState[] = ['ready', 'coming', 'none'];
const IDLE = [0, STALE - 1, STALE, STALE * 10];
const LOST = [0, 1, 2, 3];

/** Job-state sets a row can have: none, each single state (active both fresh and stuck), and a few histories. */
const JOB_SETS: BossJobFact[][] = [
  [],
  [{ state: 'created' }],
  [{ state: 'retry' }],
  [{ state: 'active', activeSeconds: 1 }],
  [{ state: 'active', activeSeconds: STALE + 1 }],
  [{ state: 'completed' }],
  [{ state: 'failed' }],
  [{ state: 'cancelled' }],
  [{ state: 'failed' }, { state: 'created' }],
  [{ state: 'failed' }, { state: 'failed' }],
  [{ state: 'failed' }, { state: 'active', activeSeconds: STALE * 2 }],
  [{ state: 'completed' }, { state: 'active', activeSeconds: 2 }],
];

function* allFacts(): Generator<RowFacts> {
  for (const kind of KINDS)
    for (const status of JOB_STATUSES)
      for (const idleSeconds of IDLE)
        for (const bossJobs of JOB_SETS)
          for (const lostAttempts of LOST)
            for (const audio of AUDIO) yield { kind, status, idleSeconds, bossJobs, lostAttempts, audio };
}

const ACTIVE: JobStatus[] = ['downloading', 'processing'];

describe('decideRecovery', () => {
  it('leaves finished rows alone, whatever else is true', () => {
    for (const facts of allFacts()) {
      if (facts.status !== 'completed' && facts.status !== 'failed') continue;
      expect(decideRecovery(facts, settings)).toEqual({ action: 'leave', because: 'finished' });
    }
  });

  it('running rows: alive while the heartbeat is fresh; lost once it is stale, retried up to the limit, then given up', () => {
    let checked = 0;
    for (const facts of allFacts()) {
      if (!ACTIVE.includes(facts.status)) continue;
      checked++;
      const action = decideRecovery(facts, settings);
      if (facts.idleSeconds < STALE) expect(action).toEqual({ action: 'leave', because: 'alive' });
      else {
        const reason = workerLostReason(facts.idleSeconds);
        // pg-boss job states do not matter: a stale heartbeat means nobody is working on the row.
        expect(action).toEqual({ action: facts.lostAttempts < MAX_LOST_ATTEMPTS ? 'replace_lost' : 'give_up_lost', reason });
      }
    }
    expect(checked).toBe(KINDS.length * 2 * IDLE.length * JOB_SETS.length * LOST.length * AUDIO.length);
  });

  it('names the heartbeat age in the lost reason', () => {
    expect(workerLostReason(43.4)).toContain('worker lost: no heartbeat for 43 s');
    const action = decideRecovery({ kind: 'processing', status: 'processing', idleSeconds: 600, bossJobs: [], lostAttempts: 0, audio: 'ready' }, settings);
    expect(action).toMatchObject({ action: 'replace_lost', reason: expect.stringContaining('no heartbeat for 600 s') });
  });

  it('queued rows younger than the threshold are left alone (a worker may be about to claim them)', () => {
    for (const facts of allFacts()) {
      if (facts.status !== 'queued' || facts.idleSeconds >= STALE) continue;
      expect(decideRecovery(facts, settings)).toEqual({ action: 'leave', because: 'recent' });
    }
  });

  it('stale queued rows, case by case', () => {
    const queued = (kind: RecoveryKind, bossJobs: BossJobFact[], audio: AudioState = 'ready') =>
      decideRecovery({ kind, status: 'queued', idleSeconds: STALE * 2, bossJobs, lostAttempts: 0, audio }, settings);
    // A job waiting for a worker, or one a worker fetched a moment ago: leave it.
    expect(queued('download', [{ state: 'created' }])).toEqual({ action: 'leave', because: 'waiting_for_worker' });
    expect(queued('analysis', [{ state: 'retry' }], 'none')).toEqual({ action: 'leave', because: 'waiting_for_worker' });
    expect(queued('processing', [{ state: 'active', activeSeconds: 3 }])).toEqual({ action: 'leave', because: 'waiting_for_worker' });
    // Waiting for its audio.
    expect(queued('processing', [], 'coming')).toEqual({ action: 'leave', because: 'waiting_for_audio' });
    // No audio coming: fail it, saying so.
    expect(queued('analysis', [], 'none')).toEqual({ action: 'fail', reason: NO_AUDIO_COMING });
    expect(queued('processing', [{ state: 'failed' }], 'none')).toEqual({ action: 'fail', reason: NO_AUDIO_COMING });
    // Inputs ready, no pg-boss job left: send once more...
    expect(queued('download', [])).toEqual({ action: 'resend', cancelStuck: false });
    expect(queued('processing', [{ state: 'failed' }])).toEqual({ action: 'resend', cancelStuck: false });
    expect(queued('analysis', [{ state: 'cancelled' }])).toEqual({ action: 'resend', cancelStuck: false });
    // ... cancelling a fetched job whose worker never claimed the row ...
    expect(queued('download', [{ state: 'active', activeSeconds: STALE }])).toEqual({ action: 'resend', cancelStuck: true });
    // ... and fail it when that is used up too.
    expect(queued('download', [{ state: 'failed' }, { state: 'failed' }])).toEqual({ action: 'fail', reason: neverStartedReason(2) });
    expect(queued('analysis', [{ state: 'failed' }, { state: 'active', activeSeconds: STALE * 2 }])).toEqual({
      action: 'fail',
      reason: neverStartedReason(2),
    });
    // A download's audio state is irrelevant: it is the input.
    expect(queued('download', [], 'none')).toEqual({ action: 'resend', cancelStuck: false });
  });

  it('leaves nothing queued or running forever: a stale row with no fresh pg-boss job and no download on its way is acted on', () => {
    let checked = 0;
    for (const facts of allFacts()) {
      if (facts.status === 'completed' || facts.status === 'failed' || facts.idleSeconds < STALE) continue;
      const fresh = facts.bossJobs.some(
        (j) => j.state === 'created' || j.state === 'retry' || (j.state === 'active' && (j.activeSeconds ?? 0) < STALE),
      );
      const waitsForAudio = facts.status === 'queued' && facts.kind !== 'download' && facts.audio === 'coming';
      if (facts.status === 'queued' && (fresh || waitsForAudio)) continue;
      checked++;
      expect(decideRecovery(facts, settings).action).not.toBe('leave');
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('re-sends a queued row at most MAX_SENDS - 1 times', () => {
    for (let used = 0; used <= 3; used++) {
      const bossJobs: BossJobFact[] = Array.from({ length: used }, () => ({ state: 'failed' }));
      const action = decideRecovery({ kind: 'download', status: 'queued', idleSeconds: STALE, bossJobs, lostAttempts: 0, audio: 'ready' }, settings);
      expect(action.action).toBe(used < MAX_SENDS ? 'resend' : 'fail');
    }
  });
});

describe('afterLostAttempt', () => {
  it(`retries the first ${MAX_LOST_ATTEMPTS} losses and gives up on the next`, () => {
    expect([0, 1, 2, 3, 10].map(afterLostAttempt)).toEqual(['retry', 'retry', 'give_up', 'give_up', 'give_up']);
    expect(MAX_LOST_ATTEMPTS).toBe(2);
  });
});
