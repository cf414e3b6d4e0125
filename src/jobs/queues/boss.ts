/**
 * pg-boss 12 set-up: one PgBoss per process, the three queues created (idempotently)
 * with their retry/expiry policy. Queues use the `exclusive` policy and every job
 * is sent with singletonKey = its row id, so one job row never has two pg-boss
 * jobs queued or running at once (a double send is a no-op that returns null).
 */
import { PgBoss, type Queue } from 'pg-boss';
import { DOWNLOAD_EXPIRY_SECONDS } from '../../domain/jobBudget.ts';
import { QUEUE_NAMES, type QueueName } from './payloads.ts';

type QueueOptions = Omit<Queue, 'name'>;

/**
 * Retries exist for lost workers (crash, expiry) and infrastructure errors; a job
 * that fails for a user-facing reason marks its row failed and completes normally.
 * The per-job expireInSeconds sent with each job (send.ts) overrides these defaults.
 * `notify`: creating a job NOTIFYs, so an idle worker starts it at once instead of at
 * its next poll (a pipeline is three hops; polling cost up to one interval each).
 */
export const QUEUE_OPTIONS: Readonly<Record<QueueName, QueueOptions>> = {
  download: { policy: 'exclusive', notify: true, retryLimit: 2, retryDelay: 10, retryBackoff: true, retryDelayMax: 300, expireInSeconds: DOWNLOAD_EXPIRY_SECONDS },
  separate: { policy: 'exclusive', notify: true, retryLimit: 2, retryDelay: 30, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 3600 },
  analyze: { policy: 'exclusive', notify: true, retryLimit: 2, retryDelay: 10, retryBackoff: true, retryDelayMax: 300, expireInSeconds: 1200 },
};

export interface BossOptions {
  /** Connections pg-boss may hold (default 4: it shares the machine with MikroORM's pool). */
  maxConnections?: number;
  /** Maintenance/supervision on (default true). Tests and the CLI producer may turn it off. */
  supervise?: boolean;
  /** Retry settings override, e.g. a short retryDelay in tests. */
  queueOverrides?: Partial<Record<QueueName, Partial<QueueOptions>>>;
  /** PostgreSQL schema of pg-boss's tables (default `pgboss`); tests use one per file to keep workers apart. */
  schema?: string;
  onError?: (error: Error) => void;
  /** Wake this instance's workers by NOTIFY (default true); false: polling only (tests that race a worker on purpose). */
  listenNotify?: boolean;
}

/** Starts pg-boss on `url` (installing/migrating its schema) and creates the three queues. */
export async function createBoss(url: string, options: BossOptions = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    max: options.maxConnections ?? 4,
    supervise: options.supervise ?? true,
    schedule: false,
    application_name: 'sfa-pg-boss',
    // Wake workers on NOTIFY (queues opt in with `notify`); polling stays as the backstop.
    useListenNotify: options.listenNotify ?? true,
    ...(options.schema ? { schema: options.schema } : {}),
  });
  boss.on('error', options.onError ?? ((error) => process.stderr.write(`[pg-boss] ${error.message}\n`)));
  await boss.start();
  for (const name of QUEUE_NAMES) {
    const { policy, ...settings } = { ...QUEUE_OPTIONS[name], ...options.queueOverrides?.[name] };
    await boss.createQueue(name, { policy, ...settings });
    // createQueue leaves an existing queue alone; bring its settings up to date (the policy cannot change).
    await boss.updateQueue(name, settings);
  }
  return boss;
}
