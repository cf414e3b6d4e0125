/**
 * `sfa db migrate`: applies pending migrations to DATABASE_URL, or to the
 * embedded PostgreSQL under SFA_DATA_DIR (started for the command and
 * stopped after it).
 */
import { loadConfigOrReport } from '../../config.ts';
import { parseCommandLine } from '../args.ts';
import { usageExit } from '../usage.ts';

const USAGE = `usage: sfa db migrate

Applies pending database migrations.
  DATABASE_URL   PostgreSQL to use; unset: embedded PostgreSQL under SFA_DATA_DIR
  SFA_DATA_DIR   data directory (default ./var)
`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandLine(args, {}, { min: 1, max: 1, name: 'subcommand (migrate)' });
  if (parsed.ok !== true || parsed.options.positionals[0] !== 'migrate') {
    const problem = parsed.ok === true ? { ok: false as const, message: `unknown subcommand '${parsed.options.positionals[0]}'` } : parsed;
    return usageExit('sfa db', problem, USAGE);
  }
  const config = loadConfigOrReport();
  if (!config) return 2;

  // Loaded only now: the ORM takes seconds to import, usage errors should not wait for it.
  const { withDatabase } = await import('../database.ts');
  const { migrate } = await import('../../db/migrate.ts');

  return withDatabase('sfa db migrate', config, async (database) => {
    if (database.embedded) {
      const { dataDir, port, startedHere } = database.embedded;
      process.stderr.write(
        `${startedHere ? 'started' : 'using the running'} embedded PostgreSQL (data in ${dataDir}/pg, port ${port})\n`,
      );
    }
    const applied = await migrate(database.url);
    if (applied.length === 0) process.stdout.write('database is up to date\n');
    for (const name of applied) process.stdout.write(`applied ${name}\n`);
    return 0;
  });
}
