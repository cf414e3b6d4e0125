/**
 * `npm start [-- --role bot|worker|all]`: one codebase, three roles (DESIGN.md).
 * The worker role runs the download/separate/analyze queues; the Discord bot
 * role is not built yet, so `all` currently runs the workers only.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from './config.ts';
import { openDatabase } from './db/postgres.ts';
import { migrate } from './db/migrate.ts';
import { startWorkerProcess } from './jobs/workers/runtime.ts';

const ROLES = ['bot', 'worker', 'all'] as const;
type Role = (typeof ROLES)[number];

function parseRole(argv: string[]): Role | undefined {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } }, strict: true });
  return (ROLES as readonly string[]).includes(values.role) ? (values.role as Role) : undefined;
}

async function main(): Promise<number> {
  let role: Role | undefined;
  try {
    role = parseRole(process.argv.slice(2));
  } catch (error) {
    role = undefined;
    process.stderr.write(`${(error as Error).message}\n`);
  }
  if (!role) {
    process.stderr.write(`usage: npm start -- [--role ${ROLES.join('|')}]\n`);
    return 2;
  }
  if (role === 'bot') {
    process.stderr.write('The Discord bot role is not built yet; run `--role worker` and use `npx sfa` meanwhile.\n');
    return 1;
  }
  if (role === 'all') process.stderr.write('note: the Discord bot is not built yet; starting the workers only.\n');

  const config = loadConfigOrExit();
  const database = await openDatabase({ databaseUrl: config.databaseUrl?.reveal(), dataDir: config.dataDir, handleSignals: false });
  await migrate(database.url);
  const workers = await startWorkerProcess(config, database.url);
  process.stderr.write('workers started (download, separate, analyze); Ctrl+C stops them\n');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('stopping: finishing the current jobs...\n');
  await workers.stop();
  await database.close();
  return 0;
}

process.exitCode = await main();
