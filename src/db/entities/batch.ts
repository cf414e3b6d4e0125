/**
 * A chat request for a Spotify album or playlist: one message in the channel
 * (the record's card and a line per track), the tracks it runs
 * (batch_tracks), a thread for the stems, and one analysis DM at the end.
 * Each track that starts becomes an ordinary Request row with `batch_id`, so
 * the pipeline, reuse, the outbox and the per-user limit treat it like any
 * other request. The progress columns mirror those of `requests`: the same
 * tracker edits both kinds of message and resumes them after a restart.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { STEM_FORMATS } from '../../domain/audioFormats.ts';
import { BATCH_STATES, RECORD_KINDS, STEMS_PLACES } from '../../domain/batchLifecycle.ts';
import { DM_STATES } from '../../domain/requestLifecycle.ts';
import { idColumn, timestampColumns } from './columns.ts';

export const Batch = defineEntity({
  name: 'Batch',
  tableName: 'batches',
  // The state guard (migration 0007), declared so the schema diff covers it.
  triggers: [
    {
      name: 'batches_state_guard',
      timing: 'before' as const,
      events: ['update' as const],
      expression: 'create trigger batches_state_guard before update of state, dm_state on batches for each row execute function sfa_batch_state_guard()',
    },
  ],
  properties: {
    id: idColumn(),
    kind: p.enum(['separate', 'analyze'] as const),
    requesterId: p.text().index('batches_requester_id_index'),
    guildId: p.text().nullable(),
    channelId: p.text(),
    messageId: p.text().nullable(),
    applicationId: p.text(),
    interactionToken: p.text(),
    interactionExpiresAt: p.datetime(),
    // The record as Spotify described it when the command ran.
    recordKind: p.enum(RECORD_KINDS),
    spotifyId: p.text(),
    name: p.text(),
    /** The album's artists or the playlist's owner. */
    byline: p.text().nullable(),
    artUrl: p.text().nullable(),
    url: p.text(),
    /** Entries in the record (not only those that run). */
    trackCount: p.integer(),
    /** Seconds, summed over the record's entries; NULL when unknown. */
    duration: p.double().nullable(),
    /** What runs, said before it starts ("the first 10 of 23 tracks"). */
    summary: p.text(),
    /** The `tracks:` selection that would run what the limit left out. */
    rest: p.text().nullable(),
    model: p.text().nullable(),
    format: p.enum(STEM_FORMATS).nullable(),
    attachmentSizeLimit: p.bigint('number').nullable(),
    /** running: tracks still to start or finish; done; cancelled (no more tracks start). */
    state: p.enum(BATCH_STATES).default('running').index('batches_state_index'),
    /** Where the stems go, decided at the first delivery: a thread on the message, links in it, or channel messages. */
    stemsPlace: p.enum(STEMS_PLACES).nullable(),
    threadId: p.text().nullable(),
    /** The batch's analysis DM (NULL: none owed). */
    dmState: p.enum(DM_STATES).nullable().default('pending'),
    progressHash: p.text().nullable(),
    progressEditedAt: p.datetime().nullable(),
    progressMessagePostedAt: p.datetime().nullable(),
    channelMessageId: p.text().nullable(),
    ...timestampColumns(),
  },
  checks: [
    { name: 'batches_track_count_check', expression: 'track_count >= 0' },
    { name: 'batches_thread_check', expression: "thread_id is null or stems_place = 'thread'" },
  ],
});
export type IBatch = InferEntity<typeof Batch>;
