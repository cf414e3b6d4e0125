/**
 * Producer side: sends the pg-boss job for a job row. Called inside the
 * transaction that created (or released) the row, so row and queue entry commit
 * together — there is never a queued row without its pg-boss job, nor the reverse.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { fromKysely, type Db, type KyselyTransactionLike, type PgBoss } from 'pg-boss';
import { DOWNLOAD_EXPIRY_SECONDS } from '../../domain/jobBudget.ts';
import { PAYLOAD_SCHEMAS, QUEUES, rowIdOf, type PayloadFor, type QueueName } from './payloads.ts';

/** pg-boss statements on `em`'s open transaction (MikroORM 7 runs on Kysely), or undefined outside one. */
export function transactionDb(em: EntityManager): Db | undefined {
  const trx = em.getTransactionContext<KyselyTransactionLike>();
  return trx ? fromKysely(trx) : undefined;
}

export interface SendOptions {
  /** Seconds the job may stay active before pg-boss considers its worker lost. */
  expireInSeconds?: number;
}

/**
 * Sends one job. singletonKey = the row id (queues are `exclusive`): while a job for
 * that row is queued, waiting for retry or running, another send returns null.
 */
export async function sendJob<Q extends QueueName>(
  boss: PgBoss,
  em: EntityManager,
  queue: Q,
  payload: PayloadFor<Q>,
  options: SendOptions = {},
): Promise<string | null> {
  const data = PAYLOAD_SCHEMAS[queue].parse(payload) as PayloadFor<Q>;
  const rowId = rowIdOf(queue, data);
  const db = transactionDb(em);
  return boss.send(queue, data, {
    singletonKey: rowId,
    ...(options.expireInSeconds !== undefined ? { expireInSeconds: options.expireInSeconds } : {}),
    ...(db ? { db } : {}),
  });
}

export const sendDownload = (boss: PgBoss, em: EntityManager, downloadJobId: string, lostAttempts?: number) =>
  sendJob(boss, em, QUEUES.download, { downloadJobId, ...(lostAttempts ? { lostAttempts } : {}) }, { expireInSeconds: DOWNLOAD_EXPIRY_SECONDS });

export const sendSeparate = (boss: PgBoss, em: EntityManager, processingJobId: string, expireInSeconds: number, lostAttempts?: number) =>
  sendJob(boss, em, QUEUES.separate, { processingJobId, ...(lostAttempts ? { lostAttempts } : {}) }, { expireInSeconds });

export const sendAnalyze = (boss: PgBoss, em: EntityManager, analysisJobId: string, expireInSeconds: number, lostAttempts?: number) =>
  sendJob(boss, em, QUEUES.analyze, { analysisJobId, ...(lostAttempts ? { lostAttempts } : {}) }, { expireInSeconds });
