/**
 * One download of a model at a time across processes (two workers, a worker
 * and the CLI): a lock file `.<model>.download.lock` in the model folder,
 * created exclusively. The holder touches it every few seconds; a lock that is
 * not touched for STALE_MS (its process died), or whose process on this host
 * is gone, is taken over. Waiters poll, then check the files themselves.
 */
import { hostname } from 'node:os';
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelDownloadError, storageProblem } from './errors.ts';

const HEARTBEAT_MS = 5_000;
const STALE_MS = 30_000;
const POLL_MS = 250;

export interface LockHolder {
  pid: number;
  host: string;
}

export const lockName = (model: string) => `.${model}.download.lock`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holderOf(file: string): Promise<{ holder: LockHolder | undefined; ageMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(text) as LockHolder;
    } catch {
      holder = undefined; // being written right now
    }
    return { holder, ageMs: Date.now() - info.mtimeMs };
  } catch {
    return undefined; // released meanwhile
  }
}

async function tryCreate(file: string, dir: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx');
    await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname() }));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storageProblem(error, dir) ?? error;
  }
}

/**
 * Runs `work` holding the model's lock. `onWait` is called while another
 * process holds it (about every 250 ms).
 */
export async function withModelLock<T>(
  dir: string,
  model: string,
  work: () => Promise<T>,
  options: { signal?: AbortSignal | undefined; onWait?: (holder: LockHolder | undefined) => void } = {},
): Promise<T> {
  const file = path.join(dir, lockName(model));
  for (;;) {
    if (options.signal?.aborted) throw new ModelDownloadError('cancelled', `download of ${model} cancelled`);
    if (await tryCreate(file, dir)) break;
    const seen = await holderOf(file);
    if (!seen) continue;
    const dead = seen.holder && seen.holder.host === hostname() && !alive(seen.holder.pid);
    if (dead || seen.ageMs > STALE_MS) {
      await rm(file, { force: true });
      continue;
    }
    options.onWait?.(seen.holder);
    await sleep(POLL_MS);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await rm(file, { force: true });
  }
}
