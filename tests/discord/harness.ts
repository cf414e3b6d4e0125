/**
 * End-to-end harness: the fake Discord, then the REAL bot as a child process
 * (`node src/main.ts --role bot|all`, as `npm start` runs it) pointed at the
 * fake through DISCORD_API_BASE, with the per-run test database, a temporary
 * data folder and (optionally) tiny generated models. Also runs one-shot
 * commands (`sfa discord register`, a start that must fail) the same way.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import type { Orm } from '../../src/db/orm.ts';
import { REPO_ROOT } from '../../src/config.ts';
import { FakeDiscord, type FakeDiscordOptions } from '../support/fakeDiscord/index.ts';
import { fileDatabaseUrl, openFileOrm } from '../support/db.ts';
import { makeTinyModels, tempDir } from '../engine/helpers.ts';

const SFA = path.join(REPO_ROOT, 'bin/sfa.js');

/** The child's environment: ours minus anything that would point it elsewhere, plus `env`. */
export function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const inherited = Object.entries(process.env).filter(
    ([key]) => !key.startsWith('DISCORD_') && !['DATABASE_URL', 'SFA_DATA_DIR', 'SFA_MODEL_DIR', 'LOG_LEVEL', 'SFA_HTTP_PORT'].includes(key),
  );
  const merged = { ...Object.fromEntries(inherited), ...env };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface CommandResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** `npm start -- --role <role>` for a run that is expected to end by itself (e.g. a configuration error). */
export async function runStart(role: string, env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<CommandResult> {
  const result = await execa(process.execPath, ['src/main.ts', '--role', role], { cwd: REPO_ROOT, env: childEnv(env), extendEnv: false, reject: false, timeout: timeoutMs });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** `npx sfa <args>`. */
export async function runSfa(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<CommandResult> {
  const result = await execa(process.execPath, [SFA, ...args], { cwd: REPO_ROOT, env: childEnv(env), extendEnv: false, reject: false, timeout: timeoutMs });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

export interface BotHarnessOptions {
  role?: 'bot' | 'all';
  fake?: FakeDiscordOptions;
  /** Register per guild (DISCORD_GUILD_ID = the fake's guild; default) or globally. */
  guildScoped?: boolean;
  /** Default: this test file's own database (fileDatabaseUrl: bots run workers on the default queues). */
  databaseUrl?: string;
  /** Tiny generated models to put in SFA_MODEL_DIR (for the separation flow). */
  models?: string[];
  /** Extra environment; a function sees the fake (e.g. to trust its attachment CDN). */
  env?: Record<string, string | undefined> | ((fake: FakeDiscord) => Record<string, string | undefined>);
  readyTimeoutMs?: number;
  /** Start against an existing fake, data and model folders (a restart); close() then leaves them alone. */
  reuse?: { fake: FakeDiscord; dataDir: string; modelDir: string };
}

export interface BotHarness {
  fake: FakeDiscord;
  dataDir: string;
  modelDir: string;
  /** Everything the bot printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, as a service manager stops it (SIGKILL: a crash); resolves with the exit code. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | undefined>;
  /** stop(), then the fake and the temporary folders. */
  close(): Promise<void>;
  /**
   * Stops the bot (SIGTERM, or SIGKILL for a crash) and starts a new bot process against the same
   * fake, database and data folder; resolves once it is ready again. output() then shows the new process.
   */
  restart(options?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
}

export async function startBotHarness(options: BotHarnessOptions = {}): Promise<BotHarness> {
  const fake = options.reuse?.fake ?? (await FakeDiscord.start(options.fake));
  const dataDir = options.reuse?.dataDir ?? tempDir('bot-data');
  const modelDir = options.reuse?.modelDir ?? (options.models?.length ? await makeTinyModels(options.models) : path.join(dataDir, 'models'));
  const env = childEnv({
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE: fake.apiBase,
    DISCORD_GUILD_ID: options.guildScoped === false ? undefined : fake.guild.id,
    DATABASE_URL: options.databaseUrl ?? (await fileDatabaseUrl()),
    SFA_DATA_DIR: dataDir,
    SFA_MODEL_DIR: modelDir,
    SFA_HTTP_PORT: '0',
    // The bot fetches attached files only from the CDN it trusts: here the fake's.
    SFA_DISCORD_CDN_BASES: `${fake.url}/attachments/`,
    LOG_LEVEL: 'info',
    ...(typeof options.env === 'function' ? options.env(fake) : options.env),
  });
  let out = '';
  let child: ResultPromise;
  let exited: number | undefined | null = null;
  let exit: Promise<number | undefined>;
  const spawn = () => {
    out = '';
    exited = null;
    // One process (node runs the TypeScript itself; no wrapper process in between), so a SIGKILL
    // really kills the bot, as a crash would.
    child = execa(process.execPath, ['src/main.ts', '--role', options.role ?? 'bot'], { cwd: REPO_ROOT, env, extendEnv: false, reject: false, all: true });
    child.all?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    exit = child.then((r) => {
      exited = r.exitCode;
      fake.core.changed();
      return r.exitCode;
    });
  };

  const cleanup = async () => {
    if (options.reuse) return;
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (modelDir !== path.join(dataDir, 'models')) rmSync(modelDir, { recursive: true, force: true });
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (exited === null) {
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(killer);
    }
    return exited ?? undefined;
  };
  // Ready = logged in (a live gateway session), commands registered, and the process says so.
  const ready = () =>
    fake.waitUntil(
      'the bot to be ready',
      () => {
        if (exited !== null) throw new Error(`the bot exited with ${String(exited)} before it was ready:\n${out}`);
        const registered = options.guildScoped === false ? fake.commands() : fake.commands(fake.guild.id);
        return fake.connectedSessions > 0 && registered.length > 0 && /ready as /.test(out);
      },
      options.readyTimeoutMs ?? 90_000,
    );

  spawn();
  try {
    await ready();
  } catch (error) {
    await stop();
    await cleanup();
    throw error;
  }
  return {
    fake,
    dataDir,
    modelDir,
    output: () => out,
    stop: (signal) => stop(signal),
    close: async () => {
      await stop();
      await cleanup();
    },
    restart: async (opts = {}) => {
      await stop(opts.signal ?? 'SIGTERM');
      // The old session's socket is gone once the process is; wait so "connected" means the new one.
      await fake.waitUntil('the old gateway session to close', () => fake.connectedSessions === 0, 15_000);
      spawn();
      await ready();
    },
  };
}

export interface BotSuite {
  readonly bot: BotHarness;
  /** This file's database (the one the bot writes to). */
  readonly orm: Orm;
}

/**
 * A file's bot and database for its tests: beforeAll opens this file's database and starts
 * the bot on it (options may be computed then); afterAll stops both, first writing what the
 * bot printed to $STORY_LOG when set.
 */
export function useBot(options: BotHarnessOptions | (() => Promise<BotHarnessOptions>), startTimeoutMs = 180_000): BotSuite {
  const suite = {} as { bot: BotHarness; orm: Orm };
  beforeAll(async () => {
    suite.orm = await openFileOrm();
    suite.bot = await startBotHarness(typeof options === 'function' ? await options() : options);
  }, startTimeoutMs);
  afterAll(async () => {
    if (process.env.STORY_LOG) writeFileSync(process.env.STORY_LOG, suite.bot?.output() ?? '');
    await suite.bot?.close();
    await suite.orm?.close();
  }, 60_000);
  return suite;
}
