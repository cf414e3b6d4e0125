/**
 * A piece of audio. Spotify tracks carry spotify_id (unique); direct URLs and
 * uploaded files have none and are described by source_url instead.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';
import { DownloadJob } from './downloadJob.ts';
import { ProcessingJob } from './processingJob.ts';
import { AnalysisJob } from './analysisJob.ts';
import { Stem } from './stem.ts';
import { AnalysisResult } from './analysisResult.ts';
import { Request } from './request.ts';

export const Track = defineEntity({
  name: 'Track',
  tableName: 'tracks',
  properties: {
    id: idColumn(),
    // Unique but nullable: PostgreSQL allows many NULLs under a UNIQUE constraint.
    spotifyId: p.text().nullable().unique('tracks_spotify_id_unique'),
    spotifyUrl: p.text().nullable(),
    sourceUrl: p.text().nullable(),
    /** The link's requester allowed private-network addresses (a CLI user); never set by the bot. */
    privateNetworkAllowed: p.boolean().default(false),
    isrc: p.text().nullable().index('tracks_isrc_index'),
    title: p.text(),
    artist: p.text().nullable(),
    album: p.text().nullable(),
    albumArtUrl: p.text().nullable(),
    /** Seconds. */
    duration: p.integer().nullable(),
    ...timestampColumns(),
    downloadJobs: () => p.oneToMany(DownloadJob).mappedBy('track'),
    processingJobs: () => p.oneToMany(ProcessingJob).mappedBy('track'),
    analysisJobs: () => p.oneToMany(AnalysisJob).mappedBy('track'),
    stems: () => p.oneToMany(Stem).mappedBy('track'),
    analysisResults: () => p.oneToMany(AnalysisResult).mappedBy('track'),
    requests: () => p.oneToMany(Request).mappedBy('track'),
  },
});
export type ITrack = InferEntity<typeof Track>;
