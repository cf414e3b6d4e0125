/** One attempt at fetching a track's audio; a retry is a new row. */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, jobStateColumns, jobTableChecks, jobTableTriggers, timestampColumns } from './columns.ts';
import { Track } from './track.ts';

export const DownloadJob = defineEntity({
  name: 'DownloadJob',
  tableName: 'download_jobs',
  properties: {
    id: idColumn(),
    track: () => p.manyToOne(Track).deleteRule('cascade').index('download_jobs_track_id_index'),
    ...jobStateColumns(),
    outputPath: p.text().nullable(),
    /** Bytes; bigint because nothing stops a lossless file from passing 2 GiB. */
    fileSize: p.bigint('number').nullable(),
    ...timestampColumns(),
  },
  checks: jobTableChecks('download_jobs'),
  triggers: jobTableTriggers('download_jobs'),
  indexes: [{ name: 'download_jobs_status_index', properties: ['status'] }],
});
export type IDownloadJob = InferEntity<typeof DownloadJob>;
