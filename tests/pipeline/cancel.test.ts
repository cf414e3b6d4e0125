/**
 * cancelTicket against a real worker process composition (startWorkerProcess:
 * pg-boss, the process's LISTEN watch, the real engine with a tiny model) on a
 * database of this file's own. Heartbeats are set to 30 s here, so a running
 * job that stops within seconds of a cancel was stopped by the NOTIFY.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { cancelTicket } from '../../src/jobs/pipeline/cancel.ts';
import { InputError } from '../../src/jobs/pipeline/input.ts';
import { requestSeparation, type SeparationTicket } from '../../src/jobs/pipeline/requestSeparation.ts';
import { QUEUES, type QueueName } from '../../src/jobs/queues/payloads.ts';
import { sendDownload } from '../../src/jobs/queues/send.ts';
import type { Engine } from '../../src/jobs/workers/context.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/workers/runtime.ts';
import { insertRequest } from '../support/db.ts';
import { startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { until } from '../support/wait.ts';
import { jobRow, makeTinyModels, memoryLogger, tempDir, toneWav, waitForTicket } from './helpers.ts';
import { openProducer, ownDatabase, type OwnDatabase, type Producer } from './recoveryHelpers.ts';

/** Passes requests through and records how each ended (the engine's own answer, or an error). */
class RecordingEngine implements Engine {
  readonly inner: Engine;
  readonly ended: { cmd: string; ok: boolean; code?: string; at: number }[] = [];
  constructor(inner: Engine) {
    this.inner = inner;
  }
  request: Engine['request'] = async (command, options) => {
    try {
      const result = await this.inner.request(command, options);
      this.ended.push({ cmd: command.cmd, ok: true, at: Date.now() });
      return result;
    } catch (error) {
      this.ended.push({ cmd: command.cmd, ok: false, code: (error as { code?: string }).code, at: Date.now() });
      throw error;
    }
  };
}

let db: OwnDatabase;
let producer: Producer;
let proc: WorkerProcess | undefined;
let engine: RecordingEngine;
let server: FakeHttp;
let modelDir: string;
let audioDir: string;
let dataDir: string;
const log = memoryLogger();
const trickles = new Set<NodeJS.Timeout>();
let downloadAborted = false;

async function startWorkers(): Promise<WorkerProcess> {
  const parsed = parseConfig({
    DATABASE_URL: db.url,
    SFA_DATA_DIR: dataDir,
    SFA_MODEL_DIR: modelDir,
    SFA_DEVICE: 'cpu',
    SFA_MAX_DURATION_SECONDS: '120',
    SFA_HEARTBEAT_SECONDS: '30',
    SFA_STALE_AFTER_SECONDS: '600',
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const started = await startWorkerProcess(parsed.config, db.url, { pollingIntervalSeconds: 0.5, log, reaper: false });
  engine = new RecordingEngine(started.ctx.engine);
  started.ctx.engine = engine;
  return started;
}

beforeAll(async () => {
  process.env.SFA_TORCH_THREADS = '1'; // inherited by the engine: share the machine's cores politely
  db = await ownDatabase();
  modelDir = await makeTinyModels(['htdemucs']);
  audioDir = tempDir('audio');
  dataDir = tempDir('data');
  producer = await openProducer(db.url, 120);
  // A download that never finishes: 64 KB at once, then 1 KB every 200 ms of a 4 MB file.
  server = await startFakeHttp((req, res) => {
    if (req.path !== '/slow.wav') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(4 * 1024 * 1024) });
    res.write(Buffer.alloc(64 * 1024));
    const timer = setInterval(() => res.write(Buffer.alloc(1024)), 200);
    trickles.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      trickles.delete(timer);
      if (!res.writableFinished) downloadAborted = true;
    });
  });
}, 180_000);

afterAll(async () => {
  await proc?.stop();
  for (const timer of trickles) clearInterval(timer);
  await server?.close();
  await producer?.close();
  for (const dir of [modelDir, audioDir, dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** pg-boss jobs still waiting or running for these rows. */
async function liveBossJobs(rows: [QueueName, string][]): Promise<number> {
  let n = 0;
  for (const [queue, id] of rows) {
    n += (await producer.boss.findJobs(queue, { key: id })).filter((j) => ['created', 'retry', 'active'].includes(j.state)).length;
  }
  return n;
}

const rowIds = (t: SeparationTicket) => [t.downloadJobId, t.processingJobId, t.analysisJobId];
const bossKeys = (t: SeparationTicket): [QueueName, string][] => [
  [QUEUES.download, t.downloadJobId],
  [QUEUES.separate, t.processingJobId],
  [QUEUES.analyze, t.analysisJobId],
];

function tmpEntries(): string[] {
  const tmp = path.join(dataDir, 'tmp');
  return existsSync(tmp) ? readdirSync(tmp) : [];
}

describe('cancelling a queued request (no worker running yet)', () => {
  let ticket: SeparationTicket;

  it('fails every row with "cancelled" and removes their pg-boss jobs', async () => {
    ticket = await requestSeparation(producer.pipeline, { input: await toneWav(path.join(audioDir, 'queued.wav'), 2, 440), model: 'htdemucs' });
    expect(await liveBossJobs(bossKeys(ticket))).toBe(1); // the download's; the others wait for audio

    const result = await cancelTicket(producer.pipeline, ticket, { reason: 'asked by the requester' });
    expect(result).toEqual({ cancelled: rowIds(ticket), kept: [], finished: [] });
    for (const [table, id] of [['download_jobs', ticket.downloadJobId], ['processing_jobs', ticket.processingJobId], ['analysis_jobs', ticket.analysisJobId]] as const) {
      expect(await jobRow(producer.orm, table, id)).toMatchObject({ status: 'failed', error: 'cancelled: asked by the requester' });
    }
    expect(await producer.boss.findJobs(QUEUES.download, { key: ticket.downloadJobId })).toEqual([]);
    // Cancelling again changes nothing and says the rows are finished.
    expect(await cancelTicket(producer.pipeline, ticket)).toEqual({ cancelled: [], kept: [], finished: [ticket.processingJobId, ticket.analysisJobId, ticket.downloadJobId] });
  });

  it('is a no-op when the job is delivered anyway', async () => {
    proc = await startWorkers();
    const bossId = await sendDownload(producer.boss, producer.orm.em.fork(), ticket.downloadJobId);
    await until('the redelivered job to complete', async () => (await producer.boss.findJobs(QUEUES.download, { id: bossId! }))[0]?.state === 'completed');
    expect(await jobRow(producer.orm, 'download_jobs', ticket.downloadJobId)).toMatchObject({ status: 'failed', error: 'cancelled: asked by the requester' });
    expect(existsSync(path.join(dataDir, 'downloads', ticket.trackId))).toBe(false);
    expect(engine.ended).toEqual([]);
  }, 60_000);

  it('refuses bad tickets with a clear message and changes nothing', async () => {
    await expect(cancelTicket(producer.pipeline, { trackId: 'nope' })).rejects.toThrow(InputError);
    await expect(cancelTicket(producer.pipeline, { trackId: ticket.trackId, processingJobId: 'x' })).rejects.toThrow(/not a processing job id/);
    const other = await requestSeparation(producer.pipeline, { input: await toneWav(path.join(audioDir, 'other.wav'), 2, 500), model: 'htdemucs' });
    await expect(cancelTicket(producer.pipeline, { trackId: ticket.trackId, processingJobId: other.processingJobId })).rejects.toThrow(/belongs to another track/);
    await waitForTicket(producer.orm, other); // untouched: it runs to the end
    expect((await jobRow(producer.orm, 'processing_jobs', other.processingJobId)).status).toBe('completed');
  }, 120_000);
});

describe('cancelling running work', () => {
  it('stops a running separation: the engine answers "cancelled", nothing of it stays on disk', async () => {
    const ticket = await requestSeparation(producer.pipeline, { input: await toneWav(path.join(audioDir, 'long.wav'), 20, 330), model: 'htdemucs' });
    await until('separation progress', async () => {
      const row = await jobRow(producer.orm, 'processing_jobs', ticket.processingJobId);
      return row.status === 'processing' && row.progress > 0;
    }, 120_000);
    const before = engine.ended.length;

    const result = await cancelTicket(producer.pipeline, ticket);
    // The download had finished; the analysis may have finished before the separation started, or be queued behind it.
    expect(result.kept).toEqual([]);
    expect(result.cancelled).toContain(ticket.processingJobId);
    expect([...result.cancelled, ...result.finished].sort()).toEqual(rowIds(ticket).sort());
    // Within seconds, far below the 30 s heartbeat: the worker heard the NOTIFY.
    const ended = await until('the engine to end the separation', async () => engine.ended.slice(before).find((e) => e.cmd === 'separate'), 10_000);
    expect(ended).toMatchObject({ ok: false, code: 'cancelled' });
    expect(log.lines.join('\n')).not.toMatch(/did not stop within .* killing the engine/);
    // The engine is idle again (it answers pings while working, saying what it is busy with).
    await until('the engine to be idle', async () => (await engine.inner.request({ cmd: 'ping' })).busy === null, 5_000);

    expect(await jobRow(producer.orm, 'processing_jobs', ticket.processingJobId)).toMatchObject({ status: 'failed', error: 'cancelled' });
    await until('the pg-boss jobs to settle', async () => (await liveBossJobs(bossKeys(ticket))) === 0, 15_000);
    expect(existsSync(path.join(dataDir, 'stems', ticket.trackId, ticket.processingJobId))).toBe(false);
    expect(tmpEntries().filter((e) => e.includes(ticket.processingJobId) || e.includes(ticket.analysisJobId))).toEqual([]);
    const stems = await producer.orm.em.fork().execute(`select id from stems where processing_job_id = ?`, [ticket.processingJobId]);
    expect(stems).toEqual([]);
    // Not a loss to retry: no replacement rows.
    for (const table of ['processing_jobs', 'analysis_jobs']) {
      expect(await producer.orm.em.fork().execute(`select id from ${table} where track_id = ?`, [ticket.trackId]), table).toHaveLength(1);
    }
  }, 200_000);

  it('stops a running download and fails the rows that waited for its audio', async () => {
    const ticket = await requestSeparation(producer.pipeline, { input: `${server.baseUrl}/slow.wav`, model: 'htdemucs', allowPrivateHosts: true });
    await until('download progress', async () => {
      const row = await jobRow(producer.orm, 'download_jobs', ticket.downloadJobId);
      return row.status === 'downloading' && row.progress > 0;
    }, 60_000);
    expect(tmpEntries().some((e) => e.includes(ticket.downloadJobId))).toBe(true);

    const result = await cancelTicket(producer.pipeline, { trackId: ticket.trackId, downloadJobId: ticket.downloadJobId });
    expect(result).toEqual({ cancelled: rowIds(ticket), kept: [], finished: [] });
    await until('the worker to drop the connection', async () => downloadAborted, 10_000);
    await until('the pg-boss job to settle', async () => (await liveBossJobs(bossKeys(ticket))) === 0, 15_000);
    await until('the partial download to be removed', async () => !tmpEntries().some((e) => e.includes(ticket.downloadJobId)), 10_000);
    for (const [table, id] of [['download_jobs', ticket.downloadJobId], ['processing_jobs', ticket.processingJobId], ['analysis_jobs', ticket.analysisJobId]] as const) {
      expect(await jobRow(producer.orm, table, id)).toMatchObject({ status: 'failed', error: 'cancelled' });
    }
    expect(existsSync(path.join(dataDir, 'downloads', ticket.trackId))).toBe(false);
    const downloads = await producer.orm.em.fork().execute(`select id from download_jobs where track_id = ?`, [ticket.trackId]);
    expect(downloads).toHaveLength(1);
  }, 120_000);
});

describe('a job shared by two chat requests', () => {
  it('is kept while the other request waits for it, and cancelled once nobody does', async () => {
    const input = await toneWav(path.join(audioDir, 'shared.wav'), 3, 600);
    const a = await requestSeparation(producer.pipeline, { input, model: 'htdemucs' });
    const b = await requestSeparation(producer.pipeline, { input, model: 'htdemucs' });
    expect(b.processingJobId).toBe(a.processingJobId);
    const em = producer.orm.em.fork();
    const requestA = await insertRequest(em, a.trackId, { processing_job_id: a.processingJobId, analysis_job_id: a.analysisJobId });
    await insertRequest(em, b.trackId, { processing_job_id: b.processingJobId, analysis_job_id: b.analysisJobId });

    const result = await cancelTicket(producer.pipeline, a, { requestId: requestA });
    expect(result.cancelled).toEqual([]);
    expect([...result.kept, ...result.finished].sort()).toEqual(rowIds(a).sort());
    expect(result.kept).toEqual(expect.arrayContaining([a.processingJobId, a.analysisJobId]));
    const rows = await waitForTicket(producer.orm, a);
    expect([rows.download.status, rows.processing.status, rows.analysis.status]).toEqual(['completed', 'completed', 'completed']);

    // The same for a pair where the other request was already delivered: nobody waits, so the work is cancelled.
    const input2 = await toneWav(path.join(audioDir, 'shared2.wav'), 2, 700);
    const c = await requestSeparation(producer.pipeline, { input: input2, model: 'htdemucs' });
    const requestC = await insertRequest(em, c.trackId, { processing_job_id: c.processingJobId, analysis_job_id: c.analysisJobId });
    await insertRequest(em, c.trackId, { processing_job_id: c.processingJobId, analysis_job_id: c.analysisJobId, delivery_state: 'delivered', delivered_at: new Date() });
    const second = await cancelTicket(producer.pipeline, c, { requestId: requestC });
    expect(second.kept).toEqual([]);
    expect([...second.cancelled, ...second.finished].sort()).toEqual(rowIds(c).sort());
    expect(second.cancelled).toEqual(expect.arrayContaining([c.processingJobId, c.analysisJobId]));
  }, 120_000);
});

describe('the worker log', () => {
  it('says why cancelled work stopped, without treating it as lost', () => {
    const text = log.lines.join('\n');
    expect(text).toMatch(/processing job [0-9a-f-]{36}: stopped, its row was failed elsewhere \(cancelled\)/);
    expect(text).not.toMatch(/worker lost|lost; retrying/);
  });
});
