/**
 * One entry of a batch's record, in Spotify's order: those that run (a
 * Spotify track id, no skip reason) and those that do not (local files,
 * episodes, unavailable, outside the selection's limit), so the message's
 * numbers match what the user sees in Spotify. `request_id` is set when the
 * track starts; until then it waits for a free slot of the user.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';
import { Batch } from './batch.ts';
import { Request } from './request.ts';

export const BatchTrack = defineEntity({
  name: 'BatchTrack',
  tableName: 'batch_tracks',
  properties: {
    id: idColumn(),
    batch: () => p.manyToOne(Batch).deleteRule('cascade'),
    /** 1-based position in the record. */
    position: p.integer(),
    title: p.text(),
    artist: p.text().nullable(),
    duration: p.double().nullable(),
    spotifyId: p.text().nullable(),
    /** Why it does not run; NULL for the tracks that run. */
    skipReason: p.text().nullable(),
    request: () => p.manyToOne(Request).nullable().deleteRule('set null').index('batch_tracks_request_id_index'),
    /** The stems' link shown in the message when they are not posted in a thread. */
    link: p.text().nullable(),
    ...timestampColumns(),
  },
  uniques: [{ name: 'batch_tracks_batch_id_position_unique', properties: ['batch', 'position'] }],
  checks: [
    { name: 'batch_tracks_runnable_check', expression: 'spotify_id is not null or skip_reason is not null' },
    { name: 'batch_tracks_started_check', expression: 'request_id is null or skip_reason is null' },
  ],
});
export type IBatchTrack = InferEntity<typeof BatchTrack>;
