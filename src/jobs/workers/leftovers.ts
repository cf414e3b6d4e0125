/**
 * What an attempt at a job row may leave behind that no completed row owns,
 * and its removal: the one rule for a worker whose attempt failed and for the
 * reaper after a lost one (kill -9 cannot clean up).
 *
 * - its temporary folders, named after the row (tmp/<queue>-<rowId>-*);
 * - for a separation or an analysis, its half-filled output folder (derived from
 *   the row id, so no other row's). A download's audio is shared by the track's
 *   rows and only ever renamed into place: its worker handles it itself.
 */
import { STAGE_FACTS, type Stage } from '../../domain/stages.ts';
import { removePartial } from '../storage/atomicWrite.ts';
import type { StoragePaths } from '../storage/paths.ts';

/** A fresh temporary folder for one attempt at a row, named so that removeAttemptLeftovers finds it. */
export function makeAttemptTempDir(paths: StoragePaths, kind: Stage, id: string): Promise<string> {
  return paths.makeJobTempDir(STAGE_FACTS[kind].queue, id);
}

/** The folder a row's outputs are moved into, when it is the row's own. */
export function ownOutputDir(paths: StoragePaths, kind: Stage, id: string, trackId: string): string | undefined {
  if (kind === 'processing') return paths.stemsDir(trackId, id);
  if (kind === 'analysis') return paths.analysisDir(id);
  return undefined;
}

export async function removeAttemptLeftovers(paths: StoragePaths, kind: Stage, id: string, trackId: string): Promise<void> {
  for (const dir of await paths.jobTempDirs(id)) await removePartial(dir);
  const output = ownOutputDir(paths, kind, id, trackId);
  if (output) await removePartial(output);
}
