/**
 * Where a model's files come from: the installed demucs package ships
 * `remote/files.txt` and `remote/<model>.yaml`; files are fetched from
 * demucs' published root, or from SFA_MODEL_BASE_URL. A mirror that serves
 * its own `files.txt` at its root (its own or fine-tuned checkpoints, same
 * naming and hash rule) is used instead of the packaged list.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { childEnv } from '../../domain/childEnv.ts';
import type { ModelInfo } from '../../domain/modelCatalog.ts';
import { DEMUCS_ROOT_URL, ModelListError, joinUrl, modelFiles, parseFilesList, type FilesList, type ModelFiles } from '../../domain/modelFiles.ts';
import { ModelDownloadError } from './errors.ts';
import { getText } from './http.ts';

export interface ModelSourceOptions {
  /** The engine's Python (its demucs package has the file list and the yaml files). */
  python: string;
  /** SFA_MODEL_BASE_URL; default demucs' own root. */
  baseUrl?: string | undefined;
  idleTimeoutMs?: number;
  signal?: AbortSignal | undefined;
}

const remoteDirs = new Map<string, Promise<string>>();

/** `<site-packages>/demucs/remote` of `python` (found without importing demucs, which imports torch). */
export function demucsRemoteDir(python: string): Promise<string> {
  let dir = remoteDirs.get(python);
  if (!dir) {
    const script = "import importlib.util; s = importlib.util.find_spec('demucs'); print(s.submodule_search_locations[0] if s else '')";
    dir = execa(python, ['-c', script], { env: childEnv('engine'), extendEnv: false, reject: false, timeout: 60_000 }).then((run) => {
      const found = run.exitCode === 0 ? String(run.stdout).trim() : '';
      if (!found) {
        throw new ModelDownloadError('bad_list', `the demucs package is not installed for ${python} (it lists the model files): run \`npm run setup\`, or set SFA_PYTHON`);
      }
      return path.join(found, 'remote');
    });
    dir.catch(() => remoteDirs.delete(python));
    remoteDirs.set(python, dir);
  }
  return dir;
}

/** The packaged files.txt, parsed. */
export async function packagedFilesList(python: string): Promise<FilesList> {
  const file = path.join(await demucsRemoteDir(python), 'files.txt');
  return parseListOrThrow(await readFile(file, 'utf8'), file);
}

function parseListOrThrow(text: string, from: string): FilesList {
  try {
    return parseFilesList(text);
  } catch (error) {
    if (error instanceof ModelListError) throw new ModelDownloadError('bad_list', `${from} is not a demucs files.txt: ${error.message}`);
    throw error;
  }
}

export interface ResolvedSource {
  baseUrl: string;
  list: FilesList;
  /** Where the list came from (the mirror's files.txt URL, or the packaged file). */
  listFrom: string;
  remoteDir: string;
}

/** The list to use: a mirror's own files.txt when it serves one (404: the packaged one). */
export async function resolveSource(options: ModelSourceOptions): Promise<ResolvedSource> {
  const remoteDir = await demucsRemoteDir(options.python);
  const baseUrl = options.baseUrl ?? DEMUCS_ROOT_URL;
  if (options.baseUrl) {
    const url = joinUrl(baseUrl, 'files.txt');
    const text = await getText(url, { idleTimeoutMs: options.idleTimeoutMs, signal: options.signal });
    if (text !== undefined) return { baseUrl, list: parseListOrThrow(text, url), listFrom: url, remoteDir };
  }
  const listFrom = path.join(remoteDir, 'files.txt');
  return { baseUrl, list: parseListOrThrow(await readFile(listFrom, 'utf8'), listFrom), listFrom, remoteDir };
}

/** The files of `model` from a resolved source (its yaml from the package). */
export async function filesFor(model: ModelInfo, source: ResolvedSource): Promise<ModelFiles> {
  const yamlFile = path.join(source.remoteDir, `${model.name}.yaml`);
  let yaml: string;
  try {
    yaml = await readFile(yamlFile, 'utf8');
  } catch {
    throw new ModelDownloadError('bad_list', `the installed demucs package has no ${model.name}.yaml (${yamlFile}); demucs 4.1.0 ships it: run \`npm run setup\``);
  }
  try {
    return modelFiles(model, source.list, yaml, source.baseUrl);
  } catch (error) {
    if (error instanceof ModelListError) throw new ModelDownloadError('bad_list', `cannot download ${model.name}: ${error.message} (list: ${source.listFrom})`);
    throw error;
  }
}
