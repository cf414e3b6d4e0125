/** The typed output of one analysis job (UNIQUE analysis_job_id: one result per job). */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';
import { Track } from './track.ts';
import { AnalysisJob } from './analysisJob.ts';

export const AnalysisResult = defineEntity({
  name: 'AnalysisResult',
  tableName: 'analysis_results',
  properties: {
    id: idColumn(),
    track: () => p.manyToOne(Track).deleteRule('cascade').index('analysis_results_track_id_index'),
    analysisJob: () => p.oneToOne(AnalysisJob).inversedBy('result').owner().deleteRule('cascade'),
    tempo: p.double().nullable(),
    key: p.text().nullable(),
    energy: p.double().nullable(),
    spectralCentroid: p.double().nullable(),
    spectralRolloff: p.double().nullable(),
    zeroCrossingRate: p.double().nullable(),
    /** MFCC, chroma and anything newer, without a migration. */
    features: p.json<Record<string, unknown>>().nullable(),
    ...timestampColumns(),
  },
});
export type IAnalysisResult = InferEntity<typeof AnalysisResult>;
