/**
 * Running the real `sfa` (node bin/sfa.js, what `npx sfa` runs) as a child
 * process against a database of its own.
 *
 * Each CLI test file gets a fresh migrated database (fileDatabaseUrl): the CLI's in-process
 * workers serve pg-boss's default queues, and two files sharing queues would
 * run each other's jobs with the wrong data and model folders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import { REPO_ROOT } from '../../src/config.ts';
import { fileDatabaseUrl } from '../support/db.ts';

const SFA = path.join(REPO_ROOT, 'bin/sfa.js');

export interface CliDatabase {
  url: string;
  orm: Orm;
  /** Closes the ORM (the database itself is dropped at the end of the run). */
  close(): Promise<void>;
}

/** This file's own migrated database (fileDatabaseUrl) and an ORM on it. */
export async function createCliDatabase(): Promise<CliDatabase> {
  const url = await fileDatabaseUrl();
  const orm = await createOrm(url);
  return { url, orm, close: () => orm.close() };
}

export interface CliResult {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** The environment the CLI runs with: only what the test sets, plus PATH/HOME to find tools. */
export function cliEnv(vars: Record<string, string>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'NUMBA_CACHE_DIR'];
  const base = Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  return { ...base, SFA_DEVICE: 'cpu', SFA_TORCH_THREADS: '1', ...vars };
}

export function startSfa(args: string[], options: { env: Record<string, string>; cwd?: string; timeoutMs?: number }): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa(process.execPath, [SFA, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 240_000,
  });
}

export async function sfa(args: string[], options: { env: Record<string, string>; cwd?: string; timeoutMs?: number }): Promise<CliResult> {
  const r = await startSfa(args, options);
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function count(orm: Orm, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from (${sql}) x`, params);
  return Number(rows[0]!.n);
}

/** Live processes whose environment names this data folder (the CLI, its engine, anything it started). */
export function processesUsing(dataDir: string): number[] {
  const needle = `SFA_DATA_DIR=${dataDir}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // Zombies (state Z) have exited; only their exit status is left to collect.
      if (environ.includes(needle) && !/\) Z /.test(stat)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Decodes any audio file to interleaved stereo float32 at 44.1 kHz with ffmpeg. */
export async function decodeF32(file: string): Promise<Float32Array> {
  const { stdout } = await execa('ffmpeg', ['-v', 'error', '-i', file, '-f', 'f32le', '-ac', '2', '-ar', '44100', '-'], {
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  const bytes = new Uint8Array(stdout.byteLength);
  bytes.set(stdout); // a fresh, aligned buffer
  return new Float32Array(bytes.buffer);
}
