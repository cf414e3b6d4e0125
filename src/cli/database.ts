/**
 * The database part of the light commands (`sfa gc`, `sfa status`, `sfa db
 * migrate`): open DATABASE_URL or the embedded PostgreSQL, run the command's
 * work, close it again. Its messages: `<command>: cannot open the database:
 * <why>` and `<command>: <why>` when the work fails, both exit 1.
 *
 * The database and ORM modules are imported only here, when needed: the ORM
 * takes seconds to import, and usage errors should not wait for it.
 */
import type { Config } from '../config.ts';
import type { Database } from '../db/postgres.ts';
import type { Orm } from '../db/orm.ts';

type Write = (text: string) => void;

const stderr: Write = (text) => void process.stderr.write(text);

/** Opens the database, runs `run` and closes it; `run`'s exit code, or 1 when opening or running failed. */
export async function withDatabase(
  command: string,
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  run: (database: Database) => Promise<number>,
  err: Write = stderr,
): Promise<number> {
  const { openDatabase } = await import('../db/postgres.ts');
  let database;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl?.reveal(), dataDir: config.dataDir });
  } catch (error) {
    err(`${command}: cannot open the database: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    return await run(database);
  } catch (error) {
    err(`${command}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

/** withDatabase, with an ORM on it for `run` (closed after it). Migrations are `run`'s to apply. */
export async function withOrm(
  command: string,
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  run: (orm: Orm) => Promise<number>,
  err: Write = stderr,
): Promise<number> {
  const { createOrm } = await import('../db/orm.ts');
  return withDatabase(
    command,
    config,
    async (database) => {
      const orm = await createOrm(database.url);
      try {
        return await run(orm);
      } finally {
        await orm.close();
      }
    },
    err,
  );
}
