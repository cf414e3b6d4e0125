/**
 * vitest globalSetup: one fresh database per run, `sfa_test_<random>`, on the
 * server of DATABASE_URL (default: the local PostgreSQL), migrated once and
 * dropped (WITH (FORCE)) at the end. Tests get its URL via inject('databaseUrl')
 * and keep to their own rows, so test files can run in parallel. Files that need a
 * database of their own get `<name>_f_<random>` (db.ts fileDatabaseUrl), dropped here too.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { redactUrl } from '../../src/config.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createOrm } from '../../src/db/orm.ts';
import { createDatabase, dropDatabase, serverUrl, withDatabase } from './db.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated per-run test database. */
    databaseUrl: string;
    /** The same server's maintenance database, for tests that need a database of their own. */
    adminDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = serverUrl(process.env.DATABASE_URL);
  const name = `sfa_test_${randomBytes(5).toString('hex')}`;
  try {
    await createDatabase(adminUrl, name);
  } catch (error) {
    throw new Error(
      `tests need PostgreSQL at ${redactUrl(adminUrl)} (set DATABASE_URL, or start the local server): ${(error as Error).message}`,
    );
  }
  const url = withDatabase(adminUrl, name);
  await migrate(url);
  project.provide('databaseUrl', url);
  project.provide('adminDatabaseUrl', adminUrl);
  return async () => {
    // Per-file databases (fileDatabaseUrl in db.ts) first, then the run's own.
    const orm = await createOrm(adminUrl);
    let extra: { datname: string }[];
    try {
      extra = await orm.em.getConnection().execute(`select datname from pg_database where datname like ?`, [`${name}\\_f\\_%`]);
    } finally {
      await orm.close();
    }
    for (const { datname } of extra) await dropDatabase(adminUrl, datname);
    await dropDatabase(adminUrl, name);
  };
}
