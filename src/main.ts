/**
 * `npm start [-- --role bot|worker|all]`: one codebase, three roles (README: Architecture).
 * worker: the download/separate/analyze queues. bot: the Discord gateway and
 * slash commands (DISCORD_TOKEN required). all (default): both in one process.
 */
import { parseArgs } from 'node:util';
import { MISSING_TOKEN } from './bot/messages.ts';
import { loadConfigOrExit } from './config.ts';

const ROLES = ['bot', 'worker', 'all'] as const;
type Role = (typeof ROLES)[number];

function parseRole(argv: string[]): Role | undefined {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } }, strict: true });
  return (ROLES as readonly string[]).includes(values.role) ? (values.role as Role) : undefined;
}

interface Part {
  name: string;
  stop(): Promise<void>;
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

  const config = loadConfigOrExit();
  const withBot = role !== 'worker';
  const withWorkers = role !== 'bot';
  if (withBot && !config.discord.token) {
    process.stderr.write(`${MISSING_TOKEN}\n`);
    return 2;
  }

  // Listening from the start: a Ctrl-C while starting must not kill the process past the embedded
  // PostgreSQL it started (the server is in its own process group). `on`, not `once`: execa's
  // signal-exit (the engine child's cleanup) re-raises a signal that no other listener handles,
  // which would kill the process in the middle of this graceful stop.
  const stopRequested = new Promise<void>((resolve) => {
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });

  // Stopped in reverse order of starting.
  const parts: Part[] = [];
  const stopAll = async () => {
    for (const part of parts.reverse()) {
      await part.stop().catch((error: unknown) => process.stderr.write(`stopping ${part.name} failed: ${(error as Error).message}\n`));
    }
  };

  // Imported only when needed, so a configuration error is reported at once: discord.js and the ORM take seconds to load.
  try {
    // Both roles need the database (DATABASE_URL or the embedded one), migrated.
    const { openDatabase } = await import('./db/postgres.ts');
    const { migrate } = await import('./db/migrate.ts');
    const database = await openDatabase({ databaseUrl: config.databaseUrl?.reveal(), dataDir: config.dataDir, handleSignals: false });
    parts.push({ name: 'the database', stop: () => database.close() });
    await migrate(database.url);
    if (withWorkers) {
      const { startWorkerProcess } = await import('./jobs/workers/runtime.ts');
      const workers = await startWorkerProcess(config, database.url);
      parts.push({ name: 'the workers', stop: () => workers.stop() });
      process.stderr.write('workers started (download, separate, analyze)\n');
    }
    if (withBot) {
      const { startBot } = await import('./bot/start.ts');
      const { startBotRuntime } = await import('./bot/runtime.ts');
      const { stderrBotLogger } = await import('./bot/log.ts');
      const log = stderrBotLogger(config.logLevel);
      const runtime = await startBotRuntime({ config, databaseUrl: database.url, log });
      parts.push({ name: 'the bot runtime', stop: () => runtime.stop() });
      const bot = await startBot({ config, log, runtime });
      parts.push({ name: 'the bot', stop: () => bot.stop() });
    }
  } catch (error) {
    // A BotStartError's message is written for the person starting the bot.
    const message = (error as Error).name === 'BotStartError' ? (error as Error).message : `start failed: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    await stopAll();
    return 1;
  }
  process.stderr.write(`running (${role}); Ctrl+C stops\n`);
  await stopRequested;
  process.stderr.write('stopping...\n');
  await stopAll();
  return 0;
}

process.exitCode = await main();
