/**
 * Deleting a track removes everything about it; deleting a job removes what
 * it produced; requests only lose their pointer to a deleted job.
 */
import { describe, expect, it } from 'vitest';
import {
  countRows,
  insertAnalysisResult,
  insertJob,
  insertRequest,
  insertStem,
  insertTrack,
  selectRow,
  useTestOrm,
} from '../support/db.ts';

const db = useTestOrm();

async function trackWithEverything() {
  const trackId = await insertTrack(db.em);
  const downloadJobId = await insertJob(db.em, 'download', trackId, { status: 'completed', progress: 100 });
  const processingJobId = await insertJob(db.em, 'processing', trackId, { status: 'completed', progress: 100 });
  const analysisJobId = await insertJob(db.em, 'analysis', trackId, { status: 'completed', progress: 100 });
  const stemIds = [
    await insertStem(db.em, processingJobId, trackId, { stem_type: 'vocals' }),
    await insertStem(db.em, processingJobId, trackId, { stem_type: 'drums' }),
  ];
  const resultId = await insertAnalysisResult(db.em, analysisJobId, trackId);
  const requestId = await insertRequest(db.em, trackId, {
    processing_job_id: processingJobId,
    analysis_job_id: analysisJobId,
  });
  return { trackId, downloadJobId, processingJobId, analysisJobId, stemIds, resultId, requestId };
}

const TRACK_CHILDREN = ['download_jobs', 'processing_jobs', 'analysis_jobs', 'stems', 'analysis_results', 'requests'];

describe('cascades', () => {
  it('deleting a track deletes its jobs, stems, results and requests', async () => {
    const { trackId } = await trackWithEverything();
    const other = await trackWithEverything();
    await db.em.execute('delete from tracks where id = ?', [trackId]);
    for (const table of TRACK_CHILDREN) {
      expect(await countRows(db.em, table, 'track_id = ?', [trackId]), table).toBe(0);
      expect(await countRows(db.em, table, 'track_id = ?', [other.trackId]), table).toBeGreaterThan(0);
    }
  });

  it('deleting a processing job deletes its stems and unlinks requests', async () => {
    const t = await trackWithEverything();
    await db.em.execute('delete from processing_jobs where id = ?', [t.processingJobId]);
    expect(await countRows(db.em, 'stems', 'processing_job_id = ?', [t.processingJobId])).toBe(0);
    expect(await selectRow(db.em, 'requests', t.requestId)).toMatchObject({
      processing_job_id: null,
      analysis_job_id: t.analysisJobId,
    });
    expect(await selectRow(db.em, 'tracks', t.trackId)).toBeDefined();
    expect(await selectRow(db.em, 'analysis_results', t.resultId)).toBeDefined();
  });

  it('deleting an analysis job deletes its result and unlinks requests', async () => {
    const t = await trackWithEverything();
    await db.em.execute('delete from analysis_jobs where id = ?', [t.analysisJobId]);
    expect(await selectRow(db.em, 'analysis_results', t.resultId)).toBeUndefined();
    expect(await selectRow(db.em, 'requests', t.requestId)).toMatchObject({ analysis_job_id: null });
    expect(await countRows(db.em, 'stems', 'track_id = ?', [t.trackId])).toBe(2);
  });

  it('deleting a download job leaves the rest of the track alone', async () => {
    const t = await trackWithEverything();
    await db.em.execute('delete from download_jobs where id = ?', [t.downloadJobId]);
    expect(await countRows(db.em, 'processing_jobs', 'track_id = ?', [t.trackId])).toBe(1);
    expect(await countRows(db.em, 'stems', 'track_id = ?', [t.trackId])).toBe(2);
  });
});
