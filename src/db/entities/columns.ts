/**
 * Column builders shared by the entities: uuid keys, the two timestamps, and
 * the state columns and schema pieces of the three job tables.
 *
 * Ids are generated app-side (so an entity has its id before flush) and the
 * database also defaults to gen_random_uuid() for rows written with raw SQL.
 */
import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';
import { JOB_STATUSES } from '../../domain/jobStatus.ts';

export const idColumn = () => p.uuid().primary().onCreate(() => randomUUID()).defaultRaw('gen_random_uuid()');

export const timestampColumns = () => ({
  insertedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .defaultRaw('now()')
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
});

/**
 * status/progress/error of the three job tables. Read them freely; write
 * status and progress only through src/db/jobStatusWrites.ts (a DB trigger
 * refuses status changes that break the state machine from any writer).
 */
export const jobStateColumns = () => ({
  status: p.enum(JOB_STATUSES).default('queued'),
  progress: p.integer().default(0),
  error: p.text().nullable(),
});

/**
 * Per-table schema pieces of a job table, declared so the schema diff covers
 * them: the progress range CHECK and the status-machine trigger (its function,
 * sfa_job_status_guard, is created by migration 0001).
 */
export function jobTableChecks(table: string) {
  // Written the way PostgreSQL stores `progress between 0 and 100`, so the diff compares equal.
  return [{ name: `${table}_progress_check`, expression: 'progress >= 0 and progress <= 100' }];
}

export function jobTableTriggers(table: string) {
  const name = `${table}_status_guard`;
  return [
    {
      name,
      timing: 'before' as const,
      events: ['update' as const],
      expression: `create trigger ${name} before update of status on ${table} for each row execute function sfa_job_status_guard()`,
    },
  ];
}
