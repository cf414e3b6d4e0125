/**
 * Copies finished files out of storage to where the user asked. Copies, not
 * links: the user may edit or move their copy without touching what the
 * pipeline reuses (a reflink is used where the filesystem offers one). Each
 * file appears whole or not at all (temporary name, then rename).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { stemFileName } from '../domain/outputNames.ts';
import { fileIntact } from '../jobs/pipeline/files.ts';

export interface StoredStem {
  type: string;
  path: string | null;
  size: number | null;
}

export interface CopiedFile {
  name: string;
  path: string;
  bytes: number;
}

export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/** Copies one file into place atomically. */
export async function copyOut(source: string, destination: string): Promise<void> {
  await mkdir(path.dirname(destination), { recursive: true });
  const tmp = path.join(path.dirname(destination), `.${path.basename(destination)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await copyFile(source, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, destination);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new OutputError(`cannot write ${destination}: ${(error as Error).message}`);
  }
}

/** `<outDir>/<stem>.<ext>` for every stem, in the given order. Throws OutputError naming what went wrong. */
export async function copyStems(stems: readonly StoredStem[], outDir: string): Promise<CopiedFile[]> {
  const copied: CopiedFile[] = [];
  for (const stem of stems) {
    if (!stem.path || !(await fileIntact(stem.path, stem.size))) {
      throw new OutputError(`the stored ${stem.type} stem is gone (removed meanwhile?); run the command again to recompute it`);
    }
    const destination = path.join(outDir, stemFileName(stem.type, path.extname(stem.path)));
    await copyOut(stem.path, destination);
    copied.push({ name: stem.type, path: destination, bytes: Number(stem.size ?? 0) });
  }
  return copied;
}
