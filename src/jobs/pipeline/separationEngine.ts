/** Reading what ran a separation from its processing job's row (the worker records it on completion). */
import type { EntityManager } from '@mikro-orm/postgresql';
import { engineFromOptions, type SeparationEngine } from '../../domain/separationEngine.ts';

export async function engineOfJob(em: EntityManager, processingId: string): Promise<SeparationEngine | null> {
  const rows = await em.execute<{ options: unknown }[]>(`select options from processing_jobs where id = ?`, [processingId]);
  return engineFromOptions(rows[0]?.options);
}

/** The engine of the most recently completed separation, if any recorded one. */
export async function latestEngine(em: EntityManager): Promise<SeparationEngine | null> {
  const rows = await em.execute<{ options: unknown }[]>(
    `select options from processing_jobs where status = 'completed' and options->>'backend' is not null order by updated_at desc limit 1`,
  );
  return engineFromOptions(rows[0]?.options);
}
