/** What the workers of one process share. */
import type { PgBoss } from 'pg-boss';
import type { Orm } from '../../db/orm.ts';
import type { TrackMetadata } from '../download/spotifyMetadata.ts';
import type { AudioSources } from '../download/resolveAudio.ts';
import type { EngineClient } from '../engine/client.ts';
import type { StoragePaths } from '../storage/paths.ts';
import type { ThrottleOptions } from '../pipeline/rowWrites.ts';

/** The part of EngineClient the workers use (tests wrap it to count calls). */
export type Engine = Pick<EngineClient, 'request'>;

export interface WorkerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

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
  log: WorkerLogger;
}

export const stderrWorkerLogger: WorkerLogger = {
  info: (m) => process.stderr.write(`[worker] ${m}\n`),
  warn: (m) => process.stderr.write(`[worker] ${m}\n`),
  error: (m) => process.stderr.write(`[worker] ${m}\n`),
};
