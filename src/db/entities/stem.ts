/** One separated stem file of a processing job. */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { KNOWN_STEM_TYPES } from '../../domain/modelCatalog.ts';
import { idColumn, timestampColumns } from './columns.ts';
import { Track } from './track.ts';
import { ProcessingJob } from './processingJob.ts';

export const Stem = defineEntity({
  name: 'Stem',
  tableName: 'stems',
  properties: {
    id: idColumn(),
    processingJob: () => p.manyToOne(ProcessingJob).deleteRule('cascade'),
    // Denormalised from the job, as in the domain model, for per-track queries.
    track: () => p.manyToOne(Track).deleteRule('cascade').index('stems_track_id_index'),
    stemType: p.enum(KNOWN_STEM_TYPES),
    filePath: p.text().nullable(),
    fileSize: p.bigint('number').nullable(),
    ...timestampColumns(),
  },
  // A run yields each stem type once; also serves lookups by processing_job_id.
  uniques: [{ name: 'stems_processing_job_id_stem_type_unique', properties: ['processingJob', 'stemType'] }],
});
export type IStem = InferEntity<typeof Stem>;
