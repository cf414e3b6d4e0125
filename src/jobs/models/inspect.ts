/**
 * What a model folder holds for each catalog model: the files present, their
 * size on disk, and whether each checkpoint matches the sha256 prefix in its
 * name (a bare `<sig>.th` is checked against the list's name when one is given).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelInfo } from '../../domain/modelCatalog.ts';
import { bagSignatures, findCheckpoint, modelState, parseCheckpointName, type FilesList, type ModelState } from '../../domain/modelFiles.ts';
import { matchesChecksum } from './checkpoint.ts';

export interface FileCheck {
  /** The file's name in the folder, or the wanted pattern when missing (`955717e8-*.th`). */
  name: string;
  present: boolean;
  verified: boolean;
  bytes: number;
  /** Why it is not verified (wrong checksum, no checksum, wrong networks in the yaml). */
  problem?: string;
}

export interface ModelInspection {
  model: string;
  state: ModelState;
  bytesOnDisk: number;
  files: FileCheck[];
}

export async function inspectModel(model: ModelInfo, dir: string, list?: FilesList): Promise<ModelInspection> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files: FileCheck[] = [];
  const yamlName = `${model.name}.yaml`;
  if (names.includes(yamlName)) {
    const text = await readFile(path.join(dir, yamlName), 'utf8').catch(() => '');
    const sigs = bagSignatures(text)?.join(',');
    const verified = sigs === model.members.join(',');
    files.push({ name: yamlName, present: true, verified, bytes: text.length, ...(verified ? {} : { problem: `names networks ${sigs ?? '(none)'}, the catalog says ${model.members.join(',')}` }) });
  } else files.push({ name: yamlName, present: false, verified: false, bytes: 0 });
  for (const sig of model.members) {
    const name = findCheckpoint(names, sig);
    if (!name) {
      files.push({ name: `${sig}-*.th`, present: false, verified: false, bytes: 0 });
      continue;
    }
    const file = path.join(dir, name);
    const bytes = (await stat(file)).size;
    const own = parseCheckpointName(name)?.checksum;
    const listed = list?.get(sig);
    const checksum = own ?? (listed ? parseCheckpointName(listed.slice(listed.lastIndexOf('/') + 1))?.checksum : undefined);
    if (!checksum) {
      files.push({ name, present: true, verified: false, bytes, problem: 'no sha256 prefix in its name to check it against' });
      continue;
    }
    const verified = await matchesChecksum(file, checksum);
    files.push({ name, present: true, verified, bytes, ...(verified ? {} : { problem: `its sha256 does not start with ${checksum} (corrupt or incomplete)` }) });
  }
  return { model: model.name, state: modelState(files), bytesOnDisk: files.reduce((a, f) => a + f.bytes, 0), files };
}

/** Names only (no hashing): what the worker checks before every separation. */
export async function missingFiles(model: ModelInfo, dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const missing = names.includes(`${model.name}.yaml`) ? [] : [`${model.name}.yaml`];
  for (const sig of model.members) if (!findCheckpoint(names, sig)) missing.push(`${sig}-*.th`);
  return missing;
}
