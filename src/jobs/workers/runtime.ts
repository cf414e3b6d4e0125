/**
 * Composition of a worker process from the app Config: ORM, pg-boss, one engine,
 * download sources, Spotify metadata, and the three workers. For `npm start
 * --role worker|all` (src/main.ts, not wired yet).
 */
import type { Config } from '../../config.ts';
import { createOrm } from '../../db/orm.ts';
import { createAudioSources } from '../download/sources.ts';
import { fetchTrackMetadata, type TrackMetadata } from '../download/spotifyMetadata.ts';
import { EngineClient } from '../engine/client.ts';
import { createBoss, type BossOptions } from '../queues/boss.ts';
import { StoragePaths } from '../storage/paths.ts';
import { stderrWorkerLogger, type WorkerContext, type WorkerLogger } from './context.ts';
import { startWorkers, type StartWorkersOptions } from './start.ts';

/** Spotify track metadata with the configured API hosts and credentials (oEmbed without them). */
export function spotifyMetadataFor(config: Config): (spotifyId: string, signal?: AbortSignal) => Promise<TrackMetadata> {
  const creds = config.spotify.credentials;
  return (spotifyId, signal) =>
    fetchTrackMetadata(spotifyId, {
      apiBase: config.spotify.apiBase,
      accountsBase: config.spotify.accountsBase,
      ...(creds ? { clientId: creds.clientId, clientSecret: creds.clientSecret.reveal() } : {}),
      timeoutMs: 15_000,
      signal,
    });
}

export interface WorkerProcess {
  ctx: WorkerContext;
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  config: Config,
  databaseUrl: string,
  options: StartWorkersOptions & {
    boss?: BossOptions;
    log?: WorkerLogger;
    /** Direct URLs to localhost/private networks: true for the CLI, false (default) for the bot. */
    allowPrivateHosts?: boolean;
  } = {},
): Promise<WorkerProcess> {
  const log = options.log ?? stderrWorkerLogger;
  const orm = await createOrm(databaseUrl);
  const boss = await createBoss(databaseUrl, options.boss);
  const engine = new EngineClient({
    python: config.python,
    env: { SFA_MODEL_DIR: config.modelDir, SFA_DEVICE: config.device },
    logger: log,
  });
  const sources = await createAudioSources({
    libraryDir: config.libraryDir,
    maxFileMb: config.limits.maxFileMb,
    maxDurationSeconds: config.limits.maxDurationSeconds,
    allowPrivateHosts: options.allowPrivateHosts ?? false,
  });
  const ctx: WorkerContext = {
    orm,
    boss,
    paths: new StoragePaths(config.dataDir),
    maxDurationSeconds: config.limits.maxDurationSeconds,
    sources,
    spotifyMetadata: spotifyMetadataFor(config),
    engine,
    log,
  };
  const workers = await startWorkers(ctx, options);
  return {
    ctx,
    async stop() {
      await workers.stop();
      await boss.stop({ graceful: true });
      await engine.close();
      await orm.close();
    },
  };
}
