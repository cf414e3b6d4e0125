/** The database layer's public surface. */
export * from './entities/index.ts';
export { createOrm, ormConfig, type Orm } from './orm.ts';
export { migrate } from './migrate.ts';
export { openDatabase, type Database, type OpenDatabaseOptions } from './postgres.ts';
export {
  ACTIVE_STATUSES,
  JOB_KINDS,
  JOB_TABLES,
  JobNotFoundError,
  setProgress,
  transitionJob,
  type JobEntity,
  type JobKind,
  type JobPatch,
} from './jobStatusWrites.ts';
