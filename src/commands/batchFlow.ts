/**
 * /separate and /analyze of a Spotify album or playlist link: the record's
 * track list from the Spotify Web API, the plan (`tracks:`, then
 * SFA_MAX_BATCH_TRACKS and what is left of the user's hourly allowance,
 * counted in tracks), then one Batch row with every entry considered. What
 * will run is said on the message before anything starts ("the first 10 of
 * 23 tracks"); the bot then starts the tracks in order as the user's slots
 * allow (src/bot/batches/advance.ts). Problems found here are answered
 * privately and write nothing.
 */
import { allowanceUsedUp } from '../domain/batchLifecycle.ts';
import { planBatch } from '../domain/batchPlan.ts';
import { DEFAULT_MODEL, type ModelName } from '../domain/modelCatalog.ts';
import type { StemFormat } from '../domain/audioFormats.ts';
import { checkSelection } from '../domain/trackSelection.ts';
import { UserFacingError } from '../jobs/download/errors.ts';
import { spotifyOptionsFrom } from '../jobs/download/spotifyMetadata.ts';
import { fetchRecordMetadata, type RecordMetadata } from '../jobs/download/spotifyRecords.ts';
import { createBatch, type NewBatchEntry } from '../requests/batches.ts';
import { allowanceLeft, type RequestOrigin } from '../requests/store.ts';
import { TRACKS_OPTION, type SongSource } from './sourceOptions.ts';
import type { RequestContext } from './types.ts';

export interface BatchAsk {
  source: Extract<SongSource, { kind: 'record' }>;
  model: ModelName | undefined;
  format: StemFormat | undefined;
}

export type BatchStart = { ok: true; batchId: string } | { ok: false; message: string };

export async function queueBatch(origin: RequestOrigin, ask: BatchAsk, bot: RequestContext, slotId: string, attachmentSizeLimit: number | null): Promise<BatchStart> {
  const { record: ref, tracks: selection } = ask.source;
  let record: RecordMetadata;
  try {
    record = await fetchRecordMetadata(ref.kind, ref.id, spotifyOptionsFrom(bot.config));
  } catch (error) {
    if (error instanceof UserFacingError) return { ok: false, message: error.userMessage };
    throw error;
  }
  const total = record.tracks.length;
  if (selection) {
    const outside = checkSelection(selection, total, record.kind, TRACKS_OPTION);
    if (outside) return { ok: false, message: outside };
  }
  const { maxBatchTracks, userRequestsPerHour } = bot.config.limits;
  const allowance = await allowanceLeft(bot.orm, origin.requesterId, userRequestsPerHour);
  if (allowance.left === 0) return { ok: false, message: allowanceUsedUp(userRequestsPerHour, allowance.nextAt!) };
  const byAllowance = allowance.left < maxBatchTracks;
  const limit = Math.min(maxBatchTracks, allowance.left);
  const plan = planBatch(record.tracks, {
    selection,
    limit,
    limitReason: byAllowance ? `over your hourly allowance (${allowance.left} of ${userRequestsPerHour} tracks were left)` : undefined,
  });
  if (plan.run.length === 0) {
    const why = plan.skipped.slice(0, 5).map((s) => `${s.position}. ${s.reason}`).join('\n');
    return { ok: false, message: `Nothing to do: ${plan.summary}.\n${why}` };
  }
  const cutByAllowance = byAllowance && plan.skipped.some((s) => s.reason.startsWith('over your hourly allowance'));
  const byPosition = new Map(record.tracks.map((t) => [t.position, t]));
  const entries: NewBatchEntry[] = [
    ...plan.run.map((t) => ({ position: t.position, spotifyId: t.spotifyId, skipReason: null })),
    ...plan.skipped.map((t) => ({ position: t.position, spotifyId: byPosition.get(t.position)?.spotifyId ?? null, skipReason: t.reason })),
  ]
    .sort((a, b) => a.position - b.position)
    .map((e) => {
      const t = byPosition.get(e.position)!;
      return { ...e, title: t.title, artist: t.artists.length ? t.artists.join(', ') : null, durationSeconds: t.durationSeconds };
    });
  const durations = record.tracks.map((t) => t.durationSeconds).filter((d): d is number => d !== null);
  const batchId = await createBatch(bot.orm, slotId, {
    ...origin,
    recordKind: record.kind,
    spotifyId: record.spotifyId,
    name: record.name,
    byline: record.by,
    artUrl: record.artUrl,
    url: record.url,
    trackCount: total,
    durationSeconds: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0)) : null,
    summary: cutByAllowance ? `${plan.summary} (what is left of your ${userRequestsPerHour} tracks per hour)` : plan.summary,
    rest: plan.rest ?? null,
    model: origin.kind === 'separate' ? (ask.model ?? DEFAULT_MODEL) : null,
    format: origin.kind === 'separate' ? (ask.format ?? 'wav') : null,
    attachmentSizeLimit,
    entries,
  });
  return { ok: true, batchId };
}
