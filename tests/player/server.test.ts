/**
 * The stem player's server side over real HTTP (the bot's file server with
 * the player routes, rows in the per-run PostgreSQL, generated stems): the
 * link grants exactly its one stem set until it expires, the page is served
 * with a strict Content-Security-Policy, peaks are computed once and cached
 * next to the stems, "Download all" is a zip of every stem with its full
 * duration, "Download this mix" is the sum of the unmuted stems at their
 * volumes, the same mix is rendered once, downloads are limited per link, and
 * the cover is fetched once from the (here: fake, local) art server and then
 * served by us from the cache.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StemEncoder } from '../../src/bot/delivery/encode.ts';
import { stemLookup } from '../../src/bot/files/lookup.ts';
import { CONTENT_SECURITY_POLICY, PLAYER_TEXT, playerRoutes } from '../../src/bot/files/player/routes.ts';
import { stemSetLookup } from '../../src/bot/files/player/stemSet.ts';
import { startFileServer, type FileServer } from '../../src/bot/files/server.ts';
import type { Orm } from '../../src/db/orm.ts';
import { playerUrl } from '../../src/domain/playerLink.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { PYTHON, tempDir } from '../engine/helpers.ts';
import { openTestOrm } from '../support/db.ts';
import { makeToneSet, RATE, toneLevel, type ToneSet } from './helpers.ts';

const SECRET = 'player-test-secret-0123456789';
const hour = () => Math.floor(Date.now() / 1000) + 3600;

async function decodeMono(file: string): Promise<Buffer> {
  const run = await execa('ffmpeg', ['-v', 'error', '-i', file, '-ac', '1', '-ar', String(RATE), '-f', 's16le', '-c:a', 'pcm_s16le', 'pipe:1'], { encoding: 'buffer' });
  return Buffer.from(run.stdout);
}
async function duration(file: string): Promise<number> {
  const run = await execa('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(run.stdout.trim());
}
const dB = (ratio: number) => 20 * Math.log10(ratio);

/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

describe('stem player server', () => {
  let orm: Orm;
  let dataDir: string;
  let server: FileServer;
  let set: ToneSet;
  let other: ToneSet;
  let artServer: Server;
  let artBase: string;
  /** Paths the fake art server was asked for, in order. */
  const artHits: string[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const link = (setId = set.setId, exp = hour()) => playerUrl(server.url, SECRET, setId, exp);
  const sub = (route: string, extra = '', setId = set.setId) => {
    const url = new URL(link(setId));
    return `${url.origin}${url.pathname}/${route}${url.search}${extra}`;
  };

  beforeAll(async () => {
    orm = await openTestOrm();
    dataDir = tempDir('player-server');
    artServer = createServer((req, res) => {
      artHits.push(req.url ?? '');
      // The page says it is a PNG; only the bytes decide.
      if (req.url === '/art/cover.png') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      else if (req.url === '/art/not-an-image.png') res.writeHead(200, { 'content-type': 'image/png' }).end('<html><script>alert(1)</script></html>');
      else if (req.url === '/art/huge.png') res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.concat([PNG, Buffer.alloc(6 * 1024 * 1024)]));
      else if (req.url === '/art/slow.png') res.writeHead(200, { 'content-type': 'image/png' }).write(PNG.subarray(0, 8)); // never ends
      else if (req.url === '/art/redirect.png') res.writeHead(302, { location: '/art/cover.png' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => artServer.listen(0, '127.0.0.1', resolve));
    artBase = `http://127.0.0.1:${(artServer.address() as AddressInfo).port}/art/`;
    const paths = new StoragePaths(dataDir);
    server = await startFileServer({
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      lookup: stemLookup(orm),
      dataDir,
      log,
      routes: playerRoutes({ secret: SECRET, lookup: stemSetLookup(orm), paths, encoder: new StemEncoder({ paths }), log, rateLimit: { max: 12, windowMs: 60_000 }, artTestBase: artBase }),
    });
    set = await makeToneSet(orm.em.fork(), dataDir, {
      title: 'Tone Song (Live) 東京',
      seconds: 3,
      stems: [
        { name: 'vocals', frequency: 440, amplitude: 0.2 },
        { name: 'drums', frequency: 660, amplitude: 0.15 },
        { name: 'bass', frequency: 110, amplitude: 0.25 },
      ],
    });
    other = await makeToneSet(orm.em.fork(), dataDir, { title: 'Other', seconds: 1, stems: [{ name: 'vocals', frequency: 300, amplitude: 0.2 }] });
  });
  afterAll(async () => {
    await server?.close();
    artServer?.closeAllConnections();
    await new Promise((resolve) => artServer?.close(resolve));
    await orm?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the page with a strict Content-Security-Policy and no third-party resource', async () => {
    const response = await fetch(link());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy');
    expect(csp).toBe(CONTENT_SECURITY_POLICY);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("img-src 'self';");
    // No third-party host: no scheme, host or wildcard anywhere in the policy.
    expect(csp).not.toMatch(/https?:|\*|\.[a-z]{2,}/i);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await response.text();
    // Every script and style the page names is our own, and there is no inline script.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => !r.startsWith('#'))).toEqual(['../player-assets/icon.svg', '../player-assets/player.css', '../player-assets/player.js']);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const asset of ['player.js', 'engine.js', 'player.css', 'soundtouch/SoundTouchNode.js', 'soundtouch/soundtouch-processor.js']) {
      const r = await fetch(`${server.url}/player-assets/${asset}`);
      expect(r.status, asset).toBe(200);
    }
    expect((await fetch(`${server.url}/player-assets/../routes.ts`)).status).toBe(404);
  });

  it('refuses tampered, expired and other-set links with 403', async () => {
    const good = new URL(link());
    const tampered = new URL(good);
    tampered.searchParams.set('sig', good.searchParams.get('sig')!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')));
    const expired = playerUrl(server.url, SECRET, set.setId, Math.floor(Date.now() / 1000) - 1);
    // The other set's signature on this set's path.
    const otherSig = new URL(link(other.setId)).search;
    const swapped = `${good.origin}${good.pathname}${otherSig}`;
    const longer = new URL(good);
    longer.searchParams.set('exp', String(Number(good.searchParams.get('exp')) + 86400));
    for (const [what, url] of [['tampered', tampered.href], ['expired', expired], ['other set', swapped], ['longer', longer.href], ['no signature', `${good.origin}${good.pathname}`]] as const) {
      const r = await fetch(url);
      expect(r.status, what).toBe(403);
      expect(await r.text(), what).toBe(`${what === 'expired' ? PLAYER_TEXT.expired : PLAYER_TEXT.invalid}\n`);
    }
    const segmentOfOther = `${good.origin}${good.pathname}/segment/vocals/0.flac${otherSig}`;
    expect((await fetch(segmentOfOther)).status).toBe(403);
    // The player link is not a file link and vice versa.
    expect((await fetch(`${server.url}/files/${set.stems[0]!.id}${good.search}`)).status).toBe(403);
  });

  it('computes the peaks once and keeps them next to the stems', async () => {
    const response = await fetch(sub('data.json'));
    expect(response.status).toBe(200);
    const data = (await response.json()) as { track: { title: string }; analysis: { bpm: number; key: string; camelot: string }; durationSeconds: number; sampleRate: number; stems: { name: string; colour: string; icon: string; peaks: number[] }[] };
    expect(data.track.title).toBe('Tone Song (Live) 東京');
    expect(data.analysis).toEqual({ bpm: 128, key: 'A minor', camelot: '8A' });
    expect(data.durationSeconds).toBeCloseTo(3, 2);
    expect(data.sampleRate).toBe(RATE);
    expect(data.stems.map((s) => [s.name, s.icon])).toEqual([['vocals', '🟣'], ['drums', '🟠'], ['bass', '🔵']]);
    const vocals = data.stems[0]!.peaks;
    expect(Math.max(...vocals)).toBeCloseTo(0.2, 1);
    expect(Math.min(...vocals)).toBeCloseTo(-0.2, 1);
    const cache = path.join(path.dirname(set.stems[0]!.filePath), 'peaks.json');
    const made = (await stat(cache)).mtimeMs;
    await fetch(sub('data.json'));
    expect((await stat(cache)).mtimeMs).toBe(made);
    expect((await stat(cache)).size).toBeLessThan(64 * 1024);
  });

  it('streams a stem as 10-second FLAC segments that hold exactly its samples', async () => {
    const r = await fetch(sub('segment/vocals/0.flac'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('audio/flac');
    const file = path.join(dataDir, 'seg0.flac');
    await writeFile(file, new Uint8Array(await r.arrayBuffer()));
    // Streamed FLAC carries no total length: count the decoded samples.
    const pcm = await decodeMono(file);
    expect(pcm.length / 2).toBe(3 * RATE);
    expect(Math.abs(dB(toneLevel(pcm, RATE, 440) / 0.2))).toBeLessThan(0.1);
    expect((await fetch(sub('segment/guitar/0.flac'))).status).toBe(404);
    expect((await fetch(sub('segment/../0.flac'))).status).toBe(404);
  });

  it('zips every stem, in the stored format, FLAC or MP3 320, each as long as the song', async () => {
    for (const [format, ext] of [['stored', 'wav'], ['flac', 'flac'], ['mp3', 'mp3']] as const) {
      const r = await fetch(sub('zip', `&format=${format}`));
      expect(r.status, format).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/zip');
      expect(r.headers.get('content-disposition')).toContain('filename="tone-song-live-stems.zip"');
      const dir = path.join(dataDir, `unzip-${format}`);
      await mkdir(dir, { recursive: true });
      const zip = path.join(dir, 'all.zip');
      await writeFile(zip, new Uint8Array(await r.arrayBuffer()));
      await execa(PYTHON, ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, path.join(dir, 'out')]);
      const names = (await readdir(path.join(dir, 'out'))).sort();
      expect(names).toEqual([`tone-song-live-bass.${ext}`, `tone-song-live-drums.${ext}`, `tone-song-live-vocals.${ext}`]);
      for (const name of names) expect(await duration(path.join(dir, 'out', name)), `${format} ${name}`).toBeCloseTo(3, 1);
    }
    expect((await fetch(sub('zip', '&format=ogg'))).status).toBe(400);
  });

  it('renders "this mix" as the sum of the unmuted stems at their volumes (within 0.5 dB), once per mix', async () => {
    const url = sub('mix', `&format=wav&v=${encodeURIComponent('vocals:0.5,drums:0,bass:1')}`);
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toContain('filename="tone-song-live-mix-vocals-bass.wav"');
    const file = path.join(dataDir, 'mix.wav');
    await writeFile(file, new Uint8Array(await r.arrayBuffer()));
    const pcm = await decodeMono(file);
    expect(await duration(file)).toBeCloseTo(3, 2);
    expect(Math.abs(dB(toneLevel(pcm, RATE, 440) / (0.2 * 0.5)))).toBeLessThan(0.5);
    expect(Math.abs(dB(toneLevel(pcm, RATE, 110) / 0.25))).toBeLessThan(0.5);
    expect(toneLevel(pcm, RATE, 660)).toBeLessThan(0.001); // the muted drums are not in it

    const cacheDir = path.join(dataDir, 'tmp', `player-${set.setId}`);
    const [cached] = (await readdir(cacheDir)).filter((f) => f.startsWith('mix-'));
    const madeAt = (await stat(path.join(cacheDir, cached!))).mtimeMs;
    const again = await fetch(url);
    expect(Buffer.from(await again.arrayBuffer()).equals(await readFile(file))).toBe(true);
    expect((await stat(path.join(cacheDir, cached!))).mtimeMs).toBe(madeAt);
    expect((await readdir(cacheDir)).filter((f) => f.startsWith('mix-'))).toHaveLength(1);

    expect((await fetch(sub('mix', '&format=wav&v=vocals:0,drums:0,bass:0'))).status).toBe(400);
    expect((await fetch(sub('mix', '&format=wav&v=guitar:1'))).status).toBe(400);
    expect((await fetch(sub('mix', '&format=wav&v=vocals:9'))).status).toBe(400);
  });

  it('serves nothing of a set whose file is a symlink out of the stems folder, or gone', async () => {
    const outside = await makeToneSet(orm.em.fork(), dataDir, { title: 'Escape', seconds: 1, stems: [{ name: 'vocals', frequency: 300, amplitude: 0.2 }] });
    const secretFile = path.join(dataDir, 'link-secret-like.txt');
    await writeFile(secretFile, 'not audio');
    await rm(outside.stems[0]!.filePath);
    await symlink(secretFile, outside.stems[0]!.filePath);
    for (const route of ['', '/data.json', '/segment/vocals/0.flac', '/zip', '/mix']) {
      const u = new URL(link(outside.setId));
      const r = await fetch(`${u.origin}${u.pathname}${route}${u.search}`);
      expect(r.status, route).toBe(404);
      expect(await r.text()).toBe(`${PLAYER_TEXT.gone}\n`);
    }
    await rm(outside.stems[0]!.filePath);
    expect((await fetch(link(outside.setId))).status).toBe(404);
  });

  it('serves the cover itself: fetched once through the art hook, then from the cache next to peaks.json', async () => {
    const covered = await makeToneSet(orm.em.fork(), dataDir, { title: 'Covered', seconds: 1, stems: [{ name: 'vocals', frequency: 300, amplitude: 0.2 }], artUrl: `${artBase}cover.png` });
    const art = (setId: string) => sub('art', '', setId);
    const data = (await (await fetch(sub('data.json', '', covered.setId))).json()) as { track: Record<string, unknown> };
    expect(data.track.art).toBe(true);
    expect(JSON.stringify(data)).not.toContain(artBase); // the outside URL is not handed to the page

    const before = artHits.length;
    const first = await fetch(art(covered.setId));
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/png');
    expect(first.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await first.arrayBuffer()).equals(PNG)).toBe(true);
    expect(artHits.slice(before)).toEqual(['/art/cover.png']);
    const cached = path.join(path.dirname(covered.stems[0]!.filePath), 'cover');
    expect((await readFile(cached)).equals(PNG)).toBe(true);
    // The second request is served from the cache: the art server is not asked again.
    const second = await fetch(art(covered.setId));
    expect(second.status).toBe(200);
    expect(Buffer.from(await second.arrayBuffer()).equals(PNG)).toBe(true);
    expect(artHits.slice(before)).toEqual(['/art/cover.png']);

    // A tampered link gets nothing, and the art server is not asked.
    const tampered = new URL(art(covered.setId));
    tampered.searchParams.set('sig', tampered.searchParams.get('sig')!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')));
    expect((await fetch(tampered)).status).toBe(403);
    expect(artHits.slice(before)).toHaveLength(1);
  });

  it('refuses a cover that is not an image, too large, a redirect, or outside the allowed hosts (404, nothing cached)', async () => {
    for (const [what, artUrl, asked] of [
      ['html', `${artBase}not-an-image.png`, true],
      ['6 MB', `${artBase}huge.png`, true],
      ['a redirect (not followed)', `${artBase}redirect.png`, true],
      ['outside the allowed base', `${artBase.replace('/art/', '/other/')}cover.png`, false],
      ['http Spotify', 'http://i.scdn.co/image/ab67616d0000b273', false],
    ] as const) {
      const s = await makeToneSet(orm.em.fork(), dataDir, { title: what, seconds: 1, stems: [{ name: 'vocals', frequency: 300, amplitude: 0.2 }], artUrl });
      const before = artHits.length;
      const r = await fetch(sub('art', '', s.setId));
      expect(r.status, what).toBe(404);
      expect(r.headers.get('content-type'), what).toBe('text/plain; charset=utf-8');
      expect(artHits.length - before, what).toBe(asked ? 1 : 0);
      await expect(stat(path.join(path.dirname(s.stems[0]!.filePath), 'cover')), what).rejects.toThrow();
      const data = (await (await fetch(sub('data.json', '', s.setId))).json()) as { track: { art: boolean } };
      expect(data.track.art, what).toBe(asked);
    }
    // No stored URL at all: no cover, and the page is told not to ask.
    expect((await fetch(sub('art', '', other.setId))).status).toBe(404);
  });

  it('gives up on a cover that never finishes arriving (the 10 s limit) with a 404', async () => {
    const slow = await makeToneSet(orm.em.fork(), dataDir, { title: 'Slow', seconds: 1, stems: [{ name: 'vocals', frequency: 300, amplitude: 0.2 }], artUrl: `${artBase}slow.png` });
    const r = await fetch(sub('art', '', slow.setId));
    expect(r.status).toBe(404);
    await expect(stat(path.join(path.dirname(slow.stems[0]!.filePath), 'cover'))).rejects.toThrow();
  }, 60_000);

  it('limits downloads per link and says when to come back', async () => {
    const fresh = playerUrl(server.url, SECRET, other.setId, hour() + 7);
    const u = new URL(fresh);
    const mix = `${u.origin}${u.pathname}/mix${u.search}&format=wav`;
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await fetch(mix)).status);
    expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);
    const refused = await fetch(mix);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another link to the same set has its own allowance.
    const second = new URL(playerUrl(server.url, SECRET, other.setId, hour() + 9));
    expect((await fetch(`${second.origin}${second.pathname}/mix${second.search}&format=wav`)).status).toBe(200);
  });
});
