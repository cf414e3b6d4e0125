/**
 * Fixtures for the recovery and cancellation tests: a database of the file's own
 * (fileDatabaseUrl: the reaper looks at every row of its database, and worker processes use
 * pg-boss's default schema, so they must not share the per-run test database
 * with other files), real worker processes (`node src/main.ts
 * --role worker`), and /proc helpers to find a worker's engine child.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll } from 'vitest';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import { REPO_ROOT } from '../../src/config.ts';
import type { PipelineContext } from '../../src/jobs/pipeline/requestSeparation.ts';
import { createBoss } from '../../src/jobs/queues/boss.ts';
import { fileDatabaseUrl } from '../support/db.ts';
import { makeTinyModels, tempDir } from './helpers.ts';

export interface OwnDatabase {
  url: string;
}

/** This file's own migrated database (fileDatabaseUrl: created on first use, dropped at the end of the run). */
export async function ownDatabase(): Promise<OwnDatabase> {
  return { url: await fileDatabaseUrl() };
}

export interface Producer {
  orm: Orm;
  boss: PgBoss;
  pipeline: PipelineContext;
  close(): Promise<void>;
}

/** What a front end holds: an ORM and a pg-boss that only sends (pg-boss' default schema, like the workers). */
export async function openProducer(url: string, maxDurationSeconds = 60): Promise<Producer> {
  const orm = await createOrm(url);
  const boss = await createBoss(url, { supervise: false, maxConnections: 2, onError: () => undefined });
  return {
    orm,
    boss,
    pipeline: { orm, boss, maxDurationSeconds },
    async close() {
      await boss.stop({ graceful: false });
      await orm.close();
    },
  };
}

/** Worker settings for tests: small heartbeat/stale/reaper timings so a lost worker is noticed in seconds. */
export function workerEnv(options: { url: string; dataDir: string; modelDir: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    DATABASE_URL: options.url,
    SFA_DATA_DIR: options.dataDir,
    SFA_MODEL_DIR: options.modelDir,
    SFA_DEVICE: 'cpu',
    SFA_TORCH_THREADS: '1',
    SFA_MAX_DURATION_SECONDS: '120',
    SFA_HEARTBEAT_SECONDS: '1',
    SFA_STALE_AFTER_SECONDS: '6',
    SFA_REAPER_INTERVAL_SECONDS: '1',
    ...options.extra,
  };
}

/** What a file running real worker processes works with; its fields are set in beforeAll. */
export interface WorkerProcessesFixture {
  db: OwnDatabase;
  producer: Producer;
  modelDir: string;
  audioDir: string;
  dataDir: string;
  /** Spawned workers: push them here, and whatever still runs is killed (SIGKILL) after the file. */
  workers: WorkerChild[];
}

/**
 * Registers the file's beforeAll/afterAll: a database of its own, a tiny htdemucs model,
 * audio and data directories and a producer; afterwards kills the workers left running and
 * removes it all.
 */
export function useWorkerProcesses(): WorkerProcessesFixture {
  const fx = { workers: [] as WorkerChild[] } as WorkerProcessesFixture;
  beforeAll(async () => {
    fx.db = await ownDatabase();
    fx.modelDir = await makeTinyModels(['htdemucs']);
    fx.audioDir = tempDir('audio');
    fx.dataDir = tempDir('data');
    fx.producer = await openProducer(fx.db.url);
  }, 180_000);
  afterAll(async () => {
    for (const w of fx.workers) if (w.running()) w.child.kill('SIGKILL');
    await fx.producer?.close();
    for (const dir of [fx.modelDir, fx.audioDir, fx.dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return fx;
}

export interface WorkerChild {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** stderr so far (the worker logs every job it finishes there). */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process is still running. */
  running(): boolean;
}

/** `node src/main.ts --role worker` (the same thing `npm start -- --role worker` runs), ready once it says so. */
export async function spawnWorker(env: Record<string, string>, timeoutMs = 60_000): Promise<WorkerChild> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'src/main.ts'), '--role', 'worker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  child.stdout.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedWith = { code, signal };
      resolve(exitedWith);
    }),
  );
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker not ready after ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    const check = () => {
      if (stderr.includes('workers started')) {
        clearTimeout(timer);
        child.stderr.off('data', check);
        ready();
      }
    };
    child.stderr.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`worker exited before it was ready:\n${stderr}`));
    });
  });
  return { child, pid: child.pid!, log: () => stderr, exited, running: () => exitedWith === undefined };
}

/** Stops a worker the way an operator does (SIGTERM) and returns its exit. */
export async function stopWorker(worker: WorkerChild | undefined): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  if (!worker || !worker.running()) return worker ? await worker.exited : undefined;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 30_000);
  const result = await worker.exited;
  clearTimeout(timer);
  return result;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by its new parent) counts as gone.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Every process whose ancestry leads to `pid`, read from /proc. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  for (const [child] of parentOf) {
    for (let p = parentOf.get(child); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === pid) {
        out.push(child);
        break;
      }
    }
  }
  return out;
}

/** The Python engine (`python -m sfa_engine`) a worker process started. */
export function enginePidOf(workerPid: number): number | undefined {
  return descendants(workerPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('sfa_engine');
    } catch {
      return false;
    }
  });
}

/** Job ids a worker's log says it finished ("separate <id>: 4 stems ...", "analyze <id>: tempo ...", "download <id>: ..."). */
export function finishedInLog(log: string, what: 'download' | 'separate' | 'analyze'): string[] {
  const re = new RegExp(`\\b${what} ([0-9a-f-]{36}): (?!progress)`, 'g');
  return [...log.matchAll(re)].map((m) => m[1]!);
}
