/**
 * kill -9 of a worker process in the middle of a separation: its engine goes
 * away with it; a worker started afterwards notices the stale heartbeat (the
 * reaper, not pg-boss's 10-minute expiry), fails the lost rows with "worker
 * lost: no heartbeat for N s", retries them as new rows and completes them.
 * Real worker processes (src/main.ts --role worker), real engine, tiny model.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestSeparation } from '../../src/jobs/pipeline/requestSeparation.ts';
import { insertRequest } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { toneWav } from './helpers.ts';
import { enginePidOf, isAlive, spawnWorker, stopWorker, useWorkerProcesses, workerEnv } from './recoveryHelpers.ts';

const fx = useWorkerProcesses();

type Row = { id: string; status: string; progress: number; error: string | null; model?: string };

async function rowsOf(table: string, trackId: string): Promise<Row[]> {
  return fx.producer.orm.em.fork().execute<Row[]>(`select * from ${table} where track_id = ? order by inserted_at`, [trackId]);
}

describe('a worker killed with SIGKILL mid-separation', () => {
  it('is noticed by the next worker, whose retry completes the request as new rows', async () => {
    const { db, producer, dataDir, modelDir, audioDir, workers } = fx;
    const env = workerEnv({ url: db.url, dataDir, modelDir, extra: { SFA_STALE_AFTER_SECONDS: '10' } });
    const first = await spawnWorker(env);
    workers.push(first);

    const input = await toneWav(path.join(audioDir, 'long.wav'), 24, 330);
    const ticket = await requestSeparation(producer.pipeline, { input, model: 'htdemucs', format: 'wav' });
    const requestId = await insertRequest(producer.orm.em.fork(), ticket.trackId, {
      processing_job_id: ticket.processingJobId,
      analysis_job_id: ticket.analysisJobId,
    });

    // The separation is under way in the first worker's engine.
    await until('separation progress', async () => {
      const [row] = await rowsOf('processing_jobs', ticket.trackId);
      return row?.status === 'processing' && row.progress > 0;
    }, 120_000);
    const engine = enginePidOf(first.pid);
    expect(engine, 'the worker runs a Python engine child').toBeDefined();

    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The engine loses its client (stdin EOF, stdout EPIPE), cancels and exits: no orphan keeps computing.
    await until('the orphaned engine to exit', async () => !isAlive(engine!), 30_000);
    expect((await rowsOf('processing_jobs', ticket.trackId))[0]).toMatchObject({ status: 'processing' });

    const second = await spawnWorker(env);
    workers.push(second);
    const request = await until('the request to complete on retried rows', async () => {
      const [r] = await producer.orm.em
        .fork()
        .execute<{ processing_job_id: string; analysis_job_id: string }[]>(`select processing_job_id, analysis_job_id from requests where id = ?`, [requestId]);
      const processing = (await rowsOf('processing_jobs', ticket.trackId)).find((row) => row.id === r!.processing_job_id);
      const analysis = (await rowsOf('analysis_jobs', ticket.trackId)).find((row) => row.id === r!.analysis_job_id);
      return processing?.status === 'completed' && analysis?.status === 'completed' ? r : undefined;
    }, 180_000);

    // The lost separation: failed with the reaper's reason, replaced by a new row (a retry is a new row).
    const processing = await rowsOf('processing_jobs', ticket.trackId);
    expect(processing).toHaveLength(2);
    expect(processing[0]).toMatchObject({ id: ticket.processingJobId, status: 'failed' });
    expect(processing[0]!.error).toMatch(/worker lost: no heartbeat for \d+ s\)\. A new attempt was queued\./);
    expect(processing[1]).toMatchObject({ id: request.processing_job_id, status: 'completed', model: 'htdemucs' });

    // Stems of the new row on disk; nothing of the lost attempt left behind (no stems, no temp files).
    const stems = await producer.orm.em
      .fork()
      .execute<{ processing_job_id: string; file_path: string }[]>(`select processing_job_id, file_path from stems where track_id = ?`, [ticket.trackId]);
    expect(stems).toHaveLength(4);
    for (const stem of stems) {
      expect(stem.processing_job_id).toBe(request.processing_job_id);
      expect(statSync(stem.file_path).size).toBeGreaterThan(44);
    }
    expect(existsSync(path.join(dataDir, 'stems', ticket.trackId, ticket.processingJobId))).toBe(false);

    // The analysis was claimed by the killed worker too: either lost and retried, or it had finished.
    const analyses = await rowsOf('analysis_jobs', ticket.trackId);
    expect(analyses.at(-1)).toMatchObject({ id: request.analysis_job_id, status: 'completed' });
    for (const lost of analyses.slice(0, -1)) expect(lost.error).toMatch(/worker lost: no heartbeat/);

    // Nothing is left running anywhere.
    for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
      const active = await producer.orm.em.fork().execute(`select id from ${table} where status in ('queued', 'downloading', 'processing')`);
      expect(active, table).toEqual([]);
    }

    const secondEngine = enginePidOf(second.pid);
    expect(await stopWorker(second)).toEqual({ code: 0, signal: null });
    if (secondEngine) await until('the engine of a stopped worker to exit', async () => !isAlive(secondEngine), 15_000);
    // The killed attempts' temp directories (named after their rows) were removed by the reaper; the finished ones by their workers.
    const tmp = path.join(dataDir, 'tmp');
    expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
  }, 400_000);
});
