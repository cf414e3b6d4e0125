/**
 * Two writers racing on one job, each on its own connection: exactly one
 * transition lands, the other gets InvalidTransitionError and writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { setProgress, transitionJob } from '../../src/db/jobStatusWrites.ts';
import { InvalidTransitionError } from '../../src/domain/jobStatus.ts';
import { insertTrackWithJob, selectRow , useTestOrm } from '../support/db.ts';

const db = useTestOrm();

/** Waits until some backend is blocked on a lock running a statement that mentions `marker`. */
async function waitUntilBlocked(marker: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const rows = await db.em.execute<{ n: string }[]>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and position(? in query) > 0`,
      [marker],
    );
    if (Number(rows[0]!.n) > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the second writer never blocked on the row lock');
}

describe('racing writers', () => {
  it('the second writer waits for the first, then is refused (processing -> completed vs -> failed)', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'processing', { status: 'processing', progress: 90 });
    const first = db.orm.em.fork();
    const second = db.orm.em.fork();
    await first.begin();
    try {
      await transitionJob(first, 'processing', jobId, 'completed', { outputPath: '/stems/a' });
      // The second UPDATE blocks on the row lock the first transaction holds.
      const racing = transitionJob(second, 'processing', jobId, 'failed', { error: 'late failure' });
      racing.catch(() => {}); // inspected below
      await waitUntilBlocked(jobId);
      await first.commit();
      await expect(racing).rejects.toMatchObject({
        constructor: InvalidTransitionError,
        from: 'completed',
        to: 'failed',
      });
    } finally {
      if (first.isInTransaction()) await first.rollback();
    }
    expect(await selectRow(db.em, 'processing_jobs', jobId)).toMatchObject({
      status: 'completed',
      error: null,
      output_path: '/stems/a',
    });
  });

  it('when the first writer rolls back, the waiting one goes through', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'processing', { status: 'processing' });
    const first = db.orm.em.fork();
    await first.begin();
    await transitionJob(first, 'processing', jobId, 'completed');
    const racing = transitionJob(db.orm.em.fork(), 'processing', jobId, 'failed', { error: 'boom' });
    await waitUntilBlocked(jobId);
    await first.rollback();
    await expect(racing).resolves.toMatchObject({ status: 'failed', error: 'boom' });
  });

  it.for(['download', 'processing', 'analysis'] as const)(
    '%s: free-running races have exactly one winner',
    async (kind) => {
      for (let round = 0; round < 10; round++) {
        const { jobId } = await insertTrackWithJob(db.em, kind, { status: kind === 'download' ? 'downloading' : 'processing' });
        const results = await Promise.allSettled([
          transitionJob(db.orm.em.fork(), kind, jobId, 'completed'),
          transitionJob(db.orm.em.fork(), kind, jobId, 'failed', { error: 'lost' }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(InvalidTransitionError);
        const winner = results[0]!.status === 'fulfilled' ? 'completed' : 'failed';
        expect((await selectRow(db.em, `${kind}_jobs`, jobId))?.status).toBe(winner);
      }
    },
  );

  it('progress reports racing a completion never reopen or lower the job', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'download', { status: 'downloading' });
    const reports = Array.from({ length: 20 }, (_, i) => setProgress(db.orm.em.fork(), 'download', jobId, i * 5));
    const done = transitionJob(db.orm.em.fork(), 'download', jobId, 'completed');
    await Promise.all([...reports, done]);
    expect(await selectRow(db.em, 'download_jobs', jobId)).toMatchObject({ status: 'completed', progress: 100 });
  });
});
