/** One librosa analysis run of a track; produces at most one AnalysisResult. */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, jobStateColumns, jobTableChecks, jobTableTriggers, timestampColumns } from './columns.ts';
import { Track } from './track.ts';
import { AnalysisResult } from './analysisResult.ts';

export const AnalysisJob = defineEntity({
  name: 'AnalysisJob',
  tableName: 'analysis_jobs',
  properties: {
    id: idColumn(),
    track: () => p.manyToOne(Track).deleteRule('cascade').index('analysis_jobs_track_id_index'),
    ...jobStateColumns(),
    /** Inline results (analysis type, file path, ...), as in the domain model. */
    results: p.json<Record<string, unknown>>().nullable(),
    ...timestampColumns(),
    result: () => p.oneToOne(AnalysisResult).mappedBy('analysisJob').nullable(),
  },
  checks: jobTableChecks('analysis_jobs'),
  triggers: jobTableTriggers('analysis_jobs'),
  indexes: [{ name: 'analysis_jobs_status_index', properties: ['status'] }],
});
export type IAnalysisJob = InferEntity<typeof AnalysisJob>;
