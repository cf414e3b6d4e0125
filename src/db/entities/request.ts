/**
 * A chat request (/separate or /analyze): everything a process needs to finish
 * and deliver it after a restart — who asked, where, the interaction token
 * for editing the reply, the chosen model and format, and the delivery state.
 * Discord snowflakes are stored as text (they exceed 2^53).
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';
import { Track } from './track.ts';
import { ProcessingJob } from './processingJob.ts';
import { AnalysisJob } from './analysisJob.ts';

export const REQUEST_KINDS = ['separate', 'analyze'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** pending: work in progress; delivering: a process has claimed the upload; then delivered or failed. */
export const DELIVERY_STATES = ['pending', 'delivering', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const AUDIO_FORMATS = ['wav', 'flac', 'mp3'] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

export const Request = defineEntity({
  name: 'Request',
  tableName: 'requests',
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
    ...timestampColumns(),
  },
});
export type IRequest = InferEntity<typeof Request>;
