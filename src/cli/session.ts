/**
 * One CLI run of the pipeline: the database (DATABASE_URL or embedded),
 * migrations, the ORM, pg-boss, the progress listener and — unless other
 * worker processes serve the queues (`--no-worker`) — the download/separate/
 * analyze workers with their engine, job watch and reaper, in this process
 * (what startWorkerProcess composes, with the engine started by the command
 * ahead of the database set-up).
 *
 * Shutdown order (close): stop the reaper and the workers (finishing what
 * they run), the engine, pg-boss, the progress listener and ORM, then the
 * embedded PostgreSQL. On Ctrl-C (interrupt) the ticket is cancelled first
 * (cancelTicket, src/jobs/pipeline/cancel.ts: its rows fail as "cancelled",
 * their waiting pg-boss jobs are deleted) and the engine is stopped, so the
 * running job ends at once instead of being waited for.
 */
import type { Config } from '../config.ts';
import { openDatabase, settlesWithin, type Database } from '../db/postgres.ts';
import { createOrm, type Orm } from '../db/orm.ts';
import type { EngineClient } from '../jobs/engine/client.ts';
// Loaded with the session, not on Ctrl-C, so the interrupt has nothing left to load.
import { cancelTicket, type CancelTicket } from '../jobs/pipeline/cancel.ts';
import type { PipelineContext } from '../jobs/pipeline/requestSeparation.ts';
import { createBoss } from '../jobs/queues/boss.ts';
import { QUEUE_NAMES } from '../jobs/queues/payloads.ts';
import { StoragePaths } from '../jobs/storage/paths.ts';
import type { Logger } from '../log.ts';
import type { AttemptWatch } from '../jobs/workers/attempt.ts';
import type { RunningReaper } from '../jobs/workers/reaper.ts';
import { startWorkerSide } from '../jobs/workers/runtime.ts';
import type { RunningWorkers } from '../jobs/workers/start.ts';
import type { PgBoss } from 'pg-boss';
import { startFollowing, type TicketFollower } from './follow.ts';

export interface SessionOptions {
  config: Config;
  /**
   * The engine for in-process workers (started early by the command); undefined: `--no-worker`.
   * The session closes it; if openSession fails, it stays the caller's to close.
   */
  engine?: EngineClient;
  log: Logger;
}

export interface Session {
  readonly orm: Orm;
  readonly pipeline: PipelineContext;
  readonly follower: TicketFollower;
  /** Whether this process runs workers (false with --no-worker). */
  readonly runsWorkers: boolean;
  /** Starts the in-process workers (no-op with --no-worker or when already started). */
  startWorkers(): Promise<void>;
  /** Stops fetching new jobs; running ones continue. */
  stopFetching(): Promise<void>;
  /** Ctrl-C: cancel `ticket` and stop the engine; then call close(). Returns what was done. */
  interrupt(ticket: CancelTicket | undefined, reason?: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens everything in order; on failure closes what it opened (not the engine) and rethrows. */
export async function openSession(options: SessionOptions): Promise<Session> {
  const { config, log } = options;
  const undo: (() => Promise<unknown>)[] = [];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
  };
  try {
    const database: Database = await openDatabase({ databaseUrl: config.databaseUrl?.reveal(), dataDir: config.dataDir, handleSignals: false });
    undo.push(() => database.close());
    const orm = await createOrm(database.url);
    undo.push(() => orm.close());
    await orm.migrator.up();
    const follower = await startFollowing(database.url, orm);
    undo.push(() => follower.close());
    // No supervision: maintenance belongs to long-lived worker processes; a CLI run is short.
    const boss = await createBoss(database.url, { supervise: false, maxConnections: 4, onError: (e) => log.warn(`[pg-boss] ${e.message}`) });
    undo.push(() => boss.stop({ graceful: false, timeout: 2000 }));
    return buildSession(options, database, orm, boss, follower);
  } catch (error) {
    await unwind();
    throw error;
  }
}

function buildSession(options: SessionOptions, database: Database, orm: Orm, boss: PgBoss, follower: TicketFollower): Session {
  const { config, engine, log } = options;
  const paths = new StoragePaths(config.dataDir);
  const pipeline: PipelineContext = { orm, boss, maxDurationSeconds: config.limits.maxDurationSeconds };
  let workers: RunningWorkers | undefined;
  let attempts: AttemptWatch | undefined;
  let reaper: RunningReaper | undefined;
  let closing: Promise<void> | undefined;
  let interrupted = false;

  const stopFetching = async () => {
    if (!workers) return;
    await Promise.all(QUEUE_NAMES.map((q) => boss.offWork(q, { wait: false }).catch(() => undefined)));
  };

  return {
    orm,
    pipeline,
    follower,
    runsWorkers: engine !== undefined,
    async startWorkers() {
      if (!engine || workers || closing) return;
      // As in a worker process. Private-network links are fetched only for work whose track allows it
      // (the CLI's own requests, see src/cli/commands), never because this process is a CLI.
      ({ workers, attempts, reaper } = await startWorkerSide(
        config,
        database.url,
        { orm, boss, engine, log, paths },
        { pollingIntervalSeconds: 0.5 },
      ));
    },
    stopFetching,
    async interrupt(ticket, reason = 'interrupted from the command line (Ctrl-C)') {
      interrupted = true;
      await stopFetching();
      const done: string[] = [];
      if (ticket) done.push(await cancel(pipeline, ticket, reason));
      // Whatever cancel did, the engine must not keep the running job (and this process) alive.
      // Killed at once, not after a grace period: closing rejects the running request, and its
      // worker then removes the job's work folder, which an engine still running could recreate.
      if (engine) {
        await engine.close(0).catch(() => undefined);
        done.push('engine stopped');
      }
      return done.join('; ');
    },
    close() {
      // After Ctrl-C the user is waiting to get the prompt back, and the database may already be
      // gone (a terminal's Ctrl-C reaches an embedded PostgreSQL too): shorter bounds.
      const limit = (normal: number) => (interrupted ? Math.min(normal, 5000) : normal);
      closing ??= (async () => {
        await stopFetching();
        await step('stopping the reaper', async () => reaper?.stop(), limit(10_000), log);
        await step('stopping the workers', async () => workers?.stop(), limit(30_000), log);
        await step('stopping the job watch', async () => attempts?.close(), limit(5000), log);
        // Nothing is running in it any more (the workers stopped): a short grace, then it is killed.
        // Its own exit after stdin closes takes ~1.5 s (interpreter and torch teardown), which a
        // CLI user would wait for; an engine that never got a job is stopped at once.
        await step('stopping the engine', async () => engine?.close(workers ? 300 : 0), limit(10_000), log);
        await step('stopping pg-boss', () => boss.stop({ graceful: !interrupted, timeout: 5000 }), limit(10_000), log);
        await step('closing the progress listener', () => follower.close(), limit(5000), log);
        await step('closing the database connections', () => orm.close(), limit(5000), log);
        await step('stopping the embedded PostgreSQL', () => database.close(), limit(30_000), log);
      })();
      return closing;
    },
  };
}

/** One shutdown step: bounded in time, and a failing step does not stop the ones after it. */
async function step(what: string, run: () => Promise<unknown>, timeoutMs: number, log: Logger): Promise<void> {
  const started = performance.now();
  try {
    if (await settlesWithin(run(), timeoutMs)) log.info(`shutdown: ${what}: ${Math.round(performance.now() - started)} ms`);
    else log.warn(`${what} took longer than ${timeoutMs / 1000} s; going on`);
  } catch (error) {
    log.warn(`${what} failed: ${(error as Error).message}`);
  }
}

/** cancelTicket, bounded: the user is waiting for the prompt. What it did, for the interrupt's message. */
async function cancel(ctx: PipelineContext, ticket: CancelTicket, reason: string): Promise<string> {
  try {
    return (await settlesWithin(cancelTicket(ctx, ticket, { reason }), 5000)) ? 'request cancelled' : 'cancelling took too long';
  } catch (error) {
    return `cancel failed: ${(error as Error).message}`;
  }
}
