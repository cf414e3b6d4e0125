/**
 * Registers the three pg-boss workers of a `worker` (or `all`) process.
 * Handlers get arrays of jobs (pg-boss 12); with batchSize 1 each array holds
 * one. A handler throws only for infrastructure errors (database unreachable
 * ...): pg-boss then retries, and the retry meets the row guard in claim.ts.
 */
import type { Job, PgBoss } from 'pg-boss';
import { InvalidPayloadError, parsePayload, QUEUES, type QueueName } from '../queues/payloads.ts';
import { runAnalyzeJob } from './analyze.ts';
import { AttemptWatch } from './attempt.ts';
import { DEFAULT_RECOVERY_TIMING, type WorkerContext } from './context.ts';
import { runDownloadJob } from './download.ts';
import { runSeparateJob } from './separate.ts';

export interface WorkerConcurrency {
  /** Parallel downloads per process (network-bound). Default 2. */
  download: number;
  /** Parallel separations per process: the engine runs one at a time anyway. Default 1. */
  separate: number;
  /** Parallel analyses per process. Default 1. */
  analyze: number;
}

export const DEFAULT_CONCURRENCY: WorkerConcurrency = { download: 2, separate: 1, analyze: 1 };

export interface StartWorkersOptions {
  concurrency?: Partial<WorkerConcurrency>;
  /** Idle poll interval (pg-boss minimum 0.5). Default 2. */
  pollingIntervalSeconds?: number;
  /** Which queues this process works (default all three; e.g. a GPU box: ['separate']). */
  queues?: readonly QueueName[];
}

export interface RunningWorkers {
  /** Stops fetching and waits for running jobs (pg-boss `offWork` with wait). */
  stop(): Promise<void>;
}

const RUNNERS: Record<QueueName, (ctx: WorkerContext, data: unknown, signal: AbortSignal) => Promise<void>> = {
  download: (ctx, data, signal) => runDownloadJob(ctx, parsePayload(QUEUES.download, data), signal),
  separate: (ctx, data, signal) => runSeparateJob(ctx, parsePayload(QUEUES.separate, data), signal),
  analyze: (ctx, data, signal) => runAnalyzeJob(ctx, parsePayload(QUEUES.analyze, data), signal),
};

export async function startWorkers(ctx: WorkerContext, options: StartWorkersOptions = {}): Promise<RunningWorkers> {
  const concurrency = { ...DEFAULT_CONCURRENCY, ...options.concurrency };
  // Without a process-wide watch (startWorkerProcess makes one that also LISTENs), heartbeats alone
  // keep running rows alive and notice cancelled ones.
  const ownWatch = ctx.attempts
    ? undefined
    : (ctx.attempts = new AttemptWatch(ctx.orm, ctx.log, { heartbeatMs: (ctx.recovery ?? DEFAULT_RECOVERY_TIMING).heartbeatSeconds * 1000 }));
  const queues = options.queues ?? Object.values(QUEUES);
  const boss: PgBoss = ctx.boss;
  const ids: string[] = [];
  for (const queue of queues) {
    const id = await boss.work(
      queue,
      {
        batchSize: 1,
        localConcurrency: concurrency[queue],
        pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2,
        // While NOTIFY is active pg-boss polls at this interval instead; keep it the base interval: a
        // busy worker learns of a backlog only by polling (a 10 s backstop drained 20 downloads 10x slower).
        notifyPollingIntervalSeconds: options.pollingIntervalSeconds ?? 2,
      },
      async (jobs: Job<unknown>[]) => {
        for (const job of jobs) {
          try {
            await RUNNERS[queue](ctx, job.data, job.signal);
          } catch (error) {
            // A malformed payload is a producer bug: retrying cannot fix it.
            if (error instanceof InvalidPayloadError) ctx.log.error(`${queue} job ${job.id}: ${error.message}`);
            else throw error;
          }
        }
      },
    );
    ids.push(id);
  }
  return {
    async stop() {
      for (const queue of queues) await boss.offWork(queue, { wait: true });
      if (ownWatch) {
        await ownWatch.close();
        if (ctx.attempts === ownWatch) delete ctx.attempts;
      }
    },
  };
}
