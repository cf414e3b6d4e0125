/** setProgress: only while a job is running, only upwards. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_KINDS, JOB_TABLES, setProgress } from '../../src/db/jobStatusWrites.ts';
import type { Orm } from '../../src/db/orm.ts';
import { insertTrackWithJob, openTestOrm, selectRow } from '../support/db.ts';

let orm: Orm;
let em: EntityManager;
beforeAll(async () => {
  orm = await openTestOrm();
  em = orm.em.fork();
});
afterAll(() => orm.close());

const progressOf = async (kind: (typeof JOB_KINDS)[number], id: string) =>
  (await selectRow(em, JOB_TABLES[kind], id))?.progress;

describe.each(JOB_KINDS)('setProgress on %s jobs', (kind) => {
  it('raises progress while the job is active and never lowers it', async () => {
    const { jobId } = await insertTrackWithJob(em, kind, { status: 'processing' });
    expect(await setProgress(em, kind, jobId, 30)).toBe(true);
    expect(await setProgress(em, kind, jobId, 60)).toBe(true);
    expect(await setProgress(em, kind, jobId, 45)).toBe(false);
    expect(await setProgress(em, kind, jobId, 60)).toBe(false);
    expect(await progressOf(kind, jobId)).toBe(60);
    expect(await setProgress(em, kind, jobId, 100)).toBe(true);
    expect(await progressOf(kind, jobId)).toBe(100);
  });

  it('also writes while downloading', async () => {
    const { jobId } = await insertTrackWithJob(em, kind, { status: 'downloading' });
    expect(await setProgress(em, kind, jobId, 10)).toBe(true);
  });

  it.for(['queued', 'completed', 'failed'] as const)('writes nothing while %s', async (status) => {
    const { jobId } = await insertTrackWithJob(em, kind, { status, progress: 20 });
    const before = await selectRow(em, JOB_TABLES[kind], jobId);
    expect(await setProgress(em, kind, jobId, 50)).toBe(false);
    expect(await selectRow(em, JOB_TABLES[kind], jobId)).toEqual(before);
  });

  it('rejects values outside 0..100 before touching the database', async () => {
    const { jobId } = await insertTrackWithJob(em, kind, { status: 'processing' });
    for (const bad of [-1, 101, 2.5, Number.NaN]) {
      await expect(setProgress(em, kind, jobId, bad)).rejects.toBeInstanceOf(RangeError);
    }
    expect(await progressOf(kind, jobId)).toBe(0);
  });

  it('is a no-op for unknown jobs', async () => {
    expect(await setProgress(em, kind, randomUUID(), 10)).toBe(false);
  });
});
