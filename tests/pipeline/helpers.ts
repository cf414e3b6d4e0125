/**
 * Fixtures for the pipeline tests: generated audio (ffmpeg), tiny random Demucs
 * models, an engine wrapper that counts requests, and a running pipeline
 * (pg-boss in a schema of its own, workers, progress follower) on the per-run
 * test database.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { PgBoss } from 'pg-boss';
import type { Orm } from '../../src/db/orm.ts';
import type { JobStatus } from '../../src/domain/jobStatus.ts';
import { createAudioSources } from '../../src/jobs/download/sources.ts';
import { EngineClient, EngineError } from '../../src/jobs/engine/client.ts';
import { followProgress, type ProgressEvent, type ProgressFollower } from '../../src/jobs/pipeline/progressEvents.ts';
import type { PipelineContext, SeparationTicket } from '../../src/jobs/pipeline/requestSeparation.ts';
import { createBoss } from '../../src/jobs/queues/boss.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import type { Engine, WorkerContext } from '../../src/jobs/workers/context.ts';
import { startWorkers, type RunningWorkers } from '../../src/jobs/workers/start.ts';
import { openTestOrm, testDatabaseUrl } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { memoryLogger, tempDir } from '../engine/helpers.ts';

export { PYTHON, tempDir, makeTinyModels, memoryLogger, toneWav } from '../engine/helpers.ts';

/** Counts engine requests per command, so tests can prove reuse did no engine work. */
export class CountingEngine implements Engine {
  private readonly inner: EngineClient;
  readonly calls: { cmd: string; input?: string }[] = [];
  /** When set, the next request of this command hangs until its signal aborts (simulates a stuck job). */
  hangNext: string | undefined;
  constructor(inner: EngineClient) {
    this.inner = inner;
  }
  request: Engine['request'] = async (command, options) => {
    this.calls.push({ cmd: command.cmd, ...('input' in command ? { input: command.input } : {}) });
    if (this.hangNext === command.cmd) {
      this.hangNext = undefined;
      const signal = options?.signal;
      await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
      throw new EngineError('cancelled', 'cancelled by the caller');
    }
    return this.inner.request(command, options);
  };
  count(cmd: string): number {
    return this.calls.filter((c) => c.cmd === cmd).length;
  }
}

export interface TestPipeline {
  orm: Orm;
  boss: PgBoss;
  bossSchema: string;
  ctx: WorkerContext;
  pipeline: PipelineContext;
  engine: CountingEngine;
  events: ProgressEvent[];
  log: ReturnType<typeof memoryLogger>;
  dataDir: string;
  /** Stops the workers and their pg-boss instance, as a process exit would. */
  stopWorkers(): Promise<void>;
  /** A new pg-boss instance and new workers on the same database and storage, as a restart would. */
  startWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** `cacheDir`: the engine's converted-model cache (SFA_CACHE_DIR); a fresh one makes the first separation convert. */
export async function startTestPipeline(options: { modelDir: string; maxDurationSeconds: number; cacheDir?: string }): Promise<TestPipeline> {
  const url = testDatabaseUrl();
  const orm = await openTestOrm();
  const bossSchema = `pgboss_test_${randomBytes(4).toString('hex')}`;
  const boss = await createBoss(url, { schema: bossSchema, supervise: false, maxConnections: 3 });
  const dataDir = tempDir('data');
  const log = memoryLogger();
  const client = new EngineClient({
    env: { SFA_MODEL_DIR: options.modelDir, SFA_DEVICE: 'cpu', SFA_TORCH_THREADS: '1', ...(options.cacheDir ? { SFA_CACHE_DIR: options.cacheDir } : {}) },
    logger: { info: () => undefined, warn: (m) => log.lines.push(`[engine] ${m}`), error: (m) => log.lines.push(`[engine] ${m}`) },
  });
  const engine = new CountingEngine(client);
  const sources = await createAudioSources({
    maxFileMb: 50,
    maxDurationSeconds: options.maxDurationSeconds,
    spotdlPath: false,
  });
  const ctx: WorkerContext = {
    orm,
    boss,
    paths: new StoragePaths(dataDir),
    maxDurationSeconds: options.maxDurationSeconds,
    sources,
    engine,
    progressThrottle: { minIntervalMs: 200, minStep: 2 },
    log,
  };
  const events: ProgressEvent[] = [];
  const follower: ProgressFollower = await followProgress(url, (e) => events.push(e));
  let workers: RunningWorkers | undefined = await startWorkers(ctx, { pollingIntervalSeconds: 0.5 });
  const pipeline: PipelineContext = { orm, boss, maxDurationSeconds: options.maxDurationSeconds };
  const result: TestPipeline = {
    orm,
    boss,
    bossSchema,
    ctx,
    pipeline,
    engine,
    events,
    log,
    dataDir,
    async stopWorkers() {
      await workers?.stop();
      workers = undefined;
      await ctx.boss.stop({ graceful: true });
    },
    async startWorkers() {
      const next = await createBoss(url, { schema: bossSchema, supervise: false, maxConnections: 3 });
      ctx.boss = next;
      pipeline.boss = next;
      result.boss = next;
      workers = await startWorkers(ctx, { pollingIntervalSeconds: 0.5 });
    },
    async close() {
      await workers?.stop();
      await ctx.boss.stop({ graceful: true });
      await follower.close();
      await client.close();
      await orm.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return result;
}

export interface JobRow {
  id: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  output_path?: string | null;
  file_size?: string | null;
}

export async function jobRow(orm: Orm, table: string, id: string): Promise<JobRow> {
  const rows = await orm.em.fork().execute<JobRow[]>(`select * from ${table} where id = ?`, [id]);
  if (!rows[0]) throw new Error(`no ${table} row ${id}`);
  return rows[0];
}

const TERMINAL = new Set<JobStatus>(['completed', 'failed']);

/** Polls until all three rows of a ticket are terminal; returns them. */
export async function waitForTicket(orm: Orm, ticket: SeparationTicket, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const download = await jobRow(orm, 'download_jobs', ticket.downloadJobId);
    const processing = await jobRow(orm, 'processing_jobs', ticket.processingJobId);
    const analysis = await jobRow(orm, 'analysis_jobs', ticket.analysisJobId);
    if ([download, processing, analysis].every((r) => TERMINAL.has(r.status))) return { download, processing, analysis };
    if (Date.now() > deadline) {
      throw new Error(`ticket not finished: ${JSON.stringify({ download: download.status, processing: processing.status, analysis: analysis.status })}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** pg-boss jobs of our test schema still waiting or running for these row ids. */
export async function liveBossJobs(t: TestPipeline, rowIds: string[]): Promise<number> {
  const rows = await t.orm.em.fork().execute<{ n: string }[]>(
    `select count(*) as n from ${t.bossSchema}.job where state in ('created', 'retry', 'active') and singleton_key in (?)`,
    [rowIds],
  );
  return Number(rows[0]!.n);
}

/** Waits until pg-boss has settled every job of these rows (a handler marks its row, then returns). */
export async function expectNoLiveJobs(t: TestPipeline, rowIds: string[]): Promise<void> {
  await until('pg-boss jobs to settle', async () => (await liveBossJobs(t, rowIds)) === 0, 15_000);
}
