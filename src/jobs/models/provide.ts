/**
 * First use: before a separation, the worker makes sure the model's files are
 * in the model folder. Missing files are fetched (SFA_MODEL_DOWNLOAD=auto) or
 * reported with the command that installs them (never). Only names are
 * checked here; demucs checks the hashes when it loads the files.
 */
import { getModel } from '../../domain/modelCatalog.ts';
import type { ModelFetchProgress } from '../../domain/modelFiles.ts';
import { UserFacingError } from '../download/errors.ts';
import { missingFiles } from './inspect.ts';
import { installModel } from './install.ts';

export interface ModelProvision {
  dir: string;
  python: string;
  baseUrl?: string | undefined;
  download: 'auto' | 'never';
  idleTimeoutMs?: number;
}

/** The "not installed" message of SFA_MODEL_DOWNLOAD=never (the engine's own says the same). */
export function notInstalledMessage(model: string, dir: string, missing: readonly string[]): string {
  return `model '${model}' is not installed: missing ${missing.join(', ')} in ${dir}. Install it with \`npx sfa models download ${model}\` (SFA_MODEL_DOWNLOAD=never keeps workers from fetching it themselves).`;
}

/** Resolves once the model's files are in place; 'fetched' when this call downloaded something. */
export async function provideModel(
  provision: ModelProvision,
  name: string,
  onFetch: (progress: ModelFetchProgress) => void,
  signal?: AbortSignal,
): Promise<'present' | 'fetched'> {
  const model = getModel(name);
  if (!model) return 'present'; // not a catalog model (test models): the engine says what is wrong
  const missing = await missingFiles(model, provision.dir);
  if (missing.length === 0) return 'present';
  if (provision.download === 'never') throw new UserFacingError('model_missing', notInstalledMessage(name, provision.dir, missing));
  await installModel(model, {
    dir: provision.dir,
    python: provision.python,
    baseUrl: provision.baseUrl,
    idleTimeoutMs: provision.idleTimeoutMs,
    signal,
    verifyExisting: false,
    onProgress: (p) => {
      if (p.phase !== 'verifying') onFetch({ model: name, totalBytes: p.totalBytes, doneBytes: p.doneBytes });
    },
  });
  return 'fetched';
}
