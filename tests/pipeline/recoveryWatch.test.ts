/**
 * AttemptWatch on a real database: a running row's heartbeat, and the three
 * ways its work is stopped — the row failed with a NOTIFY (heard at once), the
 * row failed without one (seen at the next heartbeat), pg-boss's expiry — plus
 * a LISTEN connection that is killed and re-established.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionJob } from '../../src/db/jobStatusWrites.ts';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import { moveJob } from '../../src/jobs/pipeline/rowWrites.ts';
import { AttemptWatch, type Attempt } from '../../src/jobs/workers/attempt.ts';
import { insertTrackWithJob } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { memoryLogger } from './helpers.ts';
import { ownDatabase, type OwnDatabase } from './recoveryHelpers.ts';

let db: OwnDatabase;
let orm: Orm;
const watches: AttemptWatch[] = [];

beforeAll(async () => {
  db = await ownDatabase();
  orm = await createOrm(db.url);
}, 60_000);

afterAll(async () => {
  for (const w of watches) await w.close();
  await orm?.close();
});

function watch(heartbeatMs: number, log = memoryLogger()): AttemptWatch {
  const w = new AttemptWatch(orm, log, { heartbeatMs, reconnectMs: 200 });
  watches.push(w);
  return w;
}

/** A processing row as a claimed job leaves it, last touched an hour ago. */
async function runningRow(): Promise<{ trackId: string; jobId: string }> {
  const em = orm.em.fork();
  const row = await insertTrackWithJob(em, 'processing', { status: 'processing', progress: 10 });
  await em.execute(`update processing_jobs set updated_at = now() - interval '1 hour' where id = ?`, [row.jobId]);
  return row;
}

async function idleSeconds(id: string): Promise<number> {
  const rows = await orm.em.fork().execute<{ idle: number }[]>(`select extract(epoch from now() - updated_at)::float8 as idle from processing_jobs where id = ?`, [id]);
  return Number(rows[0]!.idle);
}

const aborted = (attempt: Attempt) => new Promise<void>((resolve) => (attempt.signal.aborted ? resolve() : attempt.signal.addEventListener('abort', () => resolve())));

describe('AttemptWatch', () => {
  it('touches a running row every heartbeat, even though progress does not move', async () => {
    const { jobId } = await runningRow();
    expect(await idleSeconds(jobId)).toBeGreaterThan(3000);
    const attempt = watch(200).begin('processing', jobId);
    await until('a heartbeat', async () => (await idleSeconds(jobId)) < 5, 10_000);
    const row = (await orm.em.fork().execute<{ status: string; progress: number }[]>(`select status, progress from processing_jobs where id = ?`, [jobId]))[0];
    expect(row).toEqual({ status: 'processing', progress: 10 });
    expect(attempt.signal.aborted).toBe(false);
    attempt.end();
    // Ended: no more heartbeats.
    await orm.em.fork().execute(`update processing_jobs set updated_at = now() - interval '1 hour' where id = ?`, [jobId]);
    await new Promise((r) => setTimeout(r, 600));
    expect(await idleSeconds(jobId)).toBeGreaterThan(3000);
  });

  it('stops the work as soon as the row is failed with a NOTIFY (cancel), without waiting for a heartbeat', async () => {
    const w = watch(60_000);
    await w.listen(db.url);
    const { trackId, jobId } = await runningRow();
    const attempt = w.begin('processing', jobId);
    await orm.em.fork().transactional((em) => moveJob(em, 'processing', jobId, trackId, 'failed', { error: 'cancelled' }));
    await until('the abort', async () => attempt.signal.aborted, 5_000);
    expect(attempt.rowGone).toBe('was failed elsewhere (cancelled)');
    expect(attempt.expired).toBe(false);
    attempt.end();
    expect(w.size).toBe(0);
  });

  it('notices a row failed without a notification at the next heartbeat (the fallback check)', async () => {
    const w = watch(300); // not listening at all
    const { jobId } = await runningRow();
    const attempt = w.begin('processing', jobId);
    await transitionJob(orm.em.fork(), 'processing', jobId, 'failed', { error: 'worker lost' }); // no NOTIFY
    await Promise.race([aborted(attempt), new Promise((_, fail) => setTimeout(() => fail(new Error('not aborted')), 5_000))]);
    expect(attempt.rowGone).toBe('is no longer active');
    attempt.end();
  });

  it('passes pg-boss expiry through as `expired`, not as a row taken away', async () => {
    const { jobId } = await runningRow();
    const expiry = new AbortController();
    const attempt = watch(60_000).begin('processing', jobId, expiry.signal);
    expiry.abort();
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.expired).toBe(true);
    expect(attempt.rowGone).toBeUndefined();
    attempt.end();
  });

  it('does not stop other attempts, nor ended ones', async () => {
    const w = watch(60_000);
    await w.listen(db.url);
    const one = await runningRow();
    const two = await runningRow();
    const a = w.begin('processing', one.jobId);
    const b = w.begin('processing', two.jobId);
    b.end();
    await orm.em.fork().transactional((em) => moveJob(em, 'processing', two.jobId, two.trackId, 'failed', { error: 'cancelled' }));
    await orm.em.fork().transactional((em) => moveJob(em, 'processing', one.jobId, one.trackId, 'completed', {}));
    await new Promise((r) => setTimeout(r, 500));
    expect(a.signal.aborted).toBe(false);
    expect(b.signal.aborted).toBe(false);
    a.end();
  });

  it('listens again after its connection is killed', async () => {
    for (const earlier of watches.splice(0)) await earlier.close(); // so the only listener in this database is the new one
    const log = memoryLogger();
    const w = watch(60_000, log);
    await w.listen(db.url);
    const killed = await orm.em
      .fork()
      .execute<{ ok: boolean }[]>(`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and application_name = 'sfa-progress'`);
    expect(killed).toEqual([{ ok: true }]);
    await until('the listener to reconnect', async () => log.lines.includes('progress listener connected again'), 10_000);
    expect(log.lines.join('\n')).toMatch(/progress listener lost its connection \(terminating connection due to administrator command\)/);

    const { trackId, jobId } = await runningRow();
    const attempt = w.begin('processing', jobId);
    await orm.em.fork().transactional((em) => moveJob(em, 'processing', jobId, trackId, 'failed', { error: 'cancelled' }));
    await until('the abort', async () => attempt.signal.aborted, 5_000);
    attempt.end();
  });
});
