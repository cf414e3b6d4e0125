/**
 * One checkpoint from the server into the model folder: written to the
 * hidden `.<name>.part` beside it (kept between runs, so a later run resumes
 * with an HTTP Range request), synced, checked against the sha256 prefix in
 * its name, and only then renamed to its final name. A reader (demucs, another
 * process) never sees half a file under the final name.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { formatMB, type CheckpointFile } from '../../domain/modelFiles.ts';
import { ModelDownloadError, storageProblem } from './errors.ts';
import { get } from './http.ts';

export interface CheckpointOptions {
  idleTimeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Bytes of this file on disk so far, and its size once the server told it. */
  onBytes?: (done: number, total: number | undefined) => void;
  /** Appended to network errors (the files to copy by hand). */
  hint?: string;
}

/** Transfers cut short are resumed this many times in one run, as long as each one made progress. */
const RESUMES = 5;

export const partName = (name: string) => `.${name}.part`;

/** sha256 of a file, hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Does the file's content match the checksum prefix (demucs.repo.check_checksum)? */
export async function matchesChecksum(file: string, checksum: string): Promise<boolean> {
  return (await sha256File(file)).startsWith(checksum);
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** Fsync a folder so a rename in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function checkFreeSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) return;
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (free < needed) {
    throw new ModelDownloadError('disk_full', `not enough space in ${dir}: ${formatMB(needed)} more needed, ${formatMB(free)} free. Free some space there, or download into another folder with --dir (or SFA_MODEL_DIR).`);
  }
}

/** One GET (resuming from what `.part` holds); resolves when the server sent everything it meant to. */
async function transfer(file: CheckpointFile, part: string, dir: string, options: CheckpointOptions): Promise<number> {
  const from = await sizeOf(part);
  const answer = await get(file.url, { from, idleTimeoutMs: options.idleTimeoutMs, signal: options.signal, hint: options.hint });
  if (answer.status === 416) {
    answer.cancel(); // the part already holds every byte (or more): the checksum decides
    return from;
  }
  let offset = 0;
  let total: number | undefined;
  if (answer.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(answer.headers.get('content-range') ?? '');
    offset = range ? Number(range[1]) : 0;
    total = range && range[2] !== '*' ? Number(range[2]) : undefined;
    if (offset !== from) {
      answer.cancel();
      await rm(part, { force: true });
      throw new ModelDownloadError('http', `${new URL(file.url).host} resumed ${file.name} at byte ${offset}, not ${from} as asked; the partial file was removed, run the command again.`);
    }
  } else {
    const length = answer.headers.get('content-length');
    total = length ? Number(length) : undefined;
  }
  let handle;
  try {
    if (total !== undefined) await checkFreeSpace(dir, total - offset);
    handle = await open(part, offset > 0 ? 'a' : 'w');
  } catch (error) {
    answer.cancel();
    throw storageProblem(error, dir) ?? error;
  }
  let done = offset;
  try {
    options.onBytes?.(done, total);
    for await (const chunk of answer.chunks()) {
      try {
        await handle.write(chunk);
      } catch (error) {
        answer.cancel();
        throw storageProblem(error, dir) ?? error;
      }
      done += chunk.length;
      options.onBytes?.(done, total);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (total !== undefined && done < total) {
    throw new ModelDownloadError('offline', `${new URL(file.url).host} ended ${file.name} after ${done} of ${total} bytes`);
  }
  return done;
}

/**
 * Downloads `file` into `dir` under its own name, verified. Resumes a `.part`
 * left by an earlier run; a mismatch deletes the partial file and throws.
 */
export async function fetchCheckpoint(file: CheckpointFile, dir: string, options: CheckpointOptions = {}): Promise<void> {
  const part = path.join(dir, partName(file.name));
  const final = path.join(dir, file.name);
  let resumes = 0;
  let restarted = false;
  for (;;) {
    const before = await sizeOf(part);
    try {
      await transfer(file, part, dir, options);
    } catch (error) {
      // Cut off half way: resume at once while each attempt gets somewhere.
      const cut = error instanceof ModelDownloadError && error.reason === 'offline' && (await sizeOf(part)) > before;
      if (cut && resumes++ < RESUMES) continue;
      throw error;
    }
    if (await matchesChecksum(part, file.checksum)) break;
    const actual = (await sha256File(part)).slice(0, file.checksum.length);
    await rm(part, { force: true });
    // A part from an earlier run may belong to another version of the file: one clean retry.
    if (before > 0 && !restarted) {
      restarted = true;
      continue;
    }
    throw new ModelDownloadError(
      'checksum',
      `${file.name} from ${file.url} is corrupt: its sha256 starts with ${actual}, expected ${file.checksum}. The partial file was deleted. Run the command again; if it happens again the server sends a wrong file: use another SFA_MODEL_BASE_URL.${options.hint ? `\n${options.hint}` : ''}`,
    );
  }
  try {
    await rename(part, final);
    await syncDir(dir);
  } catch (error) {
    throw storageProblem(error, dir) ?? error;
  }
}
