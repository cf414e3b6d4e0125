/**
 * startWorkerProcess composed from a Config, working only the download queue
 * (no engine started): a direct http(s) URL (a local fake server) is fetched
 * into storage and the separation/analysis rows waiting for it are released
 * into their queues. The worker process itself has no permission for private
 * addresses: the request carries it (a CLI user's), or the link is refused.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { requestSeparation } from '../../src/jobs/pipeline/requestSeparation.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/workers/runtime.ts';
import { startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { testDatabaseUrl } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { jobRow, memoryLogger, tempDir, toneWav } from './helpers.ts';

let server: FakeHttp;
const dirs: string[] = [];
let proc: WorkerProcess;
const schema = `pgboss_proc_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  dirs.push(tempDir('audio'), tempDir('data'));
  const wav = readFileSync(await toneWav(path.join(dirs[0]!, 'song.wav'), 2));
  server = await startFakeHttp((req, res) => {
    if (req.path !== '/music/song.wav') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(wav.length) });
    res.end(wav);
  });
  const parsed = parseConfig({ DATABASE_URL: testDatabaseUrl(), SFA_DATA_DIR: dirs[1]!, SFA_MAX_DURATION_SECONDS: '60' });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  proc = await startWorkerProcess(parsed.config, testDatabaseUrl(), {
    queues: ['download'],
    pollingIntervalSeconds: 0.5,
    boss: { schema, supervise: false, maxConnections: 2 },
    log: memoryLogger(),
  });
}, 60_000);

afterAll(async () => {
  await proc?.stop();
  await server?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('startWorkerProcess', () => {
  it('downloads a direct URL and releases the waiting rows', async () => {
    const { ctx } = proc;
    const ticket = await requestSeparation(
      { orm: ctx.orm, boss: ctx.boss, maxDurationSeconds: ctx.maxDurationSeconds },
      { input: `${server.baseUrl}/music/song.wav`, model: 'htdemucs_ft', format: 'flac', allowPrivateHosts: true },
    );
    const download = await until('download', async () => {
      const row = await jobRow(ctx.orm, 'download_jobs', ticket.downloadJobId);
      return row.status === 'completed' || row.status === 'failed' ? row : undefined;
    });
    expect(download).toMatchObject({ status: 'completed', error: null });
    expect(download.output_path).toMatch(new RegExp(`downloads/${ticket.trackId}/source\\.wav$`));
    const track = (await ctx.orm.em.fork().execute<Record<string, unknown>[]>(`select * from tracks where id = ?`, [ticket.trackId]))[0]!;
    expect(track).toMatchObject({ title: 'song', duration: 2, source_url: `${server.baseUrl}/music/song.wav` });

    // Released: one pg-boss job each, queued for a separate/analyze worker; expiry sized from the row.
    const [separate] = await ctx.boss.findJobs('separate', { key: ticket.processingJobId });
    const [analyze] = await ctx.boss.findJobs('analyze', { key: ticket.analysisJobId });
    expect(separate).toMatchObject({ state: 'created', data: { processingJobId: ticket.processingJobId } });
    expect(analyze).toMatchObject({ state: 'created', data: { analysisJobId: ticket.analysisJobId } });
    expect(separate!.expireInSeconds).toBe(600); // 2 s of htdemucs_ft: the 10-minute floor
    expect((await jobRow(ctx.orm, 'processing_jobs', ticket.processingJobId)).status).toBe('queued');
  }, 60_000);

  it('refuses the same private link queued without the permission (as the bot queues it): a separate track, one message, nothing fetched', async () => {
    const { ctx } = proc;
    const before = server.requests.length;
    const ticket = await requestSeparation(
      { orm: ctx.orm, boss: ctx.boss, maxDurationSeconds: ctx.maxDurationSeconds },
      { input: `${server.baseUrl}/music/song.wav`, model: 'htdemucs_ft', format: 'flac' },
    );
    const download = await until('download', async () => {
      const row = await jobRow(ctx.orm, 'download_jobs', ticket.downloadJobId);
      return row.status === 'completed' || row.status === 'failed' ? row : undefined;
    });
    expect(download).toMatchObject({ status: 'failed' });
    expect(download.error).toContain('Links to local or private-network addresses are not allowed.');
    expect(ticket.reused.download).toBe(false); // the permitted track's finished download was not handed over
    expect(server.requests.length).toBe(before);
    expect((await jobRow(ctx.orm, 'processing_jobs', ticket.processingJobId)).status).toBe('failed');
  }, 60_000);
});
