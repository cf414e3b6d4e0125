/**
 * Albums and playlists in Discord, end to end: the real bot (`--role all`,
 * workers in the same process, a tiny random htdemucs) against the fake
 * Discord, the fake Spotify Web API (records paged by two) and a library
 * folder of ISRC-tagged tones for the audio. Tests run in order; later ones
 * build on the work of earlier ones (reuse), and each uses its own user.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIUser } from 'discord.js';
import type { Orm } from '../../src/db/orm.ts';
import { openFileOrm } from '../support/db.ts';
import { startFakeSpotify, type FakeSpotify, type FakeTrack } from '../support/fakeSpotify.ts';
import type { InteractionHandle, StoredMessage } from '../support/fakeDiscord/index.ts';
import { until } from '../support/wait.ts';
import { tempDir, toneWav } from '../engine/helpers.ts';
import { startBotHarness, type BotHarness } from './harness.ts';
import { stemAttachments } from './storyHelpers.ts';

const id = (tag: string, n: number) => `${tag}${String(n).padStart(22 - tag.length, '0')}`;
const isrc = (n: number) => `USFAK${String(27000 + n).padStart(7, '0')}`;
const song = (n: number, seconds = 2): FakeTrack => ({ id: id('bsong', n), name: `Song ${n}`, durationMs: seconds * 1000, isrc: isrc(n) });
/** Tracks 1-12: 2 s tones; 20-22: long ones (separation takes a while), for cancelling and restarting in the middle. */
const LONG = [20, 21, 22];
const TWELVE = id('twelve', 1);
const FOUR = id('four', 1);
const MIXED = id('mixed', 1);
const SLOW = id('slow', 1);
const RESTART = id('restart', 1);
const PUBLIC_BASE = 'http://127.0.0.1:9/';
const STEMS = 4;

let spotify: FakeSpotify;
let bot: BotHarness;
let orm: Orm;
let work: string;

beforeAll(async () => {
  work = tempDir('bot-batches');
  const library = path.join(work, 'library');
  mkdirSync(library, { recursive: true });
  const make = async (n: number, seconds: number) => {
    const wav = await toneWav(path.join(work, `tone${n}.wav`), seconds, 150 + 23 * n);
    await execa('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-metadata', `ISRC=${isrc(n)}`, '-metadata', `title=Song ${n}`, path.join(library, `song${n}.flac`)]);
  };
  for (let n = 1; n <= 12; n++) await make(n, 2);
  for (const n of LONG) await make(n, 90);
  spotify = await startFakeSpotify({ pageSize: 2 });
  spotify.addAlbum({ id: TWELVE, name: 'Twelve Tones', artists: ['The Fakes'], tracks: Array.from({ length: 12 }, (_, i) => song(i + 1)) });
  spotify.addAlbum({ id: FOUR, name: 'Four Tones', artists: ['The Fakes'], tracks: [1, 2, 3, 4].map((n) => song(n)) });
  spotify.addPlaylist({
    id: MIXED,
    name: 'Crate Digging',
    owner: 'DJ Fake',
    items: [{ track: song(1) }, { local: 'my-demo.mp3' }, { track: song(2) }, { episode: 'Episode 12' }, { track: song(5) }, { track: song(6) }],
  });
  spotify.addAlbum({ id: SLOW, name: 'Slow Burn', artists: ['The Fakes'], tracks: [song(7), song(20, 90), song(21, 90), song(8)] });
  spotify.addAlbum({ id: RESTART, name: 'Second Wind', artists: ['The Fakes'], tracks: [song(9), song(22, 90), song(10)] });
  orm = await openFileOrm();
  bot = await startBotHarness({
    role: 'all',
    models: ['htdemucs'],
    env: {
      ...spotify.env,
      SFA_LIBRARY_DIR: library,
      SFA_MAX_BATCH_TRACKS: '10',
      SFA_USER_CONCURRENCY: '2',
      SFA_USER_REQUESTS_PER_HOUR: '14',
      PUBLIC_BASE_URL: PUBLIC_BASE,
      // A restart finds the work the stopped process had in hand quickly.
      SFA_HEARTBEAT_SECONDS: '1',
      SFA_STALE_AFTER_SECONDS: '4',
      SFA_REAPER_INTERVAL_SECONDS: '1',
    },
  });
}, 300_000);

afterAll(async () => {
  if (process.env.STORY_LOG) (await import('node:fs')).writeFileSync(process.env.STORY_LOG, bot?.output() ?? '');
  await bot?.close();
  await orm?.close();
  await spotify?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

interface BatchDbRow {
  id: string;
  state: string;
  dm_state: string | null;
  stems_place: string | null;
  thread_id: string | null;
  summary: string;
}

async function batchOf(userId: string): Promise<BatchDbRow | undefined> {
  const rows = await orm.em.fork().execute<BatchDbRow[]>(`select * from batches where requester_id = ? order by inserted_at desc limit 1`, [userId]);
  return rows[0];
}

async function tracksOf(batchId: string) {
  return orm.em.fork().execute<{ position: number; skip_reason: string | null; request_id: string | null; delivery_state: string | null; delivery_error: string | null; inserted_at: Date | null; delivered_at: Date | null; updated_at: Date | null }[]>(
    `select t.position, t.skip_reason, t.request_id, r.delivery_state, r.delivery_error, r.inserted_at, r.delivered_at, r.updated_at
       from batch_tracks t left join requests r on r.id = t.request_id where t.batch_id = ? order by t.position`,
    [batchId],
  );
}

/** Waits until the user's latest batch has settled and its DM went out. */
function settled(userId: string, timeoutMs = 400_000): Promise<BatchDbRow> {
  return until(`the batch of ${userId} to settle`, async () => {
    const b = await batchOf(userId);
    return b && b.state !== 'running' && b.dm_state !== 'pending' ? b : undefined;
  }, timeoutMs);
}

/** The batch's message once its last state reached Discord (edits are paced, so it may trail the rows). */
function finalMessage(handle: InteractionHandle): Promise<StoredMessage> {
  return bot.fake.waitUntil('the message in its final state', () => {
    const m = handle.original();
    return m && /^(Finished|Cancelled) · /.test(m.embeds[0]?.footer?.text ?? '') ? m : undefined;
  }, 30_000);
}

const description = (m: StoredMessage | undefined) => m?.embeds[0]?.description ?? '';
const embedText = (m: StoredMessage | undefined) => JSON.stringify(m?.embeds ?? []);

async function ask(user: APIUser, command: 'separate' | 'analyze', options: Record<string, string>): Promise<InteractionHandle> {
  const handle = bot.fake.interact({ user, command, options });
  await handle.reply(60_000);
  return handle;
}

/** The CSV attached to a message, parsed (no quoted commas in these titles). */
async function csvOf(message: StoredMessage): Promise<string[][]> {
  const file = message.attachments.find((a) => a.filename.endsWith('.csv'));
  expect(file, 'a CSV attachment').toBeDefined();
  const text = await (await fetch(file!.url)).text();
  return text.trim().split(/\r\n/).map((line) => line.split(','));
}

/** Most of the batch's requests open at the same moment (from their rows' timestamps). */
function mostAtOnce(rows: { inserted_at: Date | null; updated_at: Date | null; delivered_at: Date | null }[]): number {
  const spans = rows.filter((r) => r.inserted_at).map((r) => [new Date(r.inserted_at!).getTime(), new Date(r.delivered_at ?? r.updated_at!).getTime()] as const);
  return Math.max(0, ...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
}

describe('/analyze <album> over the limit', () => {
  it('says "the first 10 of 12 tracks", runs them in order under the per-user limit, and sends one DM with a table and a CSV', async () => {
    const user = bot.fake.createUser('dj');
    // Spotify asks the bot to wait once: it does, and carries on.
    spotify.rateLimitOnce(`/v1/albums/${TWELVE}`, 1);
    const handle = await ask(user, 'analyze', { url: `https://open.spotify.com/album/${TWELVE}?si=abc` });
    const b = await settled(user.id);
    expect(b.state).toBe('done');
    expect(b.summary).toBe('the first 10 of 12 tracks');
    const message = await finalMessage(handle);
    expect(embedText(message)).toContain('Twelve Tones');
    expect(embedText(message)).toContain('the first 10 of 12 tracks');
    // The message named what would not run before anything did: the first render already had it.
    expect(JSON.stringify(message.history.find((h) => h.embeds.length)?.embeds)).toContain('the first 10 of 12 tracks');
    expect(description(message)).toMatch(/over the limit of 10 tracks per request/);
    expect(embedText(message)).toContain('tracks: 11-12');

    const tracks = await tracksOf(b.id);
    expect(tracks.filter((t) => t.request_id).map((t) => t.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(tracks.filter((t) => t.request_id).every((t) => t.delivery_state === 'delivered')).toBe(true);
    expect(mostAtOnce(tracks)).toBeLessThanOrEqual(2);

    // One DM for the whole album: the table and the CSV, the BPM and key the engine stored.
    await until('the DM', async () => bot.fake.dms(user.id)[0], 30_000);
    expect(bot.fake.dms(user.id)).toHaveLength(1);
    const dm = bot.fake.dms(user.id)[0]!;
    expect(dm.content).toContain('Twelve Tones');
    const csv = await csvOf(dm);
    expect(csv[0]).toEqual(['position', 'title', 'artist', 'bpm', 'key', 'camelot', 'key_confidence', 'status', 'note']);
    expect(csv.slice(1).map((r) => r[0])).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    const stored = await orm.em.fork().execute<{ tempo: number; key: string }[]>(
      `select a.tempo, a.key from batch_tracks t join requests r on r.id = t.request_id join analysis_results a on a.analysis_job_id = r.analysis_job_id
        where t.batch_id = ? order by t.position`,
      [b.id],
    );
    expect(stored).toHaveLength(10);
    csv.slice(1).forEach((row, i) => {
      expect(Number(row[3])).toBeCloseTo(stored[i]!.tempo, 0);
      expect(row[7]).toBe('done');
    });
    // No per-track DM, no stems (an analysis), nothing else in the channel from this request.
    expect(handle.followups()).toHaveLength(0);
  }, 600_000);
});

describe('records that cannot run', () => {
  it('answers privately and writes nothing: an editorial playlist (404), tracks: out of range', async () => {
    const user = bot.fake.createUser('editorial');
    const editorial = bot.fake.interact({ user, command: 'separate', options: { url: 'https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M' } });
    const first = await bot.fake.waitUntil('the private answer', () => editorial.followups()[0], 30_000);
    expect(first.flags & 64).toBe(64);
    expect(first.content).toMatch(/^Spotify answered that this playlist does not exist\. Playlists made by Spotify itself/);
    const outside = bot.fake.interact({ user, command: 'analyze', options: { url: `https://open.spotify.com/album/${FOUR}`, tracks: '3-6' } });
    const second = await bot.fake.waitUntil('the private answer', () => outside.followups()[0], 30_000);
    expect(second.content).toBe('`tracks:`: tracks 5-6 are out of range: the album has 4 tracks');
    expect(await batchOf(user.id)).toBeUndefined();
    expect(await orm.em.fork().execute(`select 1 from requests where requester_id = ?`, [user.id])).toHaveLength(0);
  }, 120_000);
});

describe('/separate <album> tracks:', () => {
  it('runs only the chosen tracks and posts each one\'s stems in a thread on the one message', async () => {
    const user = bot.fake.createUser('producer');
    const before = bot.fake.messages().length;
    const handle = await ask(user, 'separate', { url: `spotify:album:${FOUR}`, tracks: '1-2' });
    const b = await settled(user.id);
    expect(b).toMatchObject({ state: 'done', stems_place: 'thread', summary: 'tracks 1-2 of 4' });
    const message = await finalMessage(handle);
    const thread = bot.fake.threadOf(message.id);
    expect(thread?.id).toBe(b.thread_id);
    const posts = bot.fake.messages(thread!.id);
    expect(posts).toHaveLength(2);
    expect(posts.map((p) => stemAttachments([p]).length)).toEqual([STEMS, STEMS]);
    expect(embedText(posts[0])).toContain('Song 1');
    expect(embedText(posts[1])).toContain('Song 2');
    // The channel keeps one message: the album's (the stems are in the thread).
    expect(bot.fake.messages().length - before).toBe(1);
    expect(stemAttachments(bot.fake.messages().slice(before))).toHaveLength(0);
    const csv = await csvOf(bot.fake.dms(user.id)[0]!);
    expect(csv.slice(1).map((r) => [r[0], r[1], r[7]])).toEqual([['1', 'Song 1', 'done'], ['2', 'Song 2', 'done']]);
  }, 600_000);
});

describe('/separate <playlist> half of which is already separated', () => {
  it('serves the finished tracks at once (no engine work), skips what cannot run, and separates only the rest', async () => {
    const user = bot.fake.createUser('digger');
    const separationsBefore = Number((await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from processing_jobs`))[0]!.n);
    const handle = await ask(user, 'separate', { url: `https://open.spotify.com/playlist/${MIXED}` });
    const b = await settled(user.id);
    expect(b.state).toBe('done');
    const tracks = await tracksOf(b.id);
    expect(tracks.map((t) => [t.position, t.skip_reason ? 'skipped' : t.delivery_state])).toEqual([
      [1, 'delivered'],
      [2, 'skipped'],
      [3, 'delivered'],
      [4, 'skipped'],
      [5, 'delivered'],
      [6, 'delivered'],
    ]);
    const message = await finalMessage(handle);
    expect(description(message)).toMatch(/local file/);
    expect(description(message)).toMatch(/podcast episode/);
    const separationsAfter = Number((await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from processing_jobs`))[0]!.n);
    expect(separationsAfter - separationsBefore).toBe(2); // songs 5 and 6; 1 and 2 came from storage
    const posts = bot.fake.messages(b.thread_id!);
    expect(posts.map((p) => stemAttachments([p]).length)).toEqual([STEMS, STEMS, STEMS, STEMS]);
  }, 600_000);
});

describe('a channel where the bot may not create threads', () => {
  it('says so and puts each track\'s stem player link on its line instead', async () => {
    bot.fake.denyThreads();
    try {
      const user = bot.fake.createUser('nothreads');
      const before = bot.fake.messages().length;
      const handle = await ask(user, 'separate', { url: `https://open.spotify.com/album/${FOUR}`, tracks: '3' });
      const b = await settled(user.id);
      expect(b).toMatchObject({ state: 'done', stems_place: 'links', thread_id: null });
      const message = await finalMessage(handle);
      expect(bot.fake.threadOf(message.id)).toBeUndefined();
      expect(embedText(message)).toMatch(/thread/i);
      expect(description(message)).toContain(PUBLIC_BASE);
      expect(bot.fake.messages().length - before).toBe(1);
      expect(stemAttachments(bot.fake.messages().slice(before))).toHaveLength(0);
    } finally {
      bot.fake.denyThreads(undefined, false);
    }
  }, 600_000);
});

describe('/cancel in the middle of an album', () => {
  it('stops the rest and keeps what finished', async () => {
    const user = bot.fake.createUser('quitter');
    const handle = await ask(user, 'separate', { url: `https://open.spotify.com/album/${SLOW}` });
    // Track 1 (short) finishes; the two long ones hold both of the user's slots; track 4 waits.
    const b = await until('track 1 delivered and two long ones running', async () => {
      const batch = await batchOf(user.id);
      if (!batch) return undefined;
      const t = await tracksOf(batch.id);
      return t[0]?.delivery_state === 'delivered' && t[1]?.request_id && t[2]?.request_id ? batch : undefined;
    }, 300_000);
    const cancel = bot.fake.interact({ user, command: 'cancel' });
    const answer = await cancel.reply(30_000);
    expect(answer.content).toBe('Cancelled the rest of **Slow Burn**. Tracks that finished are kept.');
    const final = await settled(user.id);
    expect(final.state).toBe('cancelled');
    const tracks = await tracksOf(b.id);
    expect(tracks[0]!.delivery_state).toBe('delivered');
    expect(tracks[1]!.delivery_error).toMatch(/cancel/);
    expect(tracks[2]!.delivery_error).toMatch(/cancel/);
    expect(tracks[3]!.request_id).toBeNull(); // never started
    expect(embedText(await finalMessage(handle))).toContain('Cancelled at your request; finished tracks are kept.');
    // The finished track's stems are in the thread; the DM lists what finished.
    expect(bot.fake.messages(final.thread_id!).map((p) => stemAttachments([p]).length)).toEqual([STEMS]);
    const csv = await csvOf(bot.fake.dms(user.id)[0]!);
    expect(csv.slice(1).map((r) => [r[0], r[7]])).toEqual([['1', 'done'], ['2', 'cancelled'], ['3', 'cancelled'], ['4', 'cancelled']]);
    // Nothing of it is left running.
    const live = await orm.em.fork().execute(`select 1 from processing_jobs p join requests r on r.processing_job_id = p.id where r.batch_id = ? and p.status not in ('completed', 'failed')`, [b.id]);
    expect(live).toHaveLength(0);
  }, 600_000);
});

describe('a bot restart in the middle of an album', () => {
  it('delivers every finished track exactly once and resumes the rest', async () => {
    const user = bot.fake.createUser('patient');
    await ask(user, 'separate', { url: `https://open.spotify.com/album/${RESTART}` });
    await until('track 1 delivered, the long track 2 running', async () => {
      const batch = await batchOf(user.id);
      const t = batch ? await tracksOf(batch.id) : [];
      return t[0]?.delivery_state === 'delivered' && t[1]?.request_id ? true : undefined;
    }, 300_000);
    await bot.restart();
    const b = await settled(user.id);
    expect(b.state).toBe('done');
    const tracks = await tracksOf(b.id);
    expect(tracks.map((t) => t.delivery_state)).toEqual(['delivered', 'delivered', 'delivered']);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const posts = bot.fake.messages(b.thread_id!);
    expect(posts.map((p) => stemAttachments([p]).length)).toEqual([STEMS, STEMS, STEMS]);
    expect(bot.fake.dms(user.id)).toHaveLength(1);
    expect(bot.output()).toMatch(/resumed \d+ unfinished request\(s\) and 1 album\/playlist request\(s\)/);
  }, 600_000);
});

describe('the hourly allowance counts tracks', () => {
  it('an album uses as many as it runs; what is left is said before it starts; then the user is refused', async () => {
    const user = bot.fake.createUser('hungry');
    await ask(user, 'analyze', { url: `https://open.spotify.com/album/${TWELVE}` });
    expect((await settled(user.id)).summary).toBe('the first 10 of 12 tracks');
    const second = await ask(user, 'analyze', { url: `https://open.spotify.com/album/${TWELVE}`, tracks: '5-12' });
    const b = await settled(user.id);
    expect(b.summary).toBe('the first 4 of tracks 5-12 of 12 (what is left of your 14 tracks per hour)');
    expect((await tracksOf(b.id)).filter((t) => t.request_id).map((t) => t.position)).toEqual([5, 6, 7, 8]);
    expect(description(await finalMessage(second))).toMatch(/over your hourly allowance/);
    const refused = bot.fake.interact({ user, command: 'analyze', options: { url: `https://open.spotify.com/track/${id('bsong', 1)}` } });
    const answer = await bot.fake.waitUntil('the private refusal', () => refused.followups()[0], 30_000);
    expect(answer.flags & 64).toBe(64);
    expect(answer.content).toMatch(/^You have asked for 14 tracks in the last hour, the most one person may\. You can ask again <t:\d+:R>\.$/);
  }, 600_000);
});
