/**
 * Memory of the stem player for a long song: a 10-minute song with 6 stems
 * (44.1 kHz stereo 16-bit WAV, made with ffmpeg), served by the real file
 * server with the player routes, opened in Debian's Chromium.
 *
 *   streaming: the page as shipped (10 s FLAC segments, ~3 s decoded ahead);
 *              plays 15 s, then 6 seeks across the song with 3 s of play each.
 *   baseline:  the same page in a fresh browser, but every stem fetched whole
 *              and decoded up front (what a player without streaming does).
 * For each: the peak memory (PSS) of all Chromium processes (sampled every
 * 250 ms) above the same browser's memory right after the page loaded, and
 * the decoded audio the page held.
 *
 *   npx tsx bench/player_memory_bench.ts [--minutes 10] [--stems 6] [--out bench/results/player_memory.json]
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import type { Browser, Page } from 'puppeteer-core';
import { StemEncoder } from '../src/bot/delivery/encode.ts';
import { stemLookup } from '../src/bot/files/lookup.ts';
import { playerRoutes } from '../src/bot/files/player/routes.ts';
import { stemSetLookup } from '../src/bot/files/player/stemSet.ts';
import { startFileServer } from '../src/bot/files/server.ts';
import { migrate } from '../src/db/migrate.ts';
import { createOrm } from '../src/db/orm.ts';
import { playerUrl } from '../src/domain/playerLink.ts';
import { signedUrl } from '../src/domain/signedLink.ts';
import { StoragePaths } from '../src/jobs/storage/paths.ts';
import { launchChromium } from '../tests/support/browser.ts';
import { createDatabase, dropDatabase, insertJob, insertStem, insertTrack, serverUrl, uniqueDatabaseName, withDatabase } from '../tests/support/db.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    stems: { type: 'string', default: '6' },
    out: { type: 'string', default: 'bench/results/player_memory.json' },
  },
});
const SECONDS = Number(values.minutes) * 60;
const STEMS = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other'].slice(0, Number(values.stems));
const SECRET = 'bench-player-secret-0123456789';
const MB = 1024 * 1024;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Proportional set size (shared pages split between their users, so nothing counts twice) of a process and all its descendants, in bytes (Linux /proc). */
function treeRss(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  let total = 0;
  const visit = (pid: number) => {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      total += Number(m?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
    for (const c of children.get(pid) ?? []) visit(c);
  };
  visit(root);
  return total;
}

async function sampling<T>(pid: number, work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = treeRss(pid);
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, treeRss(pid));
      await wait(250);
    }
  })();
  const result = await work();
  done = true;
  await sampler;
  return { peak: Math.max(peak, treeRss(pid)), result };
}

async function openPlayer(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready === 'true', { timeout: 300_000 });
  return page;
}

async function main(): Promise<void> {
  const work = path.join(tmpdir(), `sfa-player-bench-${process.pid}`);
  const dataDir = path.join(work, 'data');
  const adminUrl = serverUrl(process.env.DATABASE_URL);
  const dbName = uniqueDatabaseName('sfa_bench');
  await createDatabase(adminUrl, dbName);
  const databaseUrl = withDatabase(adminUrl, dbName);
  await migrate(databaseUrl);
  const orm = await createOrm(databaseUrl);
  const paths = new StoragePaths(dataDir);
  const log = { info: () => undefined, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };
  const server = await startFileServer({ host: '127.0.0.1', port: 0, secret: SECRET, lookup: stemLookup(orm), dataDir, log, routes: playerRoutes({ secret: SECRET, lookup: stemSetLookup(orm), paths, encoder: new StemEncoder({ paths }), log }) });
  const browsers: Browser[] = [];
  try {
    const em = orm.em.fork();
    const trackId = await insertTrack(em, { title: 'Long Song', duration: SECONDS });
    const setId = await insertJob(em, 'processing', trackId, { status: 'completed', progress: 100, model: 'htdemucs_6s' });
    const stemIds: string[] = [];
    let t = Date.now();
    for (const [i, name] of STEMS.entries()) {
      const file = paths.stemFile(trackId, setId, name, 'wav');
      mkdirSync(path.dirname(file), { recursive: true });
      await execa('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=${110 * (i + 1)}:sample_rate=44100:duration=${SECONDS}`, '-ac', '2', '-c:a', 'pcm_s16le', file]);
      stemIds.push(await insertStem(em, setId, trackId, { stem_type: name, file_path: file }));
    }
    const stemBytes = STEMS.reduce((sum, name) => sum + readFileSync(paths.stemFile(trackId, setId, name, 'wav')).length, 0);
    console.error(`made ${STEMS.length} stems of ${SECONDS} s (${Math.round(stemBytes / MB)} MB) in ${Math.round((Date.now() - t) / 1000)} s`);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const link = playerUrl(server.url, SECRET, setId, exp);

    // Streaming: the page as shipped.
    t = Date.now();
    const a = await launchChromium();
    browsers.push(a);
    const pageA = await openPlayer(a, link);
    const firstOpenMs = Date.now() - t; // includes computing the peaks once on the server
    const pidA = a.process()!.pid!;
    await wait(1000);
    const idleA = treeRss(pidA);
    const streaming = await sampling(pidA, async () => {
      let maxDecoded = 0;
      const positions = [0, 95, 212, 333, 451, 587, 120];
      await pageA.evaluate(() => (window as any).sfaPlayer.engine.play());
      for (const [i, p] of positions.entries()) {
        if (i > 0) await pageA.evaluate((x) => (window as any).sfaPlayer.engine.seek(x), p);
        const until = Date.now() + (i === 0 ? 15_000 : 3_000);
        while (Date.now() < until) {
          maxDecoded = Math.max(maxDecoded, await pageA.evaluate(() => (window as any).sfaPlayer.engine.snapshot().decodedSegments));
          await wait(250);
        }
      }
      const snap = await pageA.evaluate(() => (window as any).sfaPlayer.engine.snapshot());
      return { maxDecoded, playing: snap.playing as boolean, started: (snap.started as string[]).length };
    });
    await a.close();

    // Baseline: every stem fetched whole and decoded up front.
    const b = await launchChromium();
    browsers.push(b);
    const pageB = await openPlayer(b, link);
    const pidB = b.process()!.pid!;
    await wait(1000);
    const idleB = treeRss(pidB);
    const files = stemIds.map((id) => signedUrl(server.url, SECRET, id, exp));
    const decodeAll = await sampling(pidB, () =>
      pageB.evaluate(async (urls) => {
        const ctx = (window as any).sfaPlayer.ctx as AudioContext;
        const buffers: AudioBuffer[] = [];
        for (const u of urls) buffers.push(await ctx.decodeAudioData(await (await fetch(u)).arrayBuffer()));
        (window as any).keep = buffers;
        return buffers.reduce((s, x) => s + x.length * x.numberOfChannels * 4, 0);
      }, files),
    );
    await b.close();

    const result = {
      at: new Date().toISOString(),
      cores: cpus().length,
      loadavg: loadavg().map((x) => Math.round(x * 10) / 10),
      song: { seconds: SECONDS, stems: STEMS.length, storedMB: Math.round(stemBytes / MB) },
      firstOpenSeconds: Math.round(firstOpenMs / 100) / 10,
      streaming: {
        peakAboveIdleMB: Math.round((streaming.peak - idleA) / MB),
        peakTotalMB: Math.round(streaming.peak / MB),
        maxDecodedSegments: streaming.result.maxDecoded,
        decodedMBAtMost: Math.round((streaming.result.maxDecoded * 10 * 44100 * 2 * 4) / MB),
        stillPlaying: streaming.result.playing,
        stemsStarted: streaming.result.started,
      },
      decodeAll: {
        peakAboveIdleMB: Math.round((decodeAll.peak - idleB) / MB),
        peakTotalMB: Math.round(decodeAll.peak / MB),
        decodedMB: Math.round(decodeAll.result / MB),
      },
    };
    mkdirSync(path.dirname(values.out!), { recursive: true });
    writeFileSync(values.out!, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const b of browsers) await b.close().catch(() => undefined);
    await server.close();
    await orm.close();
    await dropDatabase(adminUrl, dbName).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
