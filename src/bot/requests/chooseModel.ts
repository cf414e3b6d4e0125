/**
 * The model of a /separate request without `model:`: the requester's reaction
 * within the window, or the default when it ends. First choice wins: the
 * request row is updated only while its model is still NULL (a single atomic
 * UPDATE, so two concurrent choices cannot both win). The separation is then
 * requested; a crash between the two is repaired on start by
 * `resumeUnlinkedChoices` (model set, processing row not linked).
 */
import type { ModelSource } from '../../db/entities/request.ts';
import type { ModelName } from '../../domain/modelCatalog.ts';
import { requestSeparation } from '../../jobs/pipeline/index.ts';
import { chooseModel, linkProcessingJob, separationAsked, unlinkedChoices } from '../../requests/store.ts';
import type { BotDeps } from '../deps.ts';
import { pipelineInputOfTrack } from './input.ts';

export type ChoiceResult = 'started' | 'already_chosen' | 'cached';

export async function applyModelChoice(deps: BotDeps, requestId: string, model: ModelName, source: ModelSource): Promise<ChoiceResult> {
  if (!(await chooseModel(deps.orm, requestId, model, source))) return 'already_chosen';
  const result = await startSeparation(deps, requestId);
  deps.requestChanged(requestId);
  return result;
}

/** requestSeparation for a request whose model is chosen, and links its processing row. */
export async function startSeparation(deps: BotDeps, requestId: string): Promise<ChoiceResult> {
  const row = await separationAsked(deps.orm, requestId);
  if (!row) return 'already_chosen';
  const input = await pipelineInputOfTrack(deps.orm, row.track_id);
  const ticket = await requestSeparation(deps.pipeline, {
    input,
    model: row.model,
    format: (row.format ?? 'wav') as 'wav' | 'flac' | 'mp3',
    requester: row.requester_id,
  });
  await linkProcessingJob(deps.orm, requestId, ticket.processingJobId);
  const status = await deps.orm.em.getConnection().execute<{ status: string }[]>(`select status from processing_jobs where id = ?`, [ticket.processingJobId]);
  return ticket.reused.processing && status[0]?.status === 'completed' ? 'cached' : 'started';
}

/**
 * On start: separations whose model was chosen but whose processing row was never linked (a crash in
 * between). They stay pending, so the start's pass over unfinished requests (runtime.ts resume) re-renders them.
 */
export async function resumeUnlinkedChoices(deps: BotDeps): Promise<number> {
  const ids = await unlinkedChoices(deps.orm);
  for (const id of ids) await startSeparation(deps, id);
  return ids.length;
}
