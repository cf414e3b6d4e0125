/** One Demucs separation run of a track with one model; produces stems. */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, jobStateColumns, jobTableChecks, jobTableTriggers, timestampColumns } from './columns.ts';
import { Track } from './track.ts';
import { Stem } from './stem.ts';

export const ProcessingJob = defineEntity({
  name: 'ProcessingJob',
  tableName: 'processing_jobs',
  properties: {
    id: idColumn(),
    track: () => p.manyToOne(Track).deleteRule('cascade'),
    // Not checked against the catalog in the DB: test models (make-test-model) have free names.
    model: p.text().default('htdemucs'),
    ...jobStateColumns(),
    outputPath: p.text().nullable(),
    options: p.json<Record<string, unknown>>().nullable(),
    /** Set while the worker fetches the model files (first use): {model, totalBytes, doneBytes}. */
    modelFetch: p.json<{ model: string; totalBytes: number; doneBytes: number }>().nullable(),
    /** A slow step within the separation, e.g. "preparing model for this CPU"; null otherwise. */
    stageNote: p.text().nullable(),
    ...timestampColumns(),
    stems: () => p.oneToMany(Stem).mappedBy('processingJob'),
  },
  checks: jobTableChecks('processing_jobs'),
  triggers: jobTableTriggers('processing_jobs'),
  indexes: [
    // "Reuse before recompute" looks up stems by (track, model).
    { name: 'processing_jobs_track_id_model_index', properties: ['track', 'model'] },
    { name: 'processing_jobs_status_index', properties: ['status'] },
  ],
});
export type IProcessingJob = InferEntity<typeof ProcessingJob>;
