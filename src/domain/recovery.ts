/**
 * What the reaper does with one job row, from facts read under the row's lock.
 * Pure: the reaper (src/jobs/workers/reaper.ts) gathers the facts and carries
 * the action out; every combination is covered by tests/unit/recovery.test.ts.
 *
 * Nothing may stay queued/downloading/processing forever:
 * - running (downloading/processing) with a fresh heartbeat: alive, leave it;
 *   with a stale one: its worker is gone (kill -9, lost machine). Treated like
 *   claim.ts treats a lost attempt: fail it, queue a new row, give up after
 *   MAX_LOST_ATTEMPTS.
 * - queued with a pg-boss job waiting or just fetched: a worker will get to it.
 * - queued processing/analysis with a download still on its way: it waits.
 * - queued with no audio coming (the download failed and the waiting rows were
 *   somehow not failed with it): fail it, saying so.
 * - queued, inputs ready, and no pg-boss job left to run it (pg-boss exhausted
 *   its retries on infrastructure errors, or a fetched job's worker vanished
 *   before claiming): send it again once; if that one ends without starting
 *   the row too, fail it. Re-sending once covers a database outage; failing
 *   after that stops a job that breaks its worker from looping.
 */
import { isTerminal, type JobStatus } from './jobStatus.ts';

export type RecoveryKind = 'download' | 'processing' | 'analysis';

/** pg-boss job states (pg-boss 12). */
export const BOSS_JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
export type BossJobState = (typeof BOSS_JOB_STATES)[number];

export interface BossJobFact {
  state: BossJobState;
  /** For `active`: seconds since a worker fetched it. */
  activeSeconds?: number;
}

/** Audio for a processing/analysis row: stored and intact, on its way (a download queued/running), or not coming. */
export type AudioState = 'ready' | 'coming' | 'none';

export interface RowFacts {
  kind: RecoveryKind;
  status: JobStatus;
  /** Seconds since the row's heartbeat (updated_at: claim, progress, or the running worker's touch). */
  idleSeconds: number;
  /** Every pg-boss job sent for this row (singletonKey = row id), any order. */
  bossJobs: readonly BossJobFact[];
  /** Earlier rows of this same work already lost (the newest pg-boss job's payload). */
  lostAttempts: number;
  /** Only read for queued processing/analysis rows. */
  audio: AudioState;
}

export interface RecoverySettings {
  /** A running row whose heartbeat is older than this is lost; a queued row younger than this is left alone. */
  staleAfterSeconds: number;
}

/** How many lost attempts of the same work are replaced by a new row before giving up. */
export const MAX_LOST_ATTEMPTS = 2;
/** pg-boss jobs a queued row may use up (the first send and one re-send) before it is failed. */
export const MAX_SENDS = 2;

export type LeaveReason = 'finished' | 'alive' | 'recent' | 'waiting_for_worker' | 'waiting_for_audio';

export type RecoveryAction =
  | { action: 'leave'; because: LeaveReason }
  /** Fail the row as lost (`reason`) and queue a new row with lostAttempts + 1. */
  | { action: 'replace_lost'; reason: string }
  /** Lost too often: fail the row (`reason`) and, for a download, the rows waiting for it. */
  | { action: 'give_up_lost'; reason: string }
  /** Send the row's pg-boss job again; first cancel the active ones that stopped moving. */
  | { action: 'resend'; cancelStuck: boolean }
  | { action: 'fail'; reason: string };

/** After `lostAttempts` earlier losses, is losing this attempt retried or the end? */
export function afterLostAttempt(lostAttempts: number): 'retry' | 'give_up' {
  return lostAttempts + 1 > MAX_LOST_ATTEMPTS ? 'give_up' : 'retry';
}

export function workerLostReason(idleSeconds: number): string {
  return `The worker running this job stopped responding (worker lost: no heartbeat for ${Math.round(idleSeconds)} s).`;
}

export const NO_AUDIO_COMING =
  'No audio is coming for this track: its download failed or was cancelled. Request it again to download it anew.';

export function neverStartedReason(sends: number): string {
  return (
    `This job could not be started: its queue gave up ${sends} times without running it (the database or a worker kept failing). ` +
    'Request it again; if it keeps happening, tell the bot admin.'
  );
}

const WAITING: ReadonlySet<BossJobState> = new Set(['created', 'retry']);
const ENDED: ReadonlySet<BossJobState> = new Set(['completed', 'cancelled', 'failed']);

export function decideRecovery(facts: RowFacts, settings: RecoverySettings): RecoveryAction {
  const stale = settings.staleAfterSeconds;
  if (isTerminal(facts.status)) return { action: 'leave', because: 'finished' };

  if (facts.status !== 'queued') {
    if (facts.idleSeconds < stale) return { action: 'leave', because: 'alive' };
    const reason = workerLostReason(facts.idleSeconds);
    return afterLostAttempt(facts.lostAttempts) === 'retry' ? { action: 'replace_lost', reason } : { action: 'give_up_lost', reason };
  }

  // Queued.
  if (facts.idleSeconds < stale) return { action: 'leave', because: 'recent' };
  const jobs = facts.bossJobs;
  const fresh = (j: BossJobFact) => WAITING.has(j.state) || (j.state === 'active' && (j.activeSeconds ?? 0) < stale);
  if (jobs.some(fresh)) return { action: 'leave', because: 'waiting_for_worker' };
  if (facts.kind !== 'download') {
    if (facts.audio === 'coming') return { action: 'leave', because: 'waiting_for_audio' };
    if (facts.audio === 'none') return { action: 'fail', reason: NO_AUDIO_COMING };
  }
  const stuck = jobs.filter((j) => j.state === 'active').length;
  const used = jobs.filter((j) => ENDED.has(j.state)).length + stuck;
  if (used >= MAX_SENDS) return { action: 'fail', reason: neverStartedReason(used) };
  return { action: 'resend', cancelStuck: stuck > 0 };
}
