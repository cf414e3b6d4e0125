/**
 * The entities and the hand-written migrations describe the same schema, and
 * the migrations run down and up again cleanly.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MIGRATIONS } from '../../src/db/migrations/index.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import { createDatabase, dropDatabase, openTestOrm, uniqueDatabaseName, withDatabase } from '../support/db.ts';

const TABLES = [
  'analysis_jobs',
  'analysis_results',
  'batch_tracks',
  'batches',
  'deliveries',
  'download_jobs',
  'processing_jobs',
  'reaction_choices',
  'request_slots',
  'requests',
  'stems',
  'tracks',
];

async function tablesIn(orm: Orm): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .execute<{ table_name: string }[]>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by 1`,
    );
  return rows.map((r) => r.table_name);
}

describe('schema', () => {
  let orm: Orm;
  beforeAll(async () => {
    orm = await openTestOrm();
  });
  afterAll(() => orm.close());

  it('has no difference between the entities and the migrated database', async () => {
    const diff = await orm.schema.getUpdateSchemaSQL();
    expect(diff.trim()).toBe('');
    expect(await orm.migrator.checkSchema()).toBe(false);
  });

  it('has applied every registered migration', async () => {
    expect(await orm.migrator.getPending()).toEqual([]);
    const executed = (await orm.migrator.getExecuted()).map((m) => m.name);
    expect(executed).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('has the expected tables', async () => {
    expect(await tablesIn(orm)).toEqual(TABLES);
  });
});

describe('migrations on a fresh database', () => {
  const admin = inject('adminDatabaseUrl');
  const name = uniqueDatabaseName('sfa_test_migrations');
  const url = withDatabase(admin, name);
  beforeAll(() => createDatabase(admin, name));
  afterAll(() => dropDatabase(admin, name));

  it('applies, reports up to date, reverts and re-applies', async () => {
    expect(await migrate(url)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await migrate(url)).toEqual([]);

    const orm = await createOrm(url);
    try {
      expect(await tablesIn(orm)).toEqual(TABLES);
      await orm.migrator.down({ to: 0 });
      expect(await tablesIn(orm)).toEqual([]);
      await orm.migrator.up();
      expect(await tablesIn(orm)).toEqual(TABLES);
    } finally {
      await orm.close();
    }
  });

  it('creates the database when it does not exist', async () => {
    const missing = uniqueDatabaseName('sfa_test_missing');
    try {
      expect(await migrate(withDatabase(admin, missing))).toEqual(MIGRATIONS.map((m) => m.name));
    } finally {
      await dropDatabase(admin, missing);
    }
  });
});
