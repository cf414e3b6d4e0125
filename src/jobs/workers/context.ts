/** What the workers of one process share. */
import type { PgBoss } from 'pg-boss';
import { DEFAULTS } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../log.ts';
import type { TrackMetadata } from '../download/spotifyMetadata.ts';
import type { AudioSources } from '../download/resolveAudio.ts';
import type { EngineClient } from '../engine/client.ts';
import type { StoragePaths } from '../storage/paths.ts';
import type { ThrottleOptions } from '../pipeline/rowWrites.ts';
import type { AttemptWatch } from './attempt.ts';
import type { ModelProvision } from '../models/provide.ts';

/** The part of EngineClient the workers use (tests wrap it to count calls). */
export type Engine = Pick<EngineClient, 'request'>;

export interface WorkerContext {
  orm: Orm;
  boss: PgBoss;
  paths: StoragePaths;
  /** SFA_MAX_DURATION_SECONDS: passed to the engine and used to size expiry. */
  maxDurationSeconds: number;
  /** Download sources (createAudioSources in production). */
  sources: AudioSources;
  /** Spotify metadata for Spotify tracks (fetchTrackMetadata bound to the config). */
  spotifyMetadata?: (spotifyId: string, signal?: AbortSignal) => Promise<TrackMetadata>;
  /** One long-lived engine per worker process, shared by the separate and analyze workers. */
  engine: Engine;
  progressThrottle?: ThrottleOptions;
  /** Missing models are fetched (or refused) before a separation; absent: the engine reports a missing model. */
  models?: ModelProvision;
  log: Logger;
  /** Heartbeats and cancellation of running jobs; startWorkers creates one (without LISTEN) when absent. */
  attempts?: AttemptWatch;
  /** Lost-work timing (SFA_HEARTBEAT_SECONDS, SFA_STALE_AFTER_SECONDS); default DEFAULT_RECOVERY_TIMING. */
  recovery?: RecoveryTiming;
}

export interface RecoveryTiming {
  heartbeatSeconds: number;
  staleAfterSeconds: number;
}

export const DEFAULT_RECOVERY_TIMING: RecoveryTiming = {
  heartbeatSeconds: DEFAULTS.SFA_HEARTBEAT_SECONDS,
  staleAfterSeconds: DEFAULTS.SFA_STALE_AFTER_SECONDS,
};

/** How long a worker keeps retrying its claim through a database outage: well below the stale threshold, so
 *  the reaper never re-sends a job whose claim is still being retried. */
export function claimRetryMs(ctx: WorkerContext): number {
  const stale = (ctx.recovery ?? DEFAULT_RECOVERY_TIMING).staleAfterSeconds;
  return Math.min(30_000, (stale * 1000) / 3);
}

/** How long completion/failure writes are retried through a database outage. */
export const SETTLE_RETRY_MS = 60_000;
