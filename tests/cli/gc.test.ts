/**
 * `sfa gc` as a user runs it, on storage the pipeline filled (`sfa separate`,
 * `sfa analyze`) plus a track with queued work, a chat request waiting for a
 * result, a stale temporary work folder and an unreferenced file. File ages
 * are set with utimes; --grace 0 lets files this young be considered at all.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcReport } from '../../src/jobs/storage/gc.ts';
import { insertRequest } from '../support/db.ts';
import { makeTinyModels, tempDir, toneWav } from '../pipeline/helpers.ts';
import { cliEnv, count, createCliDatabase, sfa, type CliDatabase } from './helpers.ts';

let db: CliDatabase;
let modelDir: string;
let work: string;
let dataDir: string;
let env: Record<string, string>;
let a: string;
const DAY = 86_400_000;

/** Sets the modification time of `p` and everything inside it to `days` ago. */
function age(p: string, days: number): void {
  const when = new Date(Date.now() - days * DAY);
  if (statSync(p).isDirectory()) for (const name of readdirSync(p)) age(path.join(p, name), days);
  utimesSync(p, when, when);
}

/** Bytes of the files in `p` (recursively), as gc counts them. */
function bytes(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, name) => n + bytes(path.join(p, name)), 0);
}

async function one<T>(sql: string, params: unknown[] = []): Promise<T> {
  const rows = await db.orm.em.fork().execute<T[]>(sql, params);
  return rows[0]!;
}

async function gc(args: string[]): Promise<{ code: number | undefined; report: GcReport; stderr: string }> {
  const r = await sfa(['gc', '--json', ...args], { env });
  return { code: r.code, report: JSON.parse(r.stdout) as GcReport, stderr: r.stderr };
}

// What the set-up made, by name.
const p = {} as Record<'downloadA' | 'stemsA' | 'overviewA' | 'downloadB' | 'overviewB' | 'downloadC' | 'tmp' | 'orphan', string>;
let processingA: string;
let trackA: string;
let runningC: string;

/**
 * C's worker is alive: its heartbeat is fresh. (The CLI runs a reaper, which would take a row
 * with a heartbeat older than SFA_STALE_AFTER_SECONDS for lost.)
 */
async function heartbeatC(): Promise<void> {
  await db.orm.em.fork().execute(`update processing_jobs set updated_at = now() where id = ?`, [runningC]);
}

/** A pipeline command (`sfa separate`/`analyze`) while C keeps running elsewhere. */
async function pipelineRun(args: string[]) {
  await heartbeatC();
  return sfa(args, { env });
}

beforeAll(async () => {
  [db, modelDir] = await Promise.all([createCliDatabase(), makeTinyModels(['htdemucs'])]);
  work = tempDir('gc');
  dataDir = path.join(work, 'data');
  env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: dataDir, SFA_MODEL_DIR: modelDir });
  a = await toneWav(path.join(work, 'a.wav'), 3);
  const b = await toneWav(path.join(work, 'b.wav'), 3, 330);
  const first = await sfa(['separate', a, '--out', path.join(work, 'out-a')], { env });
  if (first.code !== 0) throw new Error(first.stderr);
  const second = await sfa(['analyze', b], { env });
  if (second.code !== 0) throw new Error(second.stderr);

  trackA = (await one<{ id: string }>(`select id from tracks where source_url like ?`, [`file://${a}#%`])).id;
  const trackB = await one<{ id: string }>(`select id from tracks where source_url like ?`, [`file://${b}#%`]);
  p.downloadA = (await one<{ output_path: string }>(`select output_path from download_jobs where track_id = ?`, [trackA])).output_path;
  const procA = await one<{ id: string; output_path: string }>(`select id, output_path from processing_jobs where track_id = ?`, [trackA]);
  processingA = procA.id;
  p.stemsA = procA.output_path;
  const analysisA = await one<{ id: string }>(`select id from analysis_jobs where track_id = ?`, [trackA]);
  p.overviewA = path.join(dataDir, 'analysis', analysisA.id);
  p.downloadB = (await one<{ output_path: string }>(`select output_path from download_jobs where track_id = ?`, [trackB.id])).output_path;
  const analysisB = await one<{ id: string }>(`select id from analysis_jobs where track_id = ?`, [trackB.id]);
  p.overviewB = path.join(dataDir, 'analysis', analysisB.id);

  // Track C: downloaded, with a separation running in some other worker process -> its files are in use.
  const em = db.orm.em.fork();
  const trackC = (await em.execute<{ id: string }[]>(`insert into tracks (title, source_url) values ('c', 'file:///c.wav') returning id`))[0]!.id;
  p.downloadC = path.join(dataDir, 'downloads', trackC, 'source.wav');
  mkdirSync(path.dirname(p.downloadC), { recursive: true });
  cpSync(a, p.downloadC);
  await em.execute(`insert into download_jobs (track_id, status, progress, output_path, file_size) values (?, 'completed', 100, ?, ?)`, [
    trackC,
    p.downloadC,
    statSync(p.downloadC).size,
  ]);
  runningC = (
    await em.execute<{ id: string }[]>(
      `insert into processing_jobs (track_id, model, options, status) values (?, 'htdemucs', '{"format":"wav"}', 'processing') returning id`,
      [trackC],
    )
  )[0]!.id;
  // A chat request still waiting to deliver B's analysis.
  await insertRequest(em, trackB.id, { kind: 'analyze', analysis_job_id: analysisB.id });

  p.tmp = path.join(dataDir, 'tmp', 'separate-crashed');
  mkdirSync(p.tmp, { recursive: true });
  writeFileSync(path.join(p.tmp, 'partial.wav'), Buffer.alloc(100_000));
  p.orphan = path.join(dataDir, 'stems', trackA, randomUUID());
  mkdirSync(p.orphan, { recursive: true });
  writeFileSync(path.join(p.orphan, 'drums.wav'), Buffer.alloc(50_000));

  age(p.downloadC, 30);
  age(p.stemsA, 20);
  age(p.downloadA, 15);
  age(p.overviewA, 12);
  age(p.orphan, 10);
  age(p.downloadB, 5);
  age(p.overviewB, 3);
  age(p.tmp, 2);
}, 300_000);

afterAll(async () => {
  await db?.close();
  for (const dir of [work, modelDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sfa gc', () => {
  it('refuses bad sizes and ages (exit 2)', async () => {
    for (const args of [['--max-bytes', '20X'], ['--max-age', '-1'], ['--grace', 'soon'], ['--everything']]) {
      const r = await sfa(['gc', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
    }
  }, 60_000);

  it('--dry-run lists stale tmp and files past --max-age, keeps files in use, removes nothing', async () => {
    const before = readdirSync(dataDir, { recursive: true }).sort();
    const { code, report } = await gc(['--max-age', '7', '--grace', '0', '--dry-run']);
    expect(code).toBe(0);
    expect(report.dryRun).toBe(true);
    const listed = Object.fromEntries(report.removed.map((r) => [r.path, `${r.kind}/${r.reason}`]));
    expect(listed).toEqual({
      [p.tmp]: 'tmp/stale-tmp',
      [p.stemsA]: 'stems/max-age',
      [p.downloadA]: 'download/max-age',
      [p.overviewA]: 'overview/max-age',
      [p.orphan]: 'orphan/max-age',
    });
    // downloadC: work running on its track; overviewB: a request waits for it; downloadB: only 5 days old.
    expect(report.kept.inUse).toBe(2);
    expect(readdirSync(dataDir, { recursive: true }).sort()).toEqual(before);
  }, 60_000);

  it('frees space down to --max-bytes: stale tmp, then unreferenced files, then the oldest; marks the removed rows', async () => {
    const total = [p.downloadA, p.stemsA, p.overviewA, p.downloadB, p.overviewB, p.downloadC, p.tmp, p.orphan].reduce((n, f) => n + bytes(f), 0);
    const budget = total - bytes(p.tmp) - bytes(p.orphan) - bytes(p.stemsA);
    const { code, report } = await gc(['--max-bytes', String(budget), '--grace', '0']);
    expect(code).toBe(0);
    expect(report.bytesBefore).toBe(total);
    expect(Object.fromEntries(report.removed.map((r) => [r.path, r.reason]))).toEqual({
      [p.tmp]: 'stale-tmp',
      [p.orphan]: 'over-budget', // unreferenced first, although younger
      [p.stemsA]: 'over-budget', // then the oldest not in use (downloadC is older, but in use)
    });
    expect(report.bytesAfter).toBe(budget);
    expect(report.underBudget).toBe(true);
    for (const gone of [p.tmp, p.orphan, p.stemsA]) expect(existsSync(gone)).toBe(false);
    for (const kept of [p.downloadA, p.overviewA, p.downloadB, p.overviewB, p.downloadC]) expect(existsSync(kept)).toBe(true);
    // The removed stems' rows no longer claim files; the job stays as history.
    expect(await count(db.orm, `select 1 from stems where processing_job_id = ? and file_path is not null`, [processingA])).toBe(0);
    expect(await one<{ status: string; output_path: string | null }>(`select status, output_path from processing_jobs where id = ?`, [processingA])).toEqual({
      status: 'completed',
      output_path: null,
    });
  }, 60_000);

  it('a removed stem set is recomputed by the next request; the rest is served from storage', async () => {
    const r = await pipelineRun(['separate', a, '--json', '--out', path.join(work, 'out-a2')]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { fromStorage: Record<string, boolean>; jobs: { processing: string }; stems: { path: string }[] };
    expect(result.fromStorage).toEqual({ download: true, separation: false, analysis: true });
    expect(result.jobs.processing).not.toBe(processingA);
    expect(result.stems).toHaveLength(4);
    for (const s of result.stems) expect(statSync(s.path).size).toBeGreaterThan(0);
  }, 180_000);

  it('without --grace 0, nothing changed in the last hour is touched; over budget with only such files left exits 1', async () => {
    const r = await sfa(['gc', '--json', '--max-bytes', '0'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/still over the budget/);
    const report = JSON.parse(r.stdout) as GcReport;
    expect(report.removed).toEqual([]);
    expect(report.kept.grace).toBeGreaterThan(0);
    expect(existsSync(p.downloadA)).toBe(true);
  }, 60_000);

  it('a removed download is marked and fetched again when audio is needed', async () => {
    const { code, report } = await gc(['--max-age', '14', '--grace', '0']);
    expect(code).toBe(0);
    expect(report.removed.map((r) => r.path)).toEqual([p.downloadA]); // 15 days; the new stems are young
    const rows = await db.orm.em.fork().execute<{ status: string; output_path: string | null }[]>(`select status, output_path from download_jobs where track_id = ?`, [trackA]);
    expect(rows).toEqual([{ status: 'completed', output_path: null }]);
    // Stems and analysis are stored, so a plain repeat needs no audio ...
    const again = await pipelineRun(['separate', a, '--json', '--out', path.join(work, 'out-a3')]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { fromStorage: Record<string, boolean> }).fromStorage).toMatchObject({ separation: true, analysis: true });
    // ... but another format does, and the download comes back.
    const flac = await pipelineRun(['separate', a, '--json', '--format', 'flac', '--out', path.join(work, 'out-a4')]);
    expect(flac.code, flac.stderr).toBe(0);
    expect((JSON.parse(flac.stdout) as { fromStorage: Record<string, boolean> }).fromStorage).toMatchObject({ download: false, separation: false });
    expect(existsSync(p.downloadA)).toBe(true);
  }, 240_000);

  it('a removed analysis picture takes its result with it: the next request analyses again', async () => {
    const { code, report } = await gc(['--max-age', '11', '--grace', '0']);
    expect(code).toBe(0);
    expect(report.removed.map((r) => r.path)).toEqual([p.overviewA]); // 12 days; B's picture is waited for
    const analysisA = path.basename(p.overviewA);
    expect(await count(db.orm, `select 1 from analysis_results where analysis_job_id = ?`, [analysisA])).toBe(0);
    const r = await pipelineRun(['analyze', a, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { tempo: unknown; features: { overview_png: string } };
    expect(existsSync(result.features.overview_png)).toBe(true);
    expect(await count(db.orm, `select 1 from analysis_jobs where track_id = ? and status = 'completed'`, [trackA])).toBe(2);
    expect(await count(db.orm, `select 1 from processing_jobs where track_id = ?`, [trackA])).toBe(3); // analyze adds none
  }, 180_000);
});
