/** setProgress: only while a job is running, only upwards. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JOB_KINDS, JOB_TABLES, setProgress } from '../../src/db/jobStatusWrites.ts';
import { insertTrackWithJob, selectRow , useTestOrm } from '../support/db.ts';

const db = useTestOrm();

const progressOf = async (kind: (typeof JOB_KINDS)[number], id: string) =>
  (await selectRow(db.em, JOB_TABLES[kind], id))?.progress;

describe.each(JOB_KINDS)('setProgress on %s jobs', (kind) => {
  it('raises progress while the job is active and never lowers it', async () => {
    const { jobId } = await insertTrackWithJob(db.em, kind, { status: 'processing' });
    expect(await setProgress(db.em, kind, jobId, 30)).toBe(true);
    expect(await setProgress(db.em, kind, jobId, 60)).toBe(true);
    expect(await setProgress(db.em, kind, jobId, 45)).toBe(false);
    expect(await setProgress(db.em, kind, jobId, 60)).toBe(false);
    expect(await progressOf(kind, jobId)).toBe(60);
    expect(await setProgress(db.em, kind, jobId, 100)).toBe(true);
    expect(await progressOf(kind, jobId)).toBe(100);
  });

  it('also writes while downloading', async () => {
    const { jobId } = await insertTrackWithJob(db.em, kind, { status: 'downloading' });
    expect(await setProgress(db.em, kind, jobId, 10)).toBe(true);
  });

  it.for(['queued', 'completed', 'failed'] as const)('writes nothing while %s', async (status) => {
    const { jobId } = await insertTrackWithJob(db.em, kind, { status, progress: 20 });
    const before = await selectRow(db.em, JOB_TABLES[kind], jobId);
    expect(await setProgress(db.em, kind, jobId, 50)).toBe(false);
    expect(await selectRow(db.em, JOB_TABLES[kind], jobId)).toEqual(before);
  });

  it('rejects values outside 0..100 before touching the database', async () => {
    const { jobId } = await insertTrackWithJob(db.em, kind, { status: 'processing' });
    for (const bad of [-1, 101, 2.5, Number.NaN]) {
      await expect(setProgress(db.em, kind, jobId, bad)).rejects.toBeInstanceOf(RangeError);
    }
    expect(await progressOf(kind, jobId)).toBe(0);
  });

  it('is a no-op for unknown jobs', async () => {
    expect(await setProgress(db.em, kind, randomUUID(), 10)).toBe(false);
  });
});
