import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../download/errors.ts';

/**
 * Readers (and other processes) must never see half a file: write under a
 * hidden temporary name in the destination directory, flush, then rename —
 * rename within one directory is atomic on POSIX filesystems.
 */

function siblingTemp(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${randomBytes(6).toString('hex')}.partial`);
}

export async function writeFileAtomic(finalPath: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(finalPath), { recursive: true });
  await publishViaSibling(finalPath, async (tmp) => {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

/**
 * Move a finished temp file to its final place. Same filesystem: one atomic
 * rename. Different filesystem (EXDEV): copy to a temp name beside the target,
 * rename that, then delete the source.
 */
export async function moveIntoPlace(tempPath: string, finalPath: string): Promise<void> {
  await mkdir(path.dirname(finalPath), { recursive: true });
  try {
    await rename(tempPath, finalPath);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw storageFailure(err, finalPath);
  }
  await publishViaSibling(finalPath, async (tmp) => {
    await copyFile(tempPath, tmp);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
  await unlink(tempPath).catch(() => undefined);
}

/** Fill a temp file beside `finalPath`, then rename it into place; on failure remove it. */
async function publishViaSibling(finalPath: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = siblingTemp(finalPath);
  try {
    await fill(tmp);
    await rename(tmp, finalPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw storageFailure(err, finalPath);
  }
}

/** Remove a partial file or temp directory; missing is fine (idempotent cleanup). */
export async function removePartial(p: string): Promise<void> {
  await rm(p, { recursive: true, force: true });
}

function storageFailure(err: unknown, finalPath: string): StorageError {
  const code = (err as NodeJS.ErrnoException).code;
  const msg = code === 'ENOSPC' ? 'The server ran out of disk space while saving files. Free some space (or ask the admin to) and try again.' : 'The server could not save the file. Ask the admin to check the data directory (SFA_DATA_DIR).';
  return new StorageError('storage', msg, { detail: `${code ?? ''} ${finalPath}`, cause: err, retryable: code === 'ENOSPC' });
}
