/**
 * Moves an album's or playlist's request along: starts its queued tracks in
 * the record's order while the requester has a free slot under
 * SFA_USER_CONCURRENCY (the slot is taken and swapped for the track's Request
 * row exactly as a command does, so the batch and the user's other commands
 * count each other), then settles it (done, the DM owed) once every track
 * has ended. Each started track is the ordinary pipeline request, with reuse:
 * a track separated before is served at once.
 *
 * Called whenever one of its tracks changes, on a timer (a slot freed by the
 * user's other requests), and on start (a restart resumes the batch).
 * Serialised per batch within the process; across processes startEntry's
 * locked, conditional write keeps a track from starting twice.
 */
import { canonicalSpotifyUrl } from '../../domain/spotifyInput.ts';
import { UnknownModelError } from '../../domain/modelCatalog.ts';
import { InputError, requestAnalysis, requestSeparation } from '../../jobs/pipeline/index.ts';
import { loadBatch, nextQueuedEntry, settleBatch, skipEntry, startEntry, type BatchRow } from '../../requests/batches.ts';
import type { RequestOrigin } from '../../requests/store.ts';
import { releaseSlot, takeSlot } from '../../requests/slots.ts';
import type { BotDeps } from '../deps.ts';

export interface AdvanceResult {
  /** Requests of tracks started now. */
  started: string[];
  /** The batch's DM became due. */
  dm: boolean;
}

/** A track's request: the batch's message is the interaction's reply, so a track's stems go out with the bot token. */
function originOfBatch(batch: BatchRow): RequestOrigin {
  return {
    kind: batch.kind,
    requesterId: batch.requester_id,
    guildId: batch.guild_id,
    channelId: batch.channel_id,
    applicationId: batch.application_id,
    interactionToken: batch.interaction_token,
    interactionExpiresAt: new Date(0),
  };
}

export async function advanceBatch(deps: BotDeps, batchId: string): Promise<AdvanceResult> {
  const started: string[] = [];
  for (;;) {
    const batch = await loadBatch(deps.orm, batchId);
    if (!batch || batch.state !== 'running') break;
    const entry = await nextQueuedEntry(deps.orm, batchId);
    if (!entry) break;
    const slot = await takeSlot(deps.orm, batch.requester_id, deps.config.limits.userConcurrency);
    if (!slot.ok) break; // the user's slots are in use: a track that ends (or the timer) calls again
    try {
      const input = canonicalSpotifyUrl('track', entry.spotify_id);
      let ticket: { trackId: string; processingJobId?: string; analysisJobId: string };
      try {
        ticket =
          batch.kind === 'separate'
            ? await requestSeparation(deps.pipeline, { input, model: batch.model!, format: batch.format ?? 'wav', requester: batch.requester_id })
            : await requestAnalysis(deps.pipeline, { input });
      } catch (error) {
        if (!(error instanceof InputError || error instanceof UnknownModelError)) throw error;
        await skipEntry(deps.orm, entry.id, error instanceof InputError ? error.userMessage : error.message);
        continue;
      }
      const requestId = await startEntry(deps.orm, slot.slotId, batchId, entry.id, {
        ...originOfBatch(batch),
        model: batch.model,
        modelSource: batch.model ? 'option' : null,
        format: batch.format,
        trackId: ticket.trackId,
        processingJobId: ticket.processingJobId ?? null,
        analysisJobId: ticket.analysisJobId,
        reactionWindowEndsAt: null,
        attachmentSizeLimit: batch.attachment_size_limit === null ? null : Number(batch.attachment_size_limit),
      });
      if (!requestId) break; // cancelled, or started by another process
      started.push(requestId);
    } finally {
      await releaseSlot(deps.orm, slot.slotId).catch((e: unknown) => deps.log.warn(`could not give back a request slot: ${(e as Error).message}`));
    }
  }
  for (const id of started) deps.log.info(`batch ${batchId}: started request ${id}`);
  const settled = await settleBatch(deps.orm, batchId);
  return { started, dm: settled.dm };
}
