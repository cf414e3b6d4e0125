/**
 * Installs one catalog model into a model folder (demucs' local-repo layout):
 * writes `<model>.yaml` from the installed demucs package, then fetches each
 * missing checkpoint (verified, atomic, resumable), holding the model's lock
 * so concurrent processes download it once. The one owner of model downloads:
 * `sfa models download` and the separate worker (first use) both call it.
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelInfo } from '../../domain/modelCatalog.ts';
import { bagSignatures, findCheckpoint, manualCopyHint, parseCheckpointName, type CheckpointFile } from '../../domain/modelFiles.ts';
import { writeFileAtomic } from '../storage/atomicWrite.ts';
import { fetchCheckpoint, matchesChecksum, partName } from './checkpoint.ts';
import { ModelDownloadError, storageProblem } from './errors.ts';
import { withModelLock, type LockHolder } from './lock.ts';
import { filesFor, resolveSource, type ModelSourceOptions, type ResolvedSource } from './source.ts';

export type InstallProgress =
  | { phase: 'fetching'; model: string; file: string; totalBytes: number; doneBytes: number }
  /** Another process holds the lock: what its files on disk add up to so far. */
  | { phase: 'waiting'; model: string; holder: LockHolder | undefined; totalBytes: number; doneBytes: number }
  | { phase: 'verifying'; model: string; file: string };

export interface InstallOptions extends ModelSourceOptions {
  dir: string;
  /** Hash the files already present (`sfa models download`); the worker only looks at the names (demucs checks the hash when loading). */
  verifyExisting: boolean;
  onProgress?: (progress: InstallProgress) => void;
  /** A source already resolved (several models in one run). */
  source?: ResolvedSource;
}

export interface InstallReport {
  model: string;
  dir: string;
  /** Checkpoints downloaded by this call. */
  fetched: string[];
  /** Checkpoints already there (verified when verifyExisting). */
  kept: string[];
  bytesFetched: number;
}

const sizeOf = (file: string) => stat(file).then((s) => s.size, () => 0);

/** Per checkpoint: the bytes the server announced, else the catalog's estimate. */
function estimate(model: ModelInfo): number {
  return Math.round((model.downloadMB * 1e6) / model.members.length);
}

export async function installModel(model: ModelInfo, options: InstallOptions): Promise<InstallReport> {
  const { dir } = options;
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw storageProblem(error, dir) ?? error;
  }
  const source = options.source ?? (await resolveSourceOrExplain([model], options));
  const files = await filesFor(model, source);
  const hint = manualCopyHint(files, dir);
  let lastWaitReport = 0;
  const onWait = (holder: LockHolder | undefined) => {
    if (!options.onProgress || Date.now() - lastWaitReport < 1000) return;
    lastWaitReport = Date.now();
    void Promise.all(files.checkpoints.map(async (c) => Math.max(await sizeOf(path.join(dir, c.name)), await sizeOf(path.join(dir, partName(c.name)))))).then((sizes) => {
      const doneBytes = sizes.reduce((a, b) => a + b, 0);
      options.onProgress?.({ phase: 'waiting', model: model.name, holder, totalBytes: Math.max(doneBytes, model.downloadMB * 1e6), doneBytes });
    });
  };

  return withModelLock(
    dir,
    model.name,
    async () => {
      const report: InstallReport = { model: model.name, dir, fetched: [], kept: [], bytesFetched: 0 };
      await writeYaml(dir, files.yaml, model);
      const names = await readdir(dir);
      const todo: { file: CheckpointFile; replaces: string | undefined }[] = [];
      for (const c of files.checkpoints) {
        const present = findCheckpoint(names, c.sig);
        if (present && !options.verifyExisting) {
          report.kept.push(present);
          continue;
        }
        if (present) {
          options.onProgress?.({ phase: 'verifying', model: model.name, file: present });
          const checksum = parseCheckpointName(present)?.checksum ?? c.checksum;
          if (await matchesChecksum(path.join(dir, present), checksum)) {
            report.kept.push(present);
            continue;
          }
        }
        todo.push({ file: c, replaces: present });
      }
      const totals = new Map(todo.map(({ file }) => [file.name, estimate(model)]));
      const done = new Map(todo.map(({ file }) => [file.name, 0]));
      const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      for (const { file, replaces } of todo) {
        await fetchCheckpoint(file, dir, {
          idleTimeoutMs: options.idleTimeoutMs,
          signal: options.signal,
          hint,
          onBytes: (bytes, total) => {
            if (total !== undefined) totals.set(file.name, total);
            done.set(file.name, bytes);
            options.onProgress?.({ phase: 'fetching', model: model.name, file: file.name, totalBytes: sum(totals), doneBytes: sum(done) });
          },
        });
        // demucs refuses two files of one signature: the one this replaces goes once the new one is in place.
        if (replaces && replaces !== file.name) await rm(path.join(dir, replaces), { force: true });
        report.fetched.push(file.name);
        report.bytesFetched += await sizeOf(path.join(dir, file.name));
      }
      return report;
    },
    { signal: options.signal, onWait },
  );
}

/**
 * resolveSource; when the mirror's files.txt cannot be fetched (offline, no
 * answer), the error also lists the files to copy by hand, from demucs' own
 * list (which needs no network).
 */
export async function resolveSourceOrExplain(models: readonly ModelInfo[], options: ModelSourceOptions & { dir: string }): Promise<ResolvedSource> {
  try {
    return await resolveSource(options);
  } catch (error) {
    if (!(error instanceof ModelDownloadError) || (error.reason !== 'offline' && error.reason !== 'timeout')) throw error;
    const packaged = await resolveSource({ python: options.python });
    const hints = await Promise.all(models.map(async (m) => manualCopyHint(await filesFor(m, packaged), options.dir)));
    throw new ModelDownloadError(error.reason, `${error.userMessage}\n${hints.join('\n')}`, error);
  }
}

/** `<model>.yaml` from the demucs package, unless one naming the same networks is there. */
async function writeYaml(dir: string, yaml: { name: string; text: string }, model: ModelInfo): Promise<void> {
  const file = path.join(dir, yaml.name);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== undefined && bagSignatures(current)?.join(',') === model.members.join(',')) return;
  try {
    await writeFileAtomic(file, yaml.text);
  } catch (error) {
    throw storageProblem(error, dir) ?? storageProblem((error as Error).cause, dir) ?? error;
  }
}
