/**
 * Albums and playlists through the real `sfa` (node bin/sfa.js): the fake
 * Spotify in tests/support serves the record (paged by two), each track's
 * metadata with an ISRC, and the audio comes from a library folder of
 * ISRC-tagged files; the real pipeline, engine and a tiny random htdemucs do
 * the rest. Tests run in order and build on each other (later runs are
 * served by the first one's results, with no Python at all).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels, tempDir, toneWav } from '../pipeline/helpers.ts';
import { startFakeSpotify, type FakeSpotify } from '../support/fakeSpotify.ts';
import { until } from '../support/wait.ts';
import { cliEnv, count, createCliDatabase, processesUsing, sfa, startSfa, type CliDatabase } from './helpers.ts';

const id = (tag: string, n: number) => `${tag}${String(n).padStart(22 - tag.length, '0')}`;
const ALBUM = id('album', 7);
const PLAYLIST = id('list', 7);
const EDITORIAL = '37i9dQZF1DXcBWIGoYBM5M';
const INTERRUPTED = id('ctrlc', 7);
const isrc = (n: number) => `USFAK${String(26000 + n).padStart(7, '0')}`;
const STEMS = ['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav'];

let db: CliDatabase;
let spotify: FakeSpotify;
let modelDir: string;
let work: string;
let env: Record<string, string>;
/** No Python: any engine work would fail the run. */
let storedOnly: Record<string, string>;

beforeAll(async () => {
  [db, modelDir, spotify] = await Promise.all([createCliDatabase(), makeTinyModels(['htdemucs']), startFakeSpotify({ pageSize: 2 })]);
  work = tempDir('cli-records');
  const library = path.join(work, 'library');
  mkdirSync(library, { recursive: true });
  // Tracks 1 and 2 of the album have audio (2 s tones, one pitch each, tagged with the track's ISRC).
  // Track 8 is long (its separation takes a while, to be interrupted); 9 is never asked for.
  for (const n of [1, 2, 8, 9]) {
    const wav = await toneWav(path.join(work, `tone${n}.wav`), n === 8 ? 180 : 2, 200 + 70 * n);
    await execa('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-metadata', `ISRC=${isrc(n)}`, '-metadata', `title=Song ${n}`, path.join(library, `song${n}.flac`)]);
  }
  spotify.addAlbum({
    id: ALBUM,
    name: 'Fake Record',
    artists: ['The Fakes'],
    tracks: [1, 2, 3, 4, 5].map((n) => ({ id: id('song', n), name: `Song ${n}`, durationMs: 2000, isrc: isrc(n) })),
  });
  spotify.addAlbum({
    id: INTERRUPTED,
    name: 'Cut Short',
    artists: ['The Fakes'],
    tracks: [1, 8, 9].map((n) => ({ id: id('song', n), name: `Song ${n}`, durationMs: n === 8 ? 180_000 : 2000, isrc: isrc(n) })),
  });
  spotify.addPlaylist({
    id: PLAYLIST,
    name: 'Odds and Ends',
    owner: 'Some DJ',
    items: [
      { track: { id: id('song', 1), name: 'Song 1', durationMs: 2000, isrc: isrc(1) } },
      { local: 'my-demo.mp3' },
      { episode: 'Episode 12' },
      { removed: true },
      { track: { id: id('gone', 1), name: 'Withdrawn', playable: false } },
      { track: { id: id('song', 2), name: 'Song 2', durationMs: 2000, isrc: isrc(2) } },
    ],
  });
  env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: path.join(work, 'data'), SFA_MODEL_DIR: modelDir, SFA_LIBRARY_DIR: library, ...spotify.env });
  storedOnly = { ...env, SFA_PYTHON: path.join(work, 'no-python') };
}, 180_000);

afterAll(async () => {
  await db?.close();
  await spotify?.close();
  for (const dir of [work, modelDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const rowCount = async () => ({
  download: await count(db.orm, 'select 1 from download_jobs'),
  processing: await count(db.orm, 'select 1 from processing_jobs'),
  analysis: await count(db.orm, 'select 1 from analysis_jobs'),
});

type RecordJson = {
  record: Record<string, unknown>;
  plan: string;
  tracks: ({ position: number; ok: boolean; outDir?: string; stems?: { name: string; path: string }[]; fromStorage: unknown } & Record<string, unknown>)[];
  skipped: { position: number; title: string; reason: string }[];
  cancelled: unknown[];
};

describe('sfa separate <album>', () => {
  it('reads the album over three pages (waiting out a 429), runs the first 2 of 5 into NN - <title> folders, one JSON object', async () => {
    spotify.rateLimitOnce(`/v1/albums/${ALBUM}`, 1);
    const out = path.join(work, 'out');
    const r = await sfa(['separate', `https://open.spotify.com/album/${ALBUM}?si=x`, '--limit', '2', '--out', out, '--json'], { env, timeoutMs: 560_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as RecordJson;
    expect(result.record).toEqual({
      kind: 'album',
      spotifyId: ALBUM,
      name: 'Fake Record',
      by: 'The Fakes',
      artUrl: `https://i.scdn.co/image/${ALBUM}-640`,
      url: `https://open.spotify.com/album/${ALBUM}`,
      trackCount: 5,
    });
    expect(result.plan).toBe('the first 2 of 5 tracks');
    expect(result.tracks.map((t) => [t.position, t.ok, t.title])).toEqual([
      [1, true, 'Song 1'],
      [2, true, 'Song 2'],
    ]);
    expect(result.skipped).toEqual([3, 4, 5].map((n) => ({ position: n, title: `Song ${n}`, reason: 'over the limit of 2 tracks per request' })));
    expect(result.cancelled).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(['01 - song-1', '02 - song-2']);
    for (const t of result.tracks) {
      expect(t.outDir).toBe(path.join(out, `0${t.position} - song-${t.position}`));
      expect(readdirSync(t.outDir!).sort()).toEqual(STEMS);
      expect(t.fromStorage).toEqual({ download: false, separation: false, analysis: false });
    }
    // The 429, the album again after Retry-After, then pages 2 and 3 asked by offset.
    expect(spotify.apiRequests(`/v1/albums/${ALBUM}`).map((q) => q.url)).toEqual([
      `/v1/albums/${ALBUM}`,
      `/v1/albums/${ALBUM}`,
      `/v1/albums/${ALBUM}/tracks?offset=2&limit=50`,
      `/v1/albums/${ALBUM}/tracks?offset=4&limit=50`,
    ]);
    expect(await rowCount()).toEqual({ download: 2, processing: 2, analysis: 2 });
  }, 600_000);

  it('a re-run is served from storage: no engine, no new rows', async () => {
    const before = await rowCount();
    const r = await sfa(['separate', `spotify:album:${ALBUM}`, '--limit', '2', '--json'], { env: storedOnly, cwd: work });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as RecordJson;
    expect(result.tracks.map((t) => t.fromStorage)).toEqual(Array(2).fill({ download: true, separation: true, analysis: true }));
    // Without --out: one folder for the record in the current directory.
    const root = path.join(work, `fake-record-${ALBUM}-htdemucs`);
    expect(readdirSync(root).sort()).toEqual(['01 - song-1', '02 - song-2']);
    expect(await rowCount()).toEqual(before);
  }, 240_000);

  it('--tracks narrows it; progress names the track above its stages; text summary per track', async () => {
    const r = await sfa(['analyze', `https://open.spotify.com/intl-de/album/${ALBUM}`, '--tracks', '2,1'], { env: storedOnly });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`sfa analyze: album "Fake Record" by The Fakes: tracks 1-2 of 5\n`);
    const lines = r.stderr.split('\n');
    const first = lines.indexOf('track 1/2: 1. Song 1');
    const second = lines.indexOf('track 2/2: 2. Song 2');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(second).toBeGreaterThan(first);
    expect(lines.slice(first, second)).toContain('analyze: completed (from storage)');
    expect(r.stdout).toMatch(/^1\. Song 1 \(0:02\)\n {2}tempo/m);
    expect(r.stdout).toMatch(/^2\. Song 2 \(0:02\)\n/m);
    expect(r.stdout).not.toMatch(/^3\. /m);
  }, 240_000);
});

describe('sfa separate <playlist>', () => {
  it('skips the local file, the episode, the removed and the unplayable track with reasons; the rest from storage', async () => {
    const before = await rowCount();
    const r = await sfa(['separate', `https://open.spotify.com/playlist/${PLAYLIST}`, '--json', '--out', path.join(work, 'list')], { env: storedOnly });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as RecordJson;
    expect(result.record).toMatchObject({ kind: 'playlist', name: 'Odds and Ends', by: 'Some DJ', trackCount: 6 });
    expect(result.plan).toBe('2 of 6 tracks');
    expect(result.tracks.map((t) => [t.position, t.ok, t.fromStorage])).toEqual([
      [1, true, { download: true, separation: true, analysis: true }],
      [6, true, { download: true, separation: true, analysis: true }],
    ]);
    expect(result.skipped).toEqual([
      { position: 2, title: 'my-demo.mp3', reason: expect.stringMatching(/^a local file/) },
      { position: 3, title: 'Episode 12', reason: 'a podcast episode, not a song' },
      { position: 4, title: 'unavailable track', reason: 'no longer available on Spotify (removed)' },
      { position: 5, title: 'Withdrawn', reason: 'not playable on Spotify' },
    ]);
    expect(readdirSync(path.join(work, 'list')).sort()).toEqual(['01 - song-1', '06 - song-2']);
    expect(await rowCount()).toEqual(before);
  }, 240_000);

  it('a Spotify-owned playlist (404) is explained in plain words; nothing is written', async () => {
    const before = await rowCount();
    const r = await sfa(['separate', `spotify:playlist:${EDITORIAL}`], { env: storedOnly });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sfa separate: Spotify answered that this playlist does not exist\. Playlists made by Spotify itself/);
    expect(r.stdout).toBe('');
    expect(await rowCount()).toEqual(before);
  }, 60_000);
});

describe('Ctrl-C in the middle of an album', () => {
  it('cancels the running track, asks for no further one, reports what finished, exits 130', async () => {
    const out = path.join(work, 'cut');
    const data = path.join(work, 'cut-data');
    const child = startSfa(['separate', `spotify:album:${INTERRUPTED}`, '--out', out, '--json'], { env: { ...env, SFA_DATA_DIR: data }, timeoutMs: 400_000 });
    const running = await until(
      'track 2 to be separating',
      async () => {
        const rows = await db.orm.em.fork().execute<{ id: string; status: string; progress: number }[]>(
          `select p.id, p.status, p.progress from processing_jobs p join tracks t on t.id = p.track_id where t.spotify_id = ?`,
          [id('song', 8)],
        );
        return rows[0]?.status === 'processing' && rows[0].progress > 0 ? rows[0] : undefined;
      },
      300_000,
    );
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    const json = JSON.parse(String(r.stdout)) as RecordJson;
    expect(json.tracks.map((t) => [t.position, t.ok])).toEqual([[1, true]]);
    expect(json.cancelled).toEqual([
      { position: 2, title: 'Song 8', reason: 'cancelled while it ran' },
      { position: 3, title: 'Song 9', reason: 'cancelled before it ran' },
    ]);
    expect(readdirSync(out)).toEqual(['01 - song-1']);
    const row = (await db.orm.em.fork().execute<{ status: string; error: string }[]>(`select status, error from processing_jobs where id = ?`, [running.id]))[0]!;
    expect(row).toEqual({ status: 'failed', error: 'cancelled: interrupted from the command line (Ctrl-C)' });
    // Track 3 was never asked for; nothing is left running.
    expect(await count(db.orm, `select 1 from tracks where spotify_id = ?`, [id('song', 9)])).toBe(0);
    expect(processesUsing(data)).toEqual([]);
  }, 420_000);
});

describe('refusals before any work', () => {
  it('without Spotify credentials names exactly the settings (exit 2)', async () => {
    const { SPOTIFY_CLIENT_ID: _id, SPOTIFY_CLIENT_SECRET: _secret, ...without } = storedOnly;
    const r = await sfa(['separate', `https://open.spotify.com/album/${ALBUM}`], { env: without });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/);
  }, 60_000);

  it.each([
    [['separate', `spotify:album:${ALBUM}`, '--tracks', '0'], /track numbers start at 1/],
    [['separate', `spotify:album:${ALBUM}`, '--tracks', '5-2'], /runs backwards; write 2-5/],
    [['analyze', `spotify:album:${ALBUM}`, '--limit', 'all'], /--limit needs a whole number/],
    [['separate', `spotify:album:${ALBUM}`, '--tracks', '2,9'], /track 9 is out of range: the album has 5 tracks/],
    [['separate', 'https://example.com/song.mp3', '--limit', '2'], /--limit is for Spotify album and playlist links/],
    [['analyze', `spotify:album:${ALBUM}`, '--png', 'x.png'], /--png is for a single track/],
  ])('%j exits 2', async (args, message) => {
    const before = await rowCount();
    const r = await sfa(args, { env: storedOnly });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(await rowCount()).toEqual(before);
  }, 60_000);

  it('the usage text describes albums and playlists', async () => {
    const r = await sfa(['separate', '--help'], { env });
    expect(r.stdout).toMatch(/sfa separate <spotify album\|playlist link> \[--limit N\] \[--tracks 1,3,5-7\]/);
    expect(existsSync(path.join(work, 'x.png'))).toBe(false);
  }, 60_000);
});
