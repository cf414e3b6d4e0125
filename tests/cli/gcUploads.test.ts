/**
 * `sfa gc` and the attachments the bot fetched: uploads/<sha256>.<ext> files
 * (the source of the tracks whose source_url names them) and the staging
 * folders uploads/.incoming-* an attachment arrives in. Rows are inserted
 * directly (as the bot writes them); ages are set with utimes.
 */
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSourceUrl } from '../../src/jobs/pipeline/input.ts';
import type { GcReport } from '../../src/jobs/storage/gc.ts';
import { tempDir } from '../pipeline/helpers.ts';
import { cliEnv, createCliDatabase, sfa, type CliDatabase } from './helpers.ts';

let db: CliDatabase;
let work: string;
let env: Record<string, string>;
const DAY = 86_400_000;
const f = {} as Record<'done' | 'busy' | 'orphan' | 'stale' | 'live', string>;

function age(p: string, days: number): void {
  const when = new Date(Date.now() - days * DAY);
  if (statSync(p).isDirectory()) for (const name of readdirSync(p)) age(path.join(p, name), days);
  utimesSync(p, when, when);
}

async function trackFor(file: string, status: 'completed' | 'queued'): Promise<void> {
  const em = db.orm.em.fork();
  const st = statSync(file);
  const [track] = await em.execute<{ id: string }[]>(`insert into tracks (title, source_url) values ('upload', ?) returning id`, [
    fileSourceUrl(file, { size: st.size, mtimeMs: st.mtimeMs }),
  ]);
  await em.execute(`insert into download_jobs (track_id, status, progress) values (?, ?, ?)`, [track!.id, status, status === 'completed' ? 100 : 0]);
}

beforeAll(async () => {
  db = await createCliDatabase();
  work = tempDir('gc-uploads');
  const uploads = path.join(work, 'data', 'uploads');
  mkdirSync(uploads, { recursive: true });
  env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: path.join(work, 'data') });
  const file = (name: string, bytes: number) => {
    const p = path.join(uploads, name);
    writeFileSync(p, Buffer.alloc(bytes, 1));
    return p;
  };
  f.done = file(`${'a'.repeat(64)}.mp3`, 1000); // its track's download completed: nothing needs it now
  f.busy = file(`${'b'.repeat(64)}.wav`, 2000); // its track's download is queued: the worker will read it
  f.orphan = file(`${'c'.repeat(64)}.flac`, 3000); // no track names it
  await trackFor(f.done, 'completed');
  await trackFor(f.busy, 'queued');
  // A staging folder left by a bot that died mid-download, and one of a live process (this one).
  f.stale = path.join(uploads, '.incoming-999999999-1700000000000-abc');
  f.live = path.join(uploads, `.incoming-${process.pid}-1700000000000-def`);
  for (const dir of [f.stale, f.live]) {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'source.mp3'), Buffer.alloc(500, 2));
  }
  for (const p of [f.done, f.busy, f.orphan, f.stale, f.live]) age(p, 10);
}, 120_000);

afterAll(async () => {
  await db?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('sfa gc and uploads/', () => {
  it('removes stale staging folders always, and attachments past --max-age unless their track has work queued', async () => {
    // utimes moves a file's ctime to now: --grace 0 lets files this young be considered at all.
    const plain = await sfa(['gc', '--json', '--grace', '0', '--dry-run'], { env });
    expect(plain.code, plain.stderr).toBe(0);
    // Without limits only the stale staging folder goes.
    expect((JSON.parse(plain.stdout) as GcReport).removed.map((r) => [r.path, r.kind, r.reason])).toEqual([[f.stale, 'tmp', 'stale-tmp']]);

    const r = await sfa(['gc', '--json', '--grace', '0', '--max-age', '7'], { env });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as GcReport;
    expect(Object.fromEntries(report.removed.map((x) => [x.path, `${x.kind}/${x.reason}`]))).toEqual({
      [f.done]: 'upload/max-age',
      [f.orphan]: 'orphan/max-age',
      [f.stale]: 'tmp/stale-tmp',
    });
    for (const gone of [f.done, f.orphan, f.stale]) expect(existsSync(gone)).toBe(false);
    for (const kept of [f.busy, f.live]) expect(existsSync(kept)).toBe(true);
    expect(report.kept.inUse).toBe(2); // the queued track's attachment and the live process's staging folder
  }, 60_000);
});
