/**
 * The pipeline end to end: real PostgreSQL, real pg-boss (own schema), the real
 * Python engine with a tiny random htdemucs, ffmpeg-generated audio given as
 * local files (no network). Kept lean: 3 s inputs, one engine for the file.
 */
import { existsSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain/jobStatus.ts';
import { UnknownModelError } from '../../src/domain/modelCatalog.ts';
import type { ProgressEvent } from '../../src/jobs/pipeline/progressEvents.ts';
import { requestSeparation, type SeparationTicket } from '../../src/jobs/pipeline/requestSeparation.ts';
import { engineOfJob, latestEngine } from '../../src/jobs/pipeline/separationEngine.ts';
import { insertRequest, testDatabaseUrl, uniqueSpotifyId } from '../support/db.ts';
import { run as statusCommand } from '../../src/cli/commands/status.ts';
import { parseConfig } from '../../src/config.ts';
import { spotifyMetadataFor } from '../../src/jobs/workers/runtime.ts';
import { createBoss } from '../../src/jobs/queues/boss.ts';
import { sendJson, startFakeHttp } from '../support/fakeHttp.ts';
import { sendAnalyze, sendDownload, sendSeparate } from '../../src/jobs/queues/send.ts';
import { WORKER_LOST, WORKER_TIMED_OUT } from '../../src/jobs/workers/claim.ts';
import { until } from '../support/wait.ts';
import { expectNoLiveJobs, jobRow, liveBossJobs, makeTinyModels, startTestPipeline, tempDir, toneWav, waitForTicket, type TestPipeline } from './helpers.ts';

let t: TestPipeline;
let audioDir: string;
let tone: string;
let first: SeparationTicket;
let modelDir: string;

const ORDER: Record<JobStatus, number> = { queued: 0, downloading: 1, processing: 2, completed: 3, failed: 3 };

beforeAll(async () => {
  modelDir = await makeTinyModels(['htdemucs']);
  audioDir = tempDir('audio');
  tone = await toneWav(path.join(audioDir, 'tone.wav'), 3);
  t = await startTestPipeline({ modelDir, maxDurationSeconds: 10, cacheDir: tempDir('ov-cache') }); // the first separation converts the model
}, 180_000);

afterAll(async () => {
  await t?.close();
  for (const dir of [audioDir, modelDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function count(table: string, where: string, params: unknown[]): Promise<number> {
  const rows = await t.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from ${table} where ${where}`, params);
  return Number(rows[0]!.n);
}

function eventsFor(jobId: string): ProgressEvent[] {
  return t.events.filter((e) => e.jobId === jobId);
}

function expectMonotonic(events: ProgressEvent[]) {
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1]!, events[i]!];
    expect(ORDER[b.status]).toBeGreaterThanOrEqual(ORDER[a.status]);
    if (b.status === a.status) expect(b.progress).toBeGreaterThanOrEqual(a.progress);
  }
}

describe('pipeline from a local file', () => {
  it('runs download -> separate -> analyze once for a double request, with stems and analysis on disk', async () => {
    const [a, b] = await Promise.all([
      requestSeparation(t.pipeline, { input: tone, model: 'htdemucs', format: 'wav', requester: 'test' }),
      requestSeparation(t.pipeline, { input: tone, model: 'htdemucs', format: 'wav', requester: 'test' }),
    ]);
    first = a;
    expect(b.trackId).toBe(a.trackId);
    expect(b.downloadJobId).toBe(a.downloadJobId);
    expect(b.processingJobId).toBe(a.processingJobId);
    expect(b.analysisJobId).toBe(a.analysisJobId);

    // First use of the model on this machine (a fresh converted-model cache): while it converts, the row says so.
    const noteOnRow = until(
      'the separation row to say it is preparing the model',
      async () =>
        (await t.orm.em.fork().execute<{ stage_note: string | null }[]>(`select stage_note from processing_jobs where id = ?`, [a.processingJobId]))[0]
          ?.stage_note,
      120_000,
      25,
    );
    const rows = await waitForTicket(t.orm, a);
    expect(await noteOnRow).toBe('preparing model for this CPU');
    expect(rows.download).toMatchObject({ status: 'completed', progress: 100, error: null });
    expect(rows.processing).toMatchObject({ status: 'completed', progress: 100, error: null });
    expect(rows.analysis).toMatchObject({ status: 'completed', progress: 100, error: null });
    for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
      expect(await count(table, 'track_id = ?', [a.trackId])).toBe(1);
    }

    // Download: the file is in storage, its size recorded; the track knows its length.
    expect(rows.download.output_path).toBe(path.join(t.dataDir, 'downloads', a.trackId, 'source.wav'));
    expect(statSync(rows.download.output_path!).size).toBe(Number(rows.download.file_size));
    const track = (await t.orm.em.fork().execute<{ title: string; duration: number }[]>(`select * from tracks where id = ?`, [a.trackId]))[0]!;
    expect(track).toMatchObject({ title: 'tone', duration: 3 });

    // Separation: four stems, rows and files agree.
    const stems = await t.orm.em.fork().execute<{ stem_type: string; file_path: string; file_size: string }[]>(
      `select stem_type, file_path, file_size from stems where processing_job_id = ? order by stem_type`,
      [a.processingJobId],
    );
    expect(stems.map((s) => s.stem_type)).toEqual(['bass', 'drums', 'other', 'vocals']);
    for (const stem of stems) {
      expect(stem.file_path).toBe(path.join(t.dataDir, 'stems', a.trackId, a.processingJobId, `${stem.stem_type}.wav`));
      expect(statSync(stem.file_path).size).toBe(Number(stem.file_size));
    }

    // What ran the separation is recorded on its row (shown by `sfa separate` and `/models`).
    const ran = { backend: expect.stringMatching(/^(openvino|torch)$/), precision: expect.stringMatching(/^(f32|bf16)$/), device: 'cpu' };
    expect(await engineOfJob(t.orm.em.fork(), a.processingJobId)).toEqual(ran);
    expect(await latestEngine(t.orm.em.fork())).toEqual(ran);

    // Analysis: the typed columns, features and the overview picture.
    const result = (await t.orm.em.fork().execute<Record<string, unknown>[]>(`select * from analysis_results where analysis_job_id = ?`, [a.analysisJobId]))[0]!;
    expect(result.track_id).toBe(a.trackId);
    expect(typeof result.energy).toBe('number');
    expect(typeof result.spectral_centroid).toBe('number');
    const features = result.features as Record<string, unknown>;
    expect(features.overview_png).toBe(path.join(t.dataDir, 'analysis', a.analysisJobId, 'overview.png'));
    expect(existsSync(features.overview_png as string)).toBe(true);

    // One engine run per stage; no temporary files left behind.
    expect(t.engine.count('separate')).toBe(1);
    expect(t.engine.count('analyze')).toBe(1);
    expect(readdirSync(path.join(t.dataDir, 'tmp'))).toEqual([]);

    // Live progress: every job announced, in order, ending completed at 100.
    for (const id of [a.downloadJobId, a.processingJobId, a.analysisJobId]) {
      const events = eventsFor(id);
      expect(events.length).toBeGreaterThanOrEqual(3);
      expectMonotonic(events);
      expect(events.at(-1)).toMatchObject({ status: 'completed', progress: 100, trackId: a.trackId });
    }
    expect(eventsFor(a.processingJobId).some((e) => e.status === 'processing' && e.progress > 0 && e.progress < 100)).toBe(true);
    // ... announced once to the followers (the CLI), and gone from the row once it separated.
    const notes = eventsFor(a.processingJobId).filter((e) => e.note);
    expect(notes.map((e) => e.note)).toEqual(['preparing model for this CPU']);
    expect((await t.orm.em.fork().execute<{ stage_note: string | null }[]>(`select stage_note from processing_jobs where id = ?`, [a.processingJobId]))[0]!.stage_note).toBeNull();
    await expectNoLiveJobs(t, [a.downloadJobId, a.processingJobId, a.analysisJobId]);
  }, 180_000);

  it('serves a second identical request from storage: no new rows, no engine work', async () => {
    const engineCalls = t.engine.calls.length;
    const again = await requestSeparation(t.pipeline, { input: tone, model: 'htdemucs', format: 'wav' });
    expect(again).toEqual({ ...first, reused: { download: true, processing: true, analysis: true } });
    const rows = await waitForTicket(t.orm, again, 5_000);
    expect([rows.download.status, rows.processing.status, rows.analysis.status]).toEqual(['completed', 'completed', 'completed']);
    for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
      expect(await count(table, 'track_id = ?', [first.trackId])).toBe(1);
    }
    await new Promise((r) => setTimeout(r, 1500)); // give a stray job time to show up
    expect(t.engine.calls.length).toBe(engineCalls);
  });

  it('recomputes stems whose file vanished, reusing the download and the analysis', async () => {
    const stem = (await t.orm.em.fork().execute<{ file_path: string }[]>(
      `select file_path from stems where processing_job_id = ? and stem_type = 'vocals'`,
      [first.processingJobId],
    ))[0]!;
    unlinkSync(stem.file_path);
    const separations = t.engine.count('separate');
    const analyses = t.engine.count('analyze');

    const again = await requestSeparation(t.pipeline, { input: tone, model: 'htdemucs', format: 'wav' });
    expect(again.reused).toEqual({ download: true, processing: false, analysis: true });
    expect(again.downloadJobId).toBe(first.downloadJobId);
    expect(again.analysisJobId).toBe(first.analysisJobId);
    expect(again.processingJobId).not.toBe(first.processingJobId);

    const rows = await waitForTicket(t.orm, again);
    expect(rows.processing).toMatchObject({ status: 'completed', error: null });
    const stems = await t.orm.em.fork().execute<{ file_path: string }[]>(`select file_path from stems where processing_job_id = ?`, [again.processingJobId]);
    expect(stems).toHaveLength(4);
    for (const s of stems) expect(existsSync(s.file_path)).toBe(true);
    expect(t.engine.count('separate')).toBe(separations + 1);
    expect(t.engine.count('analyze')).toBe(analyses);
    // The old row is history: still completed, not trusted any more.
    expect((await jobRow(t.orm, 'processing_jobs', first.processingJobId)).status).toBe('completed');
  }, 120_000);

  it('does not fetch a vanished download again while stems and analysis are intact, but does when audio is needed', async () => {
    const download = await jobRow(t.orm, 'download_jobs', first.downloadJobId);
    unlinkSync(download.output_path!);
    const again = await requestSeparation(t.pipeline, { input: tone, model: 'htdemucs', format: 'wav' });
    expect(again.reused).toEqual({ download: true, processing: true, analysis: true });
    expect(await count('download_jobs', 'track_id = ?', [first.trackId])).toBe(1);

    const flac = await requestSeparation(t.pipeline, { input: tone, model: 'htdemucs', format: 'flac' });
    expect(flac.reused).toEqual({ download: false, processing: false, analysis: true });
    expect(flac.downloadJobId).not.toBe(first.downloadJobId);
    const rows = await waitForTicket(t.orm, flac);
    expect(rows.download).toMatchObject({ status: 'completed', output_path: download.output_path });
    expect(rows.processing).toMatchObject({ status: 'completed', error: null });
    expect(await count('stems', `processing_job_id = ? and file_path like '%.flac'`, [flac.processingJobId])).toBe(4);
  }, 90_000);
});

describe('bad inputs end in failed rows with a clear reason', () => {
  async function expectAllFailed(ticket: SeparationTicket, downloadReason: RegExp) {
    const rows = await waitForTicket(t.orm, ticket);
    expect(rows.download.status).toBe('failed');
    expect(rows.download.error).toMatch(downloadReason);
    for (const row of [rows.processing, rows.analysis]) {
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/^The download failed: /);
    }
    await expectNoLiveJobs(t, [ticket.downloadJobId, ticket.processingJobId, ticket.analysisJobId]);
    expect(await count('download_jobs', `track_id = ? and status in ('queued', 'downloading', 'processing')`, [ticket.trackId])).toBe(0);
    return rows;
  }

  it('a missing file', async () => {
    const missing = path.join(audioDir, 'no-such-file.wav');
    const ticket = await requestSeparation(t.pipeline, { input: missing });
    await expectAllFailed(ticket, /no-such-file\.wav does not exist/);
  }, 60_000);

  it('a file that is not audio', async () => {
    const text = path.join(audioDir, 'notes.mp3');
    writeFileSync(text, 'these are not the droids\n'.repeat(200));
    const ticket = await requestSeparation(t.pipeline, { input: text });
    const rows = await expectAllFailed(ticket, /not audio we can read/);
    expect(rows.download.error).not.toMatch(/internal error/i);
  }, 60_000);

  it('a track longer than the limit (10 s here)', async () => {
    const long = await toneWav(path.join(audioDir, 'long.wav'), 12);
    const ticket = await requestSeparation(t.pipeline, { input: long });
    await expectAllFailed(ticket, /is 0:12 long; the limit is 0:10/);
  }, 60_000);

  it('a model that is not in the catalog is refused before anything is written', async () => {
    const other = await toneWav(path.join(audioDir, 'other.wav'), 2, 330);
    await expect(requestSeparation(t.pipeline, { input: other, model: 'htdemucs_xl' })).rejects.toBeInstanceOf(UnknownModelError);
    expect(await count('tracks', `source_url like ?`, ['%/other.wav%'])).toBe(0);
  });

  it('a catalog model whose files are not installed fails the separation only', async () => {
    const ticket = await requestSeparation(t.pipeline, { input: tone, model: 'htdemucs_6s' });
    expect(ticket.reused).toEqual({ download: true, processing: false, analysis: true });
    const rows = await waitForTicket(t.orm, ticket);
    expect(rows.processing.status).toBe('failed');
    expect(rows.processing.error).toMatch(/model is not installed/);
    expect(rows.download.status).toBe('completed');
    expect(await count('stems', 'processing_job_id = ?', [ticket.processingJobId])).toBe(0);
    await expectNoLiveJobs(t, [ticket.processingJobId]);
  }, 60_000);
});


describe('pg-boss redelivery meets the row guard', () => {
  async function bossJobDone(queue: string, id: string) {
    return until(`pg-boss job ${id}`, async () => {
      const [job] = await t.boss.findJobs(queue, { id });
      return job && job.state === 'completed' ? job : undefined;
    });
  }

  it('a retry of a job whose row is completed is a no-op', async () => {
    const before = await jobRow(t.orm, 'download_jobs', first.downloadJobId);
    const calls = t.engine.calls.length;
    const downloads = await count('download_jobs', 'track_id = ?', [first.trackId]);
    const bossId = await sendDownload(t.boss, t.orm.em.fork(), first.downloadJobId);
    expect(bossId).toBeTruthy();
    await bossJobDone('download', bossId!);
    expect(await jobRow(t.orm, 'download_jobs', first.downloadJobId)).toEqual(before);
    expect(await count('download_jobs', 'track_id = ?', [first.trackId])).toBe(downloads);
    expect(t.engine.calls.length).toBe(calls);
  });

  it('a retry that finds its row still running fails it as "worker lost" and runs a new row', async () => {
    const em = t.orm.em.fork();
    const lost = (await em.execute<{ id: string }[]>(
      `insert into analysis_jobs (track_id, status, progress) values (?, 'processing', 40) returning id`,
      [first.trackId],
    ))[0]!.id;
    const requestId = await insertRequest(em, first.trackId, { kind: 'analyze', analysis_job_id: lost });
    const analyses = t.engine.count('analyze');

    await sendAnalyze(t.boss, em, lost, 600);
    const replacement = await until('replacement row', async () => {
      const rows = await t.orm.em.fork().execute<{ id: string; status: string }[]>(
        `select id, status from analysis_jobs where track_id = ? and id <> ? and inserted_at > (select inserted_at from analysis_jobs where id = ?)`,
        [first.trackId, lost, lost],
      );
      return rows.find((r) => r.status === 'completed');
    });
    const old = await jobRow(t.orm, 'analysis_jobs', lost);
    expect(old.status).toBe('failed');
    expect(old.error).toContain(WORKER_LOST);
    expect(await count('analysis_results', 'analysis_job_id = ?', [replacement.id])).toBe(1);
    const request = (await t.orm.em.fork().execute<{ analysis_job_id: string }[]>(`select analysis_job_id from requests where id = ?`, [requestId]))[0]!;
    expect(request.analysis_job_id).toBe(replacement.id);
    expect(t.engine.count('analyze')).toBe(analyses + 1);
  }, 60_000);

  it('an attempt that outlives its expiry is aborted, recorded as lost and retried as a new row', async () => {
    const em = t.orm.em.fork();
    const stuck = (await em.execute<{ id: string }[]>(
      `insert into processing_jobs (track_id, model, options) values (?, 'htdemucs', '{"format":"mp3"}') returning id`,
      [first.trackId],
    ))[0]!.id;
    t.engine.hangNext = 'separate';
    await sendSeparate(t.boss, em, stuck, 1);
    const replacement = await until('replacement of the expired row', async () => {
      const rows = await t.orm.em.fork().execute<{ id: string; status: string; options: { format: string } }[]>(
        `select id, status, options from processing_jobs where track_id = ? and id <> ? and options->>'format' = 'mp3'`,
        [first.trackId, stuck],
      );
      return rows.find((r) => r.status === 'completed');
    });
    const old = await jobRow(t.orm, 'processing_jobs', stuck);
    expect(old.status).toBe('failed');
    expect(old.error).toContain(WORKER_TIMED_OUT);
    expect(replacement.options.format).toBe('mp3');
    const stems = await t.orm.em.fork().execute<{ file_path: string }[]>(`select file_path from stems where processing_job_id = ?`, [replacement.id]);
    expect(stems).toHaveLength(4);
    for (const s of stems) expect(s.file_path).toMatch(/\.mp3$/);
    expect(await count('stems', 'processing_job_id = ?', [stuck])).toBe(0);
  }, 60_000);

  it('gives up after repeated lost attempts instead of looping', async () => {
    const em = t.orm.em.fork();
    const lost = (await em.execute<{ id: string }[]>(
      `insert into processing_jobs (track_id, model, status, options) values (?, 'htdemucs', 'processing', '{"format":"flac"}') returning id`,
      [first.trackId],
    ))[0]!.id;
    const before = await count('processing_jobs', 'track_id = ?', [first.trackId]);
    const bossId = await t.boss.send('separate', { processingJobId: lost, lostAttempts: 2 }, { singletonKey: lost });
    await bossJobDone('separate', bossId!);
    const row = await jobRow(t.orm, 'processing_jobs', lost);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/Gave up after 3 attempts/);
    expect(await count('processing_jobs', 'track_id = ?', [first.trackId])).toBe(before);
  });
});

describe('sfa status', () => {
  async function status(args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await statusCommand(args, {
      env: { DATABASE_URL: testDatabaseUrl(), SFA_DATA_DIR: t.dataDir },
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
    });
    return { code, stdout, stderr };
  }

  it('prints the track and each job, as text and as JSON', async () => {
    const text = await status([first.trackId]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('tone (0:03)');
    expect(text.stdout).toContain(`download   ${first.downloadJobId}  completed`);
    expect(text.stdout).toMatch(new RegExp(`separate\\s+${first.processingJobId}  completed  \\[htdemucs, wav\\]`));
    expect(text.stdout).toMatch(/separate\s+\S+  failed: The model is not installed/);
    expect(text.stdout).toMatch(/analyze\s+\S+  failed: The worker running this job stopped/);

    const json = await status(['--json', first.trackId]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.track).toMatchObject({ id: first.trackId, title: 'tone', duration: 3 });
    const sep = parsed.separations.find((p: { id: string }) => p.id === first.processingJobId);
    expect(sep).toMatchObject({ status: 'completed', progress: 100, model: 'htdemucs', format: 'wav' });
    expect(parsed.analyses.some((a: { result: unknown }) => a.result !== null)).toBe(true);
    expect(parsed.overall.state).toMatch(/completed|failed/);
  });

  it('says so for an unknown track and refuses other input', async () => {
    const missing = await status([`https://open.spotify.com/track/${uniqueSpotifyId()}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such track');
    const bad = await status(['not-a-track']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Expected a track id');
  });
});

describe('a Spotify track (fake Spotify API, audio from the library)', () => {
  it('fills the Track from Spotify metadata and keeps one track per spotify_id', async () => {
    const spotifyId = uniqueSpotifyId();
    const api = await startFakeHttp((req, res) => {
      if (req.method === 'POST' && req.path === '/api/token') return sendJson(res, 200, { access_token: 'tok', expires_in: 3600 });
      if (req.path === `/v1/tracks/${spotifyId}`) {
        return sendJson(res, 200, {
          id: spotifyId,
          name: 'Fake Song',
          duration_ms: 3000,
          artists: [{ name: 'Fake Artist' }, { name: 'Guest' }],
          album: { name: 'Fake Album', images: [{ url: 'https://i.scdn.co/image/abc', width: 640 }] },
          external_ids: { isrc: 'usabc1234567' },
        });
      }
      return sendJson(res, 404, { error: 'not found' });
    });
    const config = parseConfig({
      SPOTIFY_CLIENT_ID: 'client',
      SPOTIFY_CLIENT_SECRET: 'secret',
      SPOTIFY_API_BASE: `${api.baseUrl}/v1`,
      SPOTIFY_ACCOUNTS_BASE: api.baseUrl,
    });
    if (!config.ok) throw new Error(config.problems.join('; '));
    const song = await toneWav(path.join(audioDir, 'library-song.wav'), 3, 440);
    const { library, youtube } = t.ctx.sources;
    t.ctx.spotifyMetadata = spotifyMetadataFor(config.config);
    t.ctx.sources.library = async (track) => (track.isrc === 'USABC1234567' ? { path: song } : null);
    t.ctx.sources.youtube = undefined; // no network in tests
    try {
      const ticket = await requestSeparation(t.pipeline, { input: `https://open.spotify.com/track/${spotifyId}?si=abc` });
      const rows = await waitForTicket(t.orm, ticket);
      expect([rows.download.status, rows.processing.status, rows.analysis.status]).toEqual(['completed', 'completed', 'completed']);
      const track = (await t.orm.em.fork().execute<Record<string, unknown>[]>(`select * from tracks where id = ?`, [ticket.trackId]))[0]!;
      expect(track).toMatchObject({
        spotify_id: spotifyId,
        spotify_url: `https://open.spotify.com/track/${spotifyId}`,
        title: 'Fake Song',
        artist: 'Fake Artist, Guest',
        album: 'Fake Album',
        album_art_url: 'https://i.scdn.co/image/abc',
        duration: 3,
        isrc: 'USABC1234567',
      });
      const again = await requestSeparation(t.pipeline, { input: `spotify:track:${spotifyId}` });
      expect(again).toEqual({ ...ticket, reused: { download: true, processing: true, analysis: true } });
      expect(await count('tracks', 'spotify_id = ?', [spotifyId])).toBe(1);
    } finally {
      Object.assign(t.ctx.sources, { library, youtube });
      delete t.ctx.spotifyMetadata;
      await api.close();
    }
  }, 60_000);
});

describe('restart safety', () => {
  it('a request made while no worker runs is finished by workers started afterwards', async () => {
    await t.stopWorkers();
    // Another process (the bot) makes the request with its own pg-boss instance and goes away.
    const producer = await createBoss(testDatabaseUrl(), { schema: t.bossSchema, supervise: false, maxConnections: 2 });
    const song = await toneWav(path.join(audioDir, 'restart.wav'), 2, 550);
    let ticket: SeparationTicket;
    try {
      ticket = await requestSeparation({ ...t.pipeline, boss: producer }, { input: song });
    } finally {
      await producer.stop({ graceful: true });
    }
    expect((await jobRow(t.orm, 'download_jobs', ticket.downloadJobId)).status).toBe('queued');
    expect(await liveBossJobs(t, [ticket.downloadJobId])).toBe(1);
    // Processing and analysis wait in the database, not in anybody's memory.
    expect(await liveBossJobs(t, [ticket.processingJobId, ticket.analysisJobId])).toBe(0);

    await t.startWorkers();
    const rows = await waitForTicket(t.orm, ticket);
    expect([rows.download.status, rows.processing.status, rows.analysis.status]).toEqual(['completed', 'completed', 'completed']);
  }, 90_000);
});
