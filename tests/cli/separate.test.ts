/**
 * `sfa separate` / `sfa analyze` / `sfa status` as a user runs them (node
 * bin/sfa.js), on the pipeline: a database of this file's own, real pg-boss,
 * workers in the CLI process with the real Python engine and a tiny random
 * htdemucs, ffmpeg-generated audio. Tests run in order and build on each other
 * (the second run of a request is served by the first one's results).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerProcess } from '../../src/jobs/workers/runtime.ts';
import { parseConfig } from '../../src/config.ts';
import { until } from '../support/wait.ts';
import { makeTinyModels, memoryLogger, tempDir, toneWav } from '../pipeline/helpers.ts';
import { cliEnv, count, createCliDatabase, decodeF32, processesUsing, sfa, startSfa, type CliDatabase } from './helpers.ts';

let db: CliDatabase;
let modelDir: string;
let work: string;
let dataDir: string;
let env: Record<string, string>;
let tone: string;

const STEMS = ['drums', 'bass', 'other', 'vocals'];

beforeAll(async () => {
  [db, modelDir] = await Promise.all([createCliDatabase(), makeTinyModels(['htdemucs'])]);
  work = tempDir('cli');
  dataDir = path.join(work, 'data');
  tone = await toneWav(path.join(work, 'tone.wav'), 4);
  env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: dataDir, SFA_MODEL_DIR: modelDir });
}, 180_000);

afterAll(async () => {
  await db?.close();
  for (const dir of [work, modelDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function trackOf(file: string): Promise<string | undefined> {
  const rows = await db.orm.em.fork().execute<{ id: string }[]>(`select id from tracks where source_url like ?`, [`file://${file}#%`]);
  return rows[0]?.id;
}

async function jobRows(trackId: string) {
  const em = db.orm.em.fork();
  const q = (table: string) =>
    em.execute<{ id: string; status: string; error: string | null; updated_at: Date }[]>(
      `select id, status, error, updated_at from ${table} where track_id = ? order by inserted_at, id`,
      [trackId],
    );
  return { download: await q('download_jobs'), processing: await q('processing_jobs'), analysis: await q('analysis_jobs') };
}

describe('sfa separate: usage errors are refused before anything is written', () => {
  // TONE stands for the generated file (the cases are listed before beforeAll runs).
  it.each([
    [['separate', 'TONE', '--model', 'nosuchmodel'], /Unknown model "nosuchmodel"/],
    [['separate', 'TONE', '--format', 'ogg'], /--format must be one of wav, flac, mp3/],
    [['separate', 'TONE', '--fast'], /Unknown option '--fast'/],
    [['separate'], /missing <file\|url>/],
    [['separate', 'https://open.spotify.com/album/1A2GTWGtFfWp7KSQTwWOyo'], /album/i],
  ])('%j exits 2', async (args, message) => {
    const r = await sfa(args.map((a) => (a === 'TONE' ? tone : a)), { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('--out naming an existing file exits 2, and none of the above wrote a row or created the queues', async () => {
    const r = await sfa(['separate', tone, '--out', tone], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists and is not a directory/);
    expect(await count(db.orm, 'select 1 from tracks')).toBe(0);
    const boss = await db.orm.em.fork().execute<{ t: string | null }[]>(`select to_regclass('pgboss.job')::text as t`);
    expect(boss[0]!.t).toBeNull(); // pg-boss was never even started
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});

describe('sfa separate through the pipeline', () => {
  let trackId: string;
  const out = () => path.join(work, 'out');

  it('downloads, separates and analyses; stems in --out decode and sum to the input; plain progress lines', async () => {
    const r = await sfa(['separate', tone, '--out', out()], { env });
    expect(r.code, r.stderr).toBe(0);
    trackId = (await trackOf(tone))!;
    expect(trackId).toBeDefined();

    // Not a TTY: one line per stage change and per 10 %, no escape sequences.
    const lines = r.stderr.trim().split('\n');
    expect(r.stderr).not.toContain('\x1b[');
    for (const stage of ['download', 'separate', 'analyze']) {
      expect(lines).toContain(`${stage}: queued`);
      expect(lines).toContain(`${stage}: completed`);
      expect(lines.indexOf(`${stage}: queued`)).toBeLessThan(lines.indexOf(`${stage}: completed`));
    }
    expect(lines.some((l) => /^separate: processing \d+%$/.test(l))).toBe(true);

    expect(r.stdout).toMatch(/4 stems \(htdemucs, wav, openvino (f32|bf16) on cpu\) in /); // the backend that ran it
    expect(r.stdout).toContain(` in ${out()}\n`);
    expect(readdirSync(out()).sort()).toEqual(STEMS.map((s) => `${s}.wav`).sort());
    const mix = await decodeF32(tone);
    const stems = await Promise.all(STEMS.map((s) => decodeF32(path.join(out(), `${s}.wav`))));
    let worst = 0;
    for (const stem of stems) expect(stem.length).toBe(mix.length);
    for (let i = 0; i < mix.length; i++) {
      const sum = stems[0]![i]! + stems[1]![i]! + stems[2]![i]! + stems[3]![i]!;
      worst = Math.max(worst, Math.abs(sum - mix[i]!));
    }
    expect(worst).toBeLessThan(5 / 32768); // four 16-bit roundings

    const rows = await jobRows(trackId);
    expect(rows.download.map((x) => x.status)).toEqual(['completed']);
    expect(rows.processing.map((x) => x.status)).toEqual(['completed']);
    expect(rows.analysis.map((x) => x.status)).toEqual(['completed']);
    expect(readdirSync(path.join(dataDir, 'tmp'))).toEqual([]); // no work folder outlives its job
  }, 240_000);

  it('a repeated request is served from storage: --json only, no new rows, no engine work', async () => {
    const before = await jobRows(trackId);
    const stemFile = (await db.orm.em.fork().execute<{ file_path: string }[]>(`select file_path from stems where track_id = ? limit 1`, [trackId]))[0]!.file_path;
    const stemMtime = statSync(stemFile).mtimeMs;
    const cwd = path.join(work, 'cwd');
    mkdirSync(cwd);
    // No Python at all: had any engine work been needed, the job would have failed.
    const r = await sfa(['separate', tone, '--json'], { env: { ...env, SFA_PYTHON: path.join(work, 'no-python'), PUBLIC_BASE_URL: 'https://stems.example.org/sfa' }, cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // --json into a pipe: no progress
    const result = JSON.parse(r.stdout) as Record<string, unknown> & { stems: { name: string; path: string; bytes: number }[] };
    const outDir = path.join(cwd, `tone-${trackId.slice(0, 8)}-htdemucs`);
    expect(result).toMatchObject({
      trackId,
      title: 'tone',
      model: 'htdemucs',
      format: 'wav',
      outDir,
      fromStorage: { download: true, separation: true, analysis: true },
      engine: { backend: 'openvino', precision: expect.stringMatching(/^(f32|bf16)$/), device: 'cpu' }, // what ran the separation
      jobs: { download: before.download[0]!.id, processing: before.processing[0]!.id, analysis: before.analysis[0]!.id },
    });
    expect(Object.keys(result.analysis as object).sort()).toEqual(
      ['energy', 'key', 'spectral_centroid', 'spectral_rolloff', 'tempo', 'zero_crossing_rate'].sort(),
    );
    expect(result.stems.map((s) => s.name)).toEqual(STEMS);
    for (const s of result.stems) expect(statSync(s.path).size).toBe(s.bytes);
    // With a public file server, the stem player's link for these stems.
    expect(result.playerUrl).toMatch(new RegExp(`^https://stems\\.example\\.org/sfa/player/${before.processing[0]!.id}\\?exp=\\d+&sig=[0-9a-f]{64}$`));
    expect(await jobRows(trackId)).toEqual(before); // same rows, untouched
    expect(statSync(stemFile).mtimeMs).toBe(stemMtime);
  }, 120_000);

  it('sfa status shows the track and its finished jobs', async () => {
    const r = await sfa(['status', trackId, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as { overall: { state: string }; separations: { stems: unknown[] }[] };
    expect(status.overall.state).toBe('completed');
    expect(status.separations[0]!.stems).toHaveLength(4);
  }, 60_000);

  it('a missing file exits 1 with the reason from the failed rows', async () => {
    const missing = path.join(work, 'nope.wav');
    const r = await sfa(['separate', missing, '--json'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`download failed: The file ${missing} does not exist`);
    expect(r.stderr).toMatch(/separate failed: The download failed: /);
    const rows = await db.orm.em.fork().execute<{ status: string }[]>(
      `select d.status from download_jobs d join tracks t on t.id = d.track_id where t.source_url = ?`,
      [`file://${missing}`],
    );
    expect(rows.map((x) => x.status)).toEqual(['failed']);
  }, 120_000);

  it('a file that is not audio exits 1 saying so', async () => {
    const bogus = path.join(work, 'bogus.wav');
    writeFileSync(bogus, 'not audio at all');
    const r = await sfa(['separate', bogus], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/download failed: That file is not audio we can read/);
  }, 120_000);
});

describe('sfa analyze through the pipeline', () => {
  it('creates a download and an analysis row but no separation; --json has the AnalysisResult columns', async () => {
    const other = await toneWav(path.join(work, 'other.wav'), 3, 330);
    const png = path.join(work, 'other.png');
    const r = await sfa(['analyze', other, '--json', '--png', png], { env });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!) as Record<string, unknown> & { features: Record<string, unknown> };
    expect(Object.keys(result).sort()).toEqual(['energy', 'features', 'key', 'spectral_centroid', 'spectral_rolloff', 'tempo', 'zero_crossing_rate']);
    expect(result.features.overview_png).toBe(png);
    expect(statSync(png).size).toBeGreaterThan(0);
    const trackId = (await trackOf(other))!;
    const rows = await jobRows(trackId);
    expect(rows.download.map((x) => x.status)).toEqual(['completed']);
    expect(rows.analysis.map((x) => x.status)).toEqual(['completed']);
    expect(rows.processing).toEqual([]);
  }, 180_000);
});

describe('sfa separate --no-worker', () => {
  it('only queues and follows: a separate worker process does the work', async () => {
    const parsed = parseConfig({ DATABASE_URL: db.url, SFA_DATA_DIR: dataDir, SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu' });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const worker = await startWorkerProcess(parsed.config, db.url, { pollingIntervalSeconds: 0.5, boss: { supervise: false, maxConnections: 3 }, log: memoryLogger() });
    try {
      const input = await toneWav(path.join(work, 'queued.wav'), 3, 440);
      const r = await sfa(['separate', input, '--no-worker', '--format', 'flac', '--out', path.join(work, 'queued-out')], {
        env: { ...env, SFA_PYTHON: path.join(work, 'no-python') }, // this CLI process never starts an engine
      });
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(path.join(work, 'queued-out')).sort()).toEqual(STEMS.map((s) => `${s}.flac`).sort());
    } finally {
      await worker.stop();
    }
  }, 240_000);
});

describe('Ctrl-C', () => {
  it('SIGINT during a separation stops the engine and the workers, exits 130, leaves nothing running', async () => {
    const longDir = path.join(work, 'long');
    mkdirSync(longDir);
    const input = await toneWav(path.join(longDir, 'long.wav'), 240, 110);
    const ownData = path.join(work, 'sigint-data');
    const child = startSfa(['separate', input, '--out', path.join(longDir, 'out')], { env: { ...env, SFA_DATA_DIR: ownData, SFA_VERBOSE: '1' } });
    const separating = await until(
      'the separation to run',
      async () => {
        const rows = await db.orm.em.fork().execute<{ id: string; status: string; progress: number }[]>(
          `select p.id, p.status, p.progress from processing_jobs p join tracks t on t.id = p.track_id where t.source_url like ?`,
          [`file://${input}#%`],
        );
        return rows[0]?.status === 'processing' && rows[0].progress > 0 ? rows[0] : undefined;
      },
      180_000,
    );
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toMatch(/interrupted/);
    expect(existsSync(path.join(longDir, 'out'))).toBe(false);

    expect(processesUsing(ownData)).toEqual([]); // the CLI and its engine are gone
    // Cancelled (src/jobs/pipeline/cancel.ts), not left "processing" for a worker that is gone.
    const row = (await db.orm.em.fork().execute<{ status: string; error: string }[]>(`select status, error from processing_jobs where id = ?`, [separating.id]))[0]!;
    expect(row).toEqual({ status: 'failed', error: 'cancelled: interrupted from the command line (Ctrl-C)' });
    const trackId = (await trackOf(input))!;
    const active = await count(
      db.orm,
      `select id from download_jobs where track_id = ? and status in ('downloading', 'processing')
       union all select id from processing_jobs where track_id = ? and status in ('downloading', 'processing')
       union all select id from analysis_jobs where track_id = ? and status in ('downloading', 'processing')`,
      [trackId, trackId, trackId],
    );
    expect(active).toBe(0);
    expect(await count(db.orm, `select 1 from pgboss.job where state = 'active' and singleton_key = ?`, [separating.id])).toBe(0);
    expect(readdirSync(path.join(ownData, 'tmp')), String(r.stderr)).toEqual([]);
  }, 300_000);
});
