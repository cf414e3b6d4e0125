/**
 * A chat request (/separate or /analyze): everything a process needs to finish
 * and deliver it after a restart — who asked, where, the interaction token
 * for editing the reply, the chosen model and format, and the delivery state.
 * Discord snowflakes are stored as text (they exceed 2^53).
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { STEM_FORMATS, type StemFormat } from '../../domain/audioFormats.ts';
import { idColumn, timestampColumns } from './columns.ts';
import { Track } from './track.ts';
import { ProcessingJob } from './processingJob.ts';
import { AnalysisJob } from './analysisJob.ts';
import { Batch } from './batch.ts';
import { DELIVERY_STATES, DM_STATES } from '../../domain/requestLifecycle.ts';

export const REQUEST_KINDS = ['separate', 'analyze'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

// pending: work in progress; delivering: a process has claimed the upload; then delivered or failed.
// The analysis DM: pending until sent; DMs closed -> a channel message instead; failed otherwise; NULL: no DM.
// Both machines are src/domain/requestLifecycle.ts.
export { DELIVERY_STATES, DM_STATES, type DeliveryState, type DmState } from '../../domain/requestLifecycle.ts';

/** The stem formats a request may ask for (catalog/audio_formats.json `stem_formats`). */
export const AUDIO_FORMATS = STEM_FORMATS;
export type AudioFormat = StemFormat;

/** Where the model came from: the `model:` option, the requester's reaction in the window, or the default after it. */
export const MODEL_SOURCES = ['option', 'reaction', 'default'] as const;
export type ModelSource = (typeof MODEL_SOURCES)[number];


export const Request = defineEntity({
  name: 'Request',
  tableName: 'requests',
  // The delivery-state guard (migration 0005), declared so the schema diff covers it.
  triggers: [
    {
      name: 'requests_state_guard',
      timing: 'before' as const,
      events: ['update' as const],
      expression: 'create trigger requests_state_guard before update of delivery_state, dm_state on requests for each row execute function sfa_request_state_guard()',
    },
  ],
  properties: {
    id: idColumn(),
    kind: p.enum(REQUEST_KINDS),
    requesterId: p.text(),
    /** NULL for requests made in DMs. */
    guildId: p.text().nullable(),
    channelId: p.text(),
    /** The bot's reply; NULL until it has been sent. */
    messageId: p.text().nullable(),
    applicationId: p.text(),
    interactionToken: p.text(),
    /** Discord interaction tokens live 15 minutes; after that, edit via the bot token. */
    interactionExpiresAt: p.datetime(),
    /** NULL until chosen (the model: option, a reaction, or the default after the window). */
    model: p.text().nullable(),
    format: p.enum(AUDIO_FORMATS).nullable(),
    track: () => p.manyToOne(Track).deleteRule('cascade').index('requests_track_id_index'),
    // The jobs this request waits for; several requests may share one job (reuse).
    processingJob: () =>
      p.manyToOne(ProcessingJob).nullable().deleteRule('set null').index('requests_processing_job_id_index'),
    analysisJob: () =>
      p.manyToOne(AnalysisJob).nullable().deleteRule('set null').index('requests_analysis_job_id_index'),
    deliveryState: p.enum(DELIVERY_STATES).default('pending').index('requests_delivery_state_index'),
    deliveryError: p.text().nullable(),
    deliveredAt: p.datetime().nullable(),
    /** End of the requester's reaction window for choosing the model; NULL when the model: option was given. */
    reactionWindowEndsAt: p.datetime().nullable(),
    /** NULL until the model is chosen; set together with `model`. */
    modelSource: p.enum(MODEL_SOURCES).nullable(),
    /** Bytes per attachment from the interaction (`attachment_size_limit`); NULL = Discord's default (DMs). */
    attachmentSizeLimit: p.bigint('number').nullable(),
    // The progress message, so edits resume after a restart without repeating or going backwards.
    /** Hash of the last rendered state that reached Discord. */
    progressHash: p.text().nullable(),
    progressEditedAt: p.datetime().nullable(),
    /** When the message now being edited was posted (edits of messages older than an hour are capped). */
    progressMessagePostedAt: p.datetime().nullable(),
    /** Set once progress moved from the interaction reply (token lives 15 min) to a bot-token channel message. */
    channelMessageId: p.text().nullable(),
    dmState: p.enum(DM_STATES).nullable().default('pending'),
    /** The album or playlist request this track belongs to; NULL for a single track. Its message, thread and DM are the batch's. */
    batch: () => p.manyToOne(Batch).nullable().deleteRule('cascade').index('requests_batch_id_index'),
    ...timestampColumns(),
  },
  checks: [
    { name: 'requests_model_chosen_check', expression: 'model_source is null or model is not null' },
    { name: 'requests_attachment_size_limit_check', expression: 'attachment_size_limit > 0' },
  ],
});
export type IRequest = InferEntity<typeof Request>;
