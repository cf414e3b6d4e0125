/**
 * Demucs' published model files (pure): its `files.txt` list, the bag yaml,
 * the `<sig>-<sha256 prefix>.th` naming, and what a model needs in a local
 * folder. The I/O (fetching, hashing, locking) is in src/jobs/models/.
 *
 * demucs 4.1.0 ships `demucs/remote/files.txt` (`root: <folder>/` lines, then
 * checkpoint file names) and `demucs/remote/<model>.yaml`; a checkpoint's URL
 * is ROOT_URL + root + name (demucs.pretrained._parse_remote_files), and
 * demucs checks a file against the hex after the last `-` of its name:
 * sha256(content).hexdigest()[:len(prefix)] (demucs.repo.check_checksum).
 */
import type { ModelInfo } from './modelCatalog.ts';

/** demucs.pretrained.ROOT_URL (a test pins it to the installed demucs). */
export const DEMUCS_ROOT_URL = 'https://dl.fbaipublicfiles.com/demucs/';

/** sig -> path under the root, e.g. `955717e8` -> `hybrid_transformer/955717e8-8726e21a.th`. */
export type FilesList = ReadonlyMap<string, string>;

export class ModelListError extends Error {}

/** Parses demucs' files.txt format; throws ModelListError for a line demucs itself would choke on. */
export function parseFilesList(text: string): FilesList {
  let root = '';
  const list = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('root:')) {
      root = line.slice('root:'.length).trim();
      if (root !== '' && (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/$/.test(root) || root.split('/').includes('..'))) {
        throw new ModelListError(`bad root line "${line.slice(0, 80)}"`);
      }
      continue;
    }
    const parsed = parseCheckpointName(line);
    if (!parsed) throw new ModelListError(`"${line.slice(0, 80)}" is not a checkpoint name (<signature>-<sha256 prefix>.th)`);
    if (list.has(parsed.sig)) throw new ModelListError(`signature ${parsed.sig} is listed twice`);
    list.set(parsed.sig, root + line);
  }
  return list;
}

/** `955717e8-8726e21a.th` -> sig and checksum prefix; a bare `<sig>.th` has no checksum. Undefined for anything else. */
export function parseCheckpointName(name: string): { sig: string; checksum?: string } | undefined {
  const withSum = /^([A-Za-z0-9_]+)-([0-9a-f]{4,64})\.th$/.exec(name);
  if (withSum) return { sig: withSum[1]!, checksum: withSum[2]! };
  const bare = /^([A-Za-z0-9_]+)\.th$/.exec(name);
  return bare ? { sig: bare[1]! } : undefined;
}

/** The `models: [...]` list of a demucs bag yaml (the only key we need to read). */
export function bagSignatures(yaml: string): string[] | undefined {
  const match = /^models:\s*\[([^\]]*)\]/m.exec(yaml);
  if (!match) return undefined;
  return match[1]!
    .split(',')
    .map((s) => s.trim().replace(/^['"]|['"]$/g, ''))
    .filter(Boolean);
}

export interface CheckpointFile {
  sig: string;
  /** File name in the model folder, e.g. `955717e8-8726e21a.th`. */
  name: string;
  checksum: string;
  url: string;
}

export interface ModelFiles {
  model: string;
  /** `<model>.yaml` and its text (from the installed demucs package). */
  yaml: { name: string; text: string };
  checkpoints: CheckpointFile[];
}

/** base URL (no trailing slash needed) + path under it. */
export function joinUrl(base: string, relative: string): string {
  return `${base.replace(/\/+$/, '')}/${relative}`;
}

/**
 * The files `model` needs, from the list and its yaml; throws ModelListError when
 * they disagree with the catalog (a checkpoint missing from the list, another bag).
 */
export function modelFiles(model: ModelInfo, list: FilesList, yamlText: string, baseUrl: string): ModelFiles {
  const sigs = bagSignatures(yamlText);
  if (!sigs) throw new ModelListError(`${model.name}.yaml has no "models: [...]" line`);
  if (sigs.join(',') !== model.members.join(',')) {
    throw new ModelListError(`${model.name}.yaml lists ${sigs.join(', ')}, the catalog says ${model.members.join(', ')}`);
  }
  const checkpoints = model.members.map((sig) => {
    const relative = list.get(sig);
    if (!relative) throw new ModelListError(`the file list has no checkpoint for ${sig} (needed by ${model.name})`);
    const name = relative.slice(relative.lastIndexOf('/') + 1);
    const parsed = parseCheckpointName(name);
    if (!parsed?.checksum) throw new ModelListError(`${name} has no sha256 prefix in its name`);
    return { sig, name, checksum: parsed.checksum, url: joinUrl(baseUrl, relative) };
  });
  return { model: model.name, yaml: { name: `${model.name}.yaml`, text: yamlText }, checkpoints };
}

/** What a folder holds for one checkpoint: the file demucs would load (by its signature), if any. */
export function findCheckpoint(names: readonly string[], sig: string): string | undefined {
  return names.find((n) => parseCheckpointName(n)?.sig === sig);
}

export type ModelState = 'installed' | 'downloadable' | 'unverified';

/**
 * installed: yaml and every checkpoint present, each matching its checksum;
 * unverified: everything present but some file does not match (or has no checksum to check);
 * downloadable: something is missing.
 */
export function modelState(files: { present: boolean; verified: boolean }[]): ModelState {
  if (files.some((f) => !f.present)) return 'downloadable';
  return files.every((f) => f.verified) ? 'installed' : 'unverified';
}

/** Megabytes (10^6 bytes) as people read download sizes: "84 MB", "0.3 MB". */
export function formatMB(bytes: number): string {
  const mb = bytes / 1e6;
  return `${mb >= 10 ? Math.round(mb) : mb >= 0.95 ? mb.toFixed(1) : mb.toFixed(2)} MB`;
}

export interface ModelFetchProgress {
  model: string;
  totalBytes: number;
  doneBytes: number;
}

/** Whole percent of a fetch, never 100 before the last byte. */
export function fetchPercent(p: Pick<ModelFetchProgress, 'totalBytes' | 'doneBytes'>): number {
  if (p.totalBytes <= 0) return 0;
  if (p.doneBytes >= p.totalBytes) return 100;
  return Math.min(99, Math.floor((p.doneBytes / p.totalBytes) * 100));
}

/** The separation line while the model is fetched: "fetching model htdemucs (84 MB) 40 %". */
export function describeModelFetch(p: ModelFetchProgress): string {
  return `fetching model ${p.model} (${formatMB(p.totalBytes)}) ${fetchPercent(p)} %`;
}

/** How to install by hand on a machine without internet: one line per file, URL -> destination. */
export function manualCopyHint(files: ModelFiles, dir: string): string {
  const lines = files.checkpoints.map((c) => `  ${c.url}  ->  ${dir}/${c.name}`);
  return [
    `To install ${files.model} by hand, download on a machine with internet and copy into ${dir}:`,
    ...lines,
    `  (and ${files.yaml.name}, which \`sfa models download\` writes from the installed demucs package even offline)`,
    `then check with \`npx sfa models check ${files.model}\`.`,
  ].join('\n');
}
