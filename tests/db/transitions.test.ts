/**
 * transitionJob against the real database: every (from, to) pair for every
 * job kind, what a refused transition leaves behind, patches, and the DB
 * trigger that backs the guard up for writers that bypass transitionJob.
 */
import { CheckConstraintViolationException } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  JOB_KINDS,
  JOB_TABLES,
  JobNotFoundError,
  transitionJob,
  type JobKind,
} from '../../src/db/jobStatusWrites.ts';
import { DownloadJob, ProcessingJob } from '../../src/db/entities/index.ts';
import { InvalidTransitionError, JOB_STATUSES, canTransition, type JobStatus } from '../../src/domain/jobStatus.ts';
import { insertTrackWithJob, selectRow , useTestOrm } from '../support/db.ts';

const db = useTestOrm();

const PAIRS = JOB_STATUSES.flatMap((from) => JOB_STATUSES.map((to) => [from, to] as [JobStatus, JobStatus]));
const CASES = JOB_KINDS.flatMap((kind) =>
  PAIRS.map(([from, to]) => ({ kind, from, to, allowed: canTransition(from, to) })),
);

it('covers all 25 pairs, 7 of them allowed plus queued -> failed', () => {
  expect(PAIRS).toHaveLength(25);
  expect(PAIRS.filter(([f, t]) => canTransition(f, t))).toHaveLength(8);
});

describe('transitionJob', () => {
  it.for(CASES.filter((c) => c.allowed))('$kind: $from -> $to is written', async ({ kind, from, to }) => {
    const { jobId } = await insertTrackWithJob(db.em, kind, { status: from, progress: 40 });
    const job = await transitionJob(db.em, kind, jobId, to);
    expect(job.status).toBe(to);
    const row = await selectRow(db.em, JOB_TABLES[kind], jobId);
    expect(row?.status).toBe(to);
    expect(row?.progress).toBe(to === 'completed' ? 100 : 40);
  });

  it.for(CASES.filter((c) => !c.allowed))(
    '$kind: $from -> $to is refused and changes nothing',
    async ({ kind, from, to }) => {
      const { jobId } = await insertTrackWithJob(db.em, kind, { status: from, progress: 40, error: null });
      const before = await selectRow(db.em, JOB_TABLES[kind], jobId);
      const refused = transitionJob(db.em, kind, jobId, to, { progress: 90, error: 'should not be written' });
      await expect(refused).rejects.toBeInstanceOf(InvalidTransitionError);
      await expect(refused).rejects.toMatchObject({ from, to });
      expect(await selectRow(db.em, JOB_TABLES[kind], jobId)).toEqual(before);
    },
  );

  it.for(JOB_KINDS)('%s: an unknown id is JobNotFoundError', async (kind) => {
    await expect(transitionJob(db.em, kind, randomUUID(), 'failed')).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(transitionJob(db.em, kind, 'not-a-uuid', 'failed')).rejects.toBeInstanceOf(JobNotFoundError);
    // queued has no allowed sources: still reported as not found, not as a transition error.
    await expect(transitionJob(db.em, kind, randomUUID(), 'queued')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('writes the patch in the same UPDATE and returns the entity', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'download', { status: 'downloading', progress: 55 });
    const before = await selectRow(db.em, 'download_jobs', jobId);
    const job = await transitionJob(db.em, 'download', jobId, 'completed', {
      outputPath: '/var/sfa/downloads/x.flac',
      fileSize: 3_000_000_000,
    });
    expect(job).toMatchObject({ id: jobId, status: 'completed', progress: 100, outputPath: '/var/sfa/downloads/x.flac' });
    expect(job.fileSize).toBe(3_000_000_000);
    expect(job.updatedAt).toBeInstanceOf(Date);
    expect(job.updatedAt.getTime()).toBeGreaterThanOrEqual(new Date(String(before?.updated_at)).getTime());
  });

  it('stores JSON patches and the error of a failed job', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'processing');
    await transitionJob(db.em, 'processing', jobId, 'processing', { options: { shifts: 2, twoStems: 'vocals' } });
    const failed = await transitionJob(db.em, 'processing', jobId, 'failed', { error: 'demucs: out of memory' });
    expect(failed).toMatchObject({ status: 'failed', error: 'demucs: out of memory', options: { shifts: 2, twoStems: 'vocals' } });

    const analysis = await insertTrackWithJob(db.em, 'analysis', { status: 'processing' });
    await transitionJob(db.em, 'analysis', analysis.jobId, 'completed', { results: { type: 'all', path: "it's.json" } });
    expect(await selectRow(db.em, 'analysis_jobs', analysis.jobId)).toMatchObject({
      results: { type: 'all', path: "it's.json" },
    });
  });

  it('stores text with quotes, backslashes and placeholders verbatim', async () => {
    const nasty = `it's "bad"? \\ ?? $1 :x -- ; drop table tracks; \u00e9`;
    const { jobId } = await insertTrackWithJob(db.em, 'analysis', { status: 'processing' });
    const job = await transitionJob(db.em, 'analysis', jobId, 'failed', { error: nasty, results: { note: nasty } });
    expect(job.error).toBe(nasty);
    expect(await selectRow(db.em, 'analysis_jobs', jobId)).toMatchObject({ error: nasty, results: { note: nasty } });
  });

  it('never lowers progress through a patch', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'download', { status: 'downloading', progress: 70 });
    const job = await transitionJob(db.em, 'download', jobId, 'processing', { progress: 10 });
    expect(job.progress).toBe(70);
    expect((await transitionJob(db.em, 'download', jobId, 'failed', { progress: 80 })).progress).toBe(80);
  });

  it('rejects fields the job kind does not have and invalid progress, writing nothing', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'download');
    await expect(
      transitionJob(db.em, 'download', jobId, 'downloading', { results: {} } as never),
    ).rejects.toThrow(/no patchable field "results"/);
    await expect(transitionJob(db.em, 'download', jobId, 'downloading', { progress: 101 })).rejects.toBeInstanceOf(
      RangeError,
    );
    expect((await selectRow(db.em, 'download_jobs', jobId))?.status).toBe('queued');
  });

  it('refreshes an entity already loaded in the same EntityManager', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'processing');
    const local = db.orm.em.fork();
    const loaded = await local.findOneOrFail(ProcessingJob, jobId);
    expect(loaded.status).toBe('queued');
    const returned = await transitionJob(local, 'processing', jobId, 'processing');
    expect(returned).toBe(loaded);
    expect(loaded.status).toBe('processing');
  });

  it('works with the global EntityManager too (e.g. a worker without a request context)', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'download');
    const job = await transitionJob(db.orm.em, 'download', jobId, 'downloading');
    expect(job).toMatchObject({ id: jobId, status: 'downloading' });
  });

  it('runs inside the EntityManager transaction', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'analysis');
    await expect(
      db.orm.em.fork().transactional(async (tx) => {
        await transitionJob(tx, 'analysis', jobId, 'processing');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await selectRow(db.em, 'analysis_jobs', jobId))?.status).toBe('queued');
  });
});

describe('the status trigger (writers that bypass transitionJob)', () => {
  const rawUpdate = (kind: JobKind, id: string, to: JobStatus) =>
    db.em.execute(`update ${JOB_TABLES[kind]} set status = ? where id = ?`, [to, id]);

  it.for(CASES.filter((c) => c.kind === 'processing'))(
    'agrees with the domain guard on $from -> $to',
    async ({ kind, from, to, allowed }) => {
      const { jobId } = await insertTrackWithJob(db.em, kind, { status: from });
      if (allowed || from === to) {
        await rawUpdate(kind, jobId, to);
      } else {
        await expect(rawUpdate(kind, jobId, to)).rejects.toThrow(`job status cannot move from ${from} to ${to}`);
      }
      expect((await selectRow(db.em, JOB_TABLES[kind], jobId))?.status).toBe(allowed ? to : from);
    },
  );

  it('refuses an illegal change flushed through the ORM', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'download', { status: 'completed' });
    const local = db.orm.em.fork();
    const job = await local.findOneOrFail(DownloadJob, jobId);
    job.status = 'downloading';
    await expect(local.flush()).rejects.toBeInstanceOf(CheckConstraintViolationException);
    expect((await selectRow(db.em, 'download_jobs', jobId))?.status).toBe('completed');
  });
});
