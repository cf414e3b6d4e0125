/**
 * Two worker processes against one database, several requests with distinct
 * inputs: pg-boss hands every job to exactly one of them, so every row is
 * processed once (no duplicated engine work, no "worker lost" replacements,
 * the reapers of both processes leave live work alone), everything completes,
 * and both processes took work.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestSeparation, type SeparationTicket } from '../../src/jobs/pipeline/requestSeparation.ts';
import { toneWav, waitForTicket } from './helpers.ts';
import { finishedInLog, spawnWorker, stopWorker, useWorkerProcesses, workerEnv } from './recoveryHelpers.ts';

const fx = useWorkerProcesses();
const REQUESTS = 4;

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const rows = await fx.producer.orm.em.fork().execute<{ n: string }[]>(sql, params);
  return Number(rows[0]!.n);
}

describe('two worker processes on one database', () => {
  it('process every job exactly once, and both take work', async () => {
    const { db, producer, dataDir, modelDir, audioDir, workers } = fx;
    // A generous stale threshold: on a loaded test machine a live job must never look lost here.
    const env = workerEnv({ url: db.url, dataDir, modelDir, extra: { SFA_STALE_AFTER_SECONDS: '30' } });
    workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));

    const inputs = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => toneWav(path.join(audioDir, `song-${i}.wav`), 3, 200 + 70 * i)),
    );
    const tickets: SeparationTicket[] = [];
    for (const input of inputs) tickets.push(await requestSeparation(producer.pipeline, { input, model: 'htdemucs', format: 'wav' }));
    expect(new Set(tickets.map((t) => t.trackId)).size).toBe(REQUESTS);

    for (const ticket of tickets) {
      const rows = await waitForTicket(producer.orm, ticket, 300_000);
      expect(rows.download.status).toBe('completed');
      expect(rows.processing.status).toBe('completed');
      expect(rows.analysis.status).toBe('completed');
    }

    // One row per job: nothing was lost and retried, nothing ran twice.
    for (const ticket of tickets) {
      for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
        expect(await count(`select count(*) as n from ${table} where track_id = ?`, [ticket.trackId]), table).toBe(1);
      }
      expect(await count(`select count(*) as n from stems where track_id = ?`, [ticket.trackId])).toBe(4);
      expect(await count(`select count(*) as n from analysis_results where track_id = ?`, [ticket.trackId])).toBe(1);
    }
    for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
      expect(await count(`select count(*) as n from ${table} where error is not null or status <> 'completed'`), table).toBe(0);
    }

    // Engine work, as the processes report it: each separation and analysis ran once, in one process.
    await Promise.all(workers.map((w) => stopWorker(w)));
    const logs = workers.map((w) => w.log());
    for (const what of ['download', 'separate', 'analyze'] as const) {
      const done = logs.flatMap((log) => finishedInLog(log, what));
      const expected = tickets.map((t) => (what === 'download' ? t.downloadJobId : what === 'separate' ? t.processingJobId : t.analysisJobId));
      expect(done.sort(), what).toEqual([...expected].sort());
    }
    for (const log of logs) {
      const took = finishedInLog(log, 'download').length + finishedInLog(log, 'separate').length + finishedInLog(log, 'analyze').length;
      expect(took, 'each process ran some of the jobs').toBeGreaterThan(0);
      expect(log).not.toMatch(/worker lost|lost; retrying|reaper: .* (failed|sent it again)/);
    }
    for (const w of workers) expect(await w.exited).toEqual({ code: 0, signal: null });
  }, 400_000);
});
