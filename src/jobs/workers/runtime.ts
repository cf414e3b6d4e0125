/**
 * Composition of a worker process from the app Config: ORM, pg-boss, one engine,
 * download sources, Spotify metadata, the three workers, the attempt watch
 * (heartbeats + cancellation, one LISTEN connection) and the reaper. For
 * `npm start --role worker|all` (src/main.ts).
 */
import type { PgBoss } from 'pg-boss';
import type { Config } from '../../config.ts';
import { createOrm, type Orm } from '../../db/orm.ts';
import { createAudioSources } from '../download/sources.ts';
import { fetchTrackMetadata, spotifyOptionsFrom, type TrackMetadata } from '../download/spotifyMetadata.ts';
import { EngineClient } from '../engine/client.ts';
import { createBoss, type BossOptions } from '../queues/boss.ts';
import { StoragePaths } from '../storage/paths.ts';
import { AttemptWatch } from './attempt.ts';
import type { Engine, WorkerContext } from './context.ts';
import { stderrWorkerLogger } from './logger.ts';
import type { Logger } from '../../log.ts';
import { startReaper, type RunningReaper } from './reaper.ts';
import { startWorkers, type RunningWorkers, type StartWorkersOptions } from './start.ts';

/** Spotify track metadata with the configured API hosts and credentials (oEmbed without them). */
export function spotifyMetadataFor(config: Config): (spotifyId: string, signal?: AbortSignal) => Promise<TrackMetadata> {
  return (spotifyId, signal) => fetchTrackMetadata(spotifyId, spotifyOptionsFrom(config, signal));
}

/** The worker side of a process, on an ORM, pg-boss and engine its caller owns (and stops). */
export interface WorkerSide {
  ctx: WorkerContext;
  workers: RunningWorkers;
  /** Heartbeats and cancellation of running jobs, through one LISTEN connection. */
  attempts: AttemptWatch;
  /** Undefined when started with `reaper: false` or SFA_REAPER_INTERVAL_SECONDS=0. */
  reaper: RunningReaper | undefined;
}

export type WorkerSideOptions = StartWorkersOptions & {
  /** Run the reaper in this process (default: unless SFA_REAPER_INTERVAL_SECONDS is 0; every worker process may run one). */
  reaper?: boolean;
};

/**
 * Download sources, the attempt watch (LISTENing on `databaseUrl`), the WorkerContext, the
 * three workers and the reaper, from the Config. Shared by startWorkerProcess and the CLI's
 * in-process workers (src/cli/session.ts), which stop the parts in their own order:
 * reaper, workers, attempts.
 */
export async function startWorkerSide(
  config: Config,
  databaseUrl: string,
  parts: { orm: Orm; boss: PgBoss; engine: Engine; log: Logger; paths?: StoragePaths },
  options: WorkerSideOptions = {},
): Promise<WorkerSide> {
  const { orm, boss, engine, log } = parts;
  const sources = await createAudioSources({
    libraryDir: config.libraryDir,
    maxFileMb: config.limits.maxFileMb,
    maxDurationSeconds: config.limits.maxDurationSeconds,
    allowedPrivateRanges: config.limits.allowedPrivateRanges,
  });
  const { heartbeatSeconds, staleAfterSeconds, reaperIntervalSeconds } = config.recovery;
  // One LISTEN connection for the whole process: running jobs stop as soon as their row is cancelled.
  const attempts = new AttemptWatch(orm, log, { heartbeatMs: heartbeatSeconds * 1000 });
  await attempts.listen(databaseUrl);
  const ctx: WorkerContext = {
    orm,
    boss,
    paths: parts.paths ?? new StoragePaths(config.dataDir),
    maxDurationSeconds: config.limits.maxDurationSeconds,
    sources,
    spotifyMetadata: spotifyMetadataFor(config),
    engine,
    log,
    attempts,
    recovery: { heartbeatSeconds, staleAfterSeconds },
    models: { dir: config.modelDir, python: config.python, baseUrl: config.modelBaseUrl, download: config.modelDownload },
  };
  const workers = await startWorkers(ctx, options);
  const reaper =
    options.reaper === false || reaperIntervalSeconds === 0 ? undefined : startReaper(ctx, { staleAfterSeconds, intervalSeconds: reaperIntervalSeconds });
  return { ctx, workers, attempts, reaper };
}

export interface WorkerProcess {
  ctx: WorkerContext;
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  config: Config,
  databaseUrl: string,
  options: WorkerSideOptions & { boss?: BossOptions; log?: Logger } = {},
): Promise<WorkerProcess> {
  const log = options.log ?? stderrWorkerLogger;
  const orm = await createOrm(databaseUrl);
  const boss = await createBoss(databaseUrl, options.boss);
  const engine = new EngineClient({
    python: config.python,
    env: { SFA_MODEL_DIR: config.modelDir, SFA_DEVICE: config.device },
    logger: log,
  });
  const { ctx, workers, attempts, reaper } = await startWorkerSide(config, databaseUrl, { orm, boss, engine, log }, options);
  return {
    ctx,
    async stop() {
      await reaper?.stop();
      await workers.stop();
      await attempts.close();
      await boss.stop({ graceful: true });
      await engine.close();
      await orm.close();
    },
  };
}
