import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { makeFakeTool, makeTempDir, makeTone } from './helpers.ts';
import {
  buildDownloadArgs,
  buildSearchArgs,
  classifyYtDlpFailure,
  DEFAULT_YTDLP_PATH,
  downloadWithYtDlp,
  findAndDownloadFromYouTube,
  parseProgressLine,
  parseSearchOutput,
  searchYouTube,
} from '../../src/jobs/download/ytdlp.ts';
import type { ToolRun } from '../../src/jobs/download/runTool.ts';
import { YtDlpError } from '../../src/jobs/download/errors.ts';

const YTDLP = path.resolve(DEFAULT_YTDLP_PATH);
const run = (stderr: string, extra: Partial<ToolRun> = {}): ToolRun => ({ exitCode: 1, stdout: '', stderr, timedOut: false, cancelled: false, spawnErrorCode: undefined, ...extra });
const ctx = { executable: 'yt-dlp', site: 'YouTube', timeoutMs: 60_000 };

const searchJson = JSON.stringify({
  _type: 'playlist',
  entries: [
    { id: 'aaaaaaaaaaa', title: 'Song (Live)', url: 'https://www.youtube.com/watch?v=aaaaaaaaaaa', duration: 245, channel: 'Fan' },
    { id: 'bbbbbbbbbbb', title: 'Song (Official Audio)', url: 'https://www.youtube.com/watch?v=bbbbbbbbbbb', duration: 202, channel: 'Artist' },
    null,
  ],
});

describe('yt-dlp output parsing (pure)', () => {
  it('parses progress template lines to 0..100', () => {
    expect(parseProgressLine('sfa-progress 1024 40960 NA')).toBeCloseTo(2.5);
    expect(parseProgressLine('sfa-progress 500 NA 1000')).toBe(50);
    expect(parseProgressLine('sfa-progress 2000 1000 NA')).toBe(100);
    expect(parseProgressLine('sfa-progress 5 NA NA')).toBeNull();
    expect(parseProgressLine('[download] 10% of 3MiB')).toBeNull();
  });
  it('parses search JSON, skipping null entries', () => {
    expect(parseSearchOutput(searchJson)).toEqual([
      { id: 'aaaaaaaaaaa', title: 'Song (Live)', url: 'https://www.youtube.com/watch?v=aaaaaaaaaaa', durationSeconds: 245, channel: 'Fan' },
      { id: 'bbbbbbbbbbb', title: 'Song (Official Audio)', url: 'https://www.youtube.com/watch?v=bbbbbbbbbbb', durationSeconds: 202, channel: 'Artist' },
    ]);
    expect(() => parseSearchOutput('not json')).toThrow(YtDlpError);
  });
  it.each([
    ['ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader', 'unavailable', /unavailable/],
    ['ERROR: unable to download video data: HTTP Error 403: Forbidden', 'forbidden', /HTTP 403.*pip install -U yt-dlp/],
    ["ERROR: [youtube:search] Failed to resolve 'www.youtube.com' ([Errno -2] Name or service not known)", 'network', /Could not reach YouTube/],
    ["WARNING: ... ERROR: ('Unable to connect to proxy', NewConnectionError(...Connection refused))", 'network', /Could not reach YouTube/],
    ["ERROR: [youtube] x: Sign in to confirm you're not a bot", 'forbidden', /cookies/],
    ['ERROR: Unsupported URL: https://example.com/', 'invalid_input', /not something yt-dlp can download/],
    ['ERROR: something new and strange', 'tool_failed', /yt-dlp failed: something new and strange/],
  ])('maps %s', (stderr, code, msg) => {
    const err = classifyYtDlpFailure(run(stderr), ctx);
    expect(err.code).toBe(code);
    expect(err.userMessage).toMatch(msg);
  });
  it('maps a missing executable and a timeout', () => {
    expect(classifyYtDlpFailure(run('', { exitCode: undefined, spawnErrorCode: 'ENOENT' }), ctx).code).toBe('tool_missing');
    expect(classifyYtDlpFailure(run('', { timedOut: true }), ctx).userMessage).toMatch(/longer than 60 s/);
  });
});

describe('yt-dlp argument building (fake executable)', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => { tmp = await makeTempDir(); });
  afterAll(() => tmp.cleanup());

  it('search passes the query as one argv element inside ytsearch5:', async () => {
    const fake = await makeFakeTool(tmp.dir, 'yt-dlp-search', { stdout: searchJson });
    const query = `Guns N' Roses; rm -rf / $(echo hi) - "Sweet Child"`;
    const found = await searchYouTube(query, { executable: fake.path, socketTimeoutSeconds: 7, proxy: 'http://proxy:3128' });
    expect(found).toHaveLength(2);
    const args = await fake.args();
    expect(args).toEqual(buildSearchArgs(query, { socketTimeoutSeconds: 7, proxy: 'http://proxy:3128' }));
    expect(args.at(-1)).toBe(`ytsearch5:${query}`);
    expect(args).toEqual(expect.arrayContaining(['-J', '--flat-playlist', '--socket-timeout', '7', '--proxy', 'http://proxy:3128']));
  });

  it('download uses bestaudio, no playlists, progress template, temp dir, and -- before the URL', async () => {
    const out = path.join(tmp.dir, 'out1');
    const fake = await makeFakeTool(tmp.dir, 'yt-dlp-dl', {
      stdout: `sfa-progress 10 100 NA\nsfa-progress 100 100 NA\nsfa-result {"filepath": "${out}/source.webm", "title": "T", "webpage_url": "https://www.youtube.com/watch?v=bbbbbbbbbbb"}\n`,
    });
    const seen: number[] = [];
    const got = await downloadWithYtDlp('-bad-url-looking-like-an-option', out, { executable: fake.path, onProgress: (p) => seen.push(p) });
    expect(got).toEqual({ path: `${out}/source.webm`, title: 'T', url: 'https://www.youtube.com/watch?v=bbbbbbbbbbb' });
    expect(seen).toEqual([10, 100]);
    const args = await fake.args();
    expect(args).toEqual(buildDownloadArgs('-bad-url-looking-like-an-option', out, {}));
    expect(args.slice(-2)).toEqual(['--', '-bad-url-looking-like-an-option']);
    for (const flag of ['--no-playlist', '--newline', '--progress', '--progress-template', '--socket-timeout', '-P']) expect(args).toContain(flag);
    expect(args[args.indexOf('-f') + 1]).toBe('bestaudio/best');
    expect(args[args.indexOf('-P') + 1]).toBe(out);
    expect(args).not.toContain('--max-filesize');
  });

  it('caps the size with --max-filesize and says so when yt-dlp skipped a larger file', async () => {
    expect(buildDownloadArgs('https://www.youtube.com/watch?v=abc', '/tmp/x', { maxFileMb: 2 }).join(' ')).toContain('--max-filesize 2097152 --');
    const fake = await makeFakeTool(tmp.dir, 'yt-dlp-big', { stdout: '[download] File is larger than max-filesize (9999999 bytes > 2097152 bytes). Aborting.\n' });
    const err = (await downloadWithYtDlp('https://www.youtube.com/watch?v=abc', tmp.dir, { executable: fake.path, maxFileMb: 2 }).catch((e: unknown) => e)) as YtDlpError;
    expect(err).toBeInstanceOf(YtDlpError);
    expect(err.code).toBe('too_large');
    expect(err.userMessage).toBe('That audio on YouTube is larger than 2 MB (SFA_MAX_FILE_MB), so it was not downloaded. Try a shorter track.');
  });

  it('turns yt-dlp stderr into a typed error', async () => {
    const fake = await makeFakeTool(tmp.dir, 'yt-dlp-gone', { stderr: 'ERROR: [youtube] abc: Video unavailable\n', exitCode: 1 });
    const err = (await downloadWithYtDlp('https://www.youtube.com/watch?v=abc', tmp.dir, { executable: fake.path }).catch((e: unknown) => e)) as YtDlpError;
    expect(err).toBeInstanceOf(YtDlpError);
    expect(err.code).toBe('unavailable');
    expect(err.userMessage).toMatch(/^That video on YouTube is unavailable/);
  });

  it('reports a missing executable', async () => {
    const err = (await searchYouTube('x', { executable: path.join(tmp.dir, 'nope') }).catch((e: unknown) => e)) as YtDlpError;
    expect(err.code).toBe('tool_missing');
  });

  it('kills a hung yt-dlp at the overall timeout', async () => {
    const fake = await makeFakeTool(tmp.dir, 'yt-dlp-hang', { sleepSeconds: 30 });
    const started = Date.now();
    const err = (await downloadWithYtDlp('https://x.test/a', tmp.dir, { executable: fake.path, timeoutMs: 500 }).catch((e: unknown) => e)) as YtDlpError;
    expect(err.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails clearly when no result is within 10 s', async () => {
    const fake = await makeFakeTool(tmp.dir, 'yt-dlp-far', { stdout: JSON.stringify({ entries: [{ id: 'a', title: 'A', url: 'u', duration: 245 }] }) });
    const err = (await findAndDownloadFromYouTube({ artist: 'X', title: 'Y', durationSeconds: 201 }, tmp.dir, { executable: fake.path }).catch((e: unknown) => e)) as YtDlpError;
    expect(err.code).toBe('no_match');
    expect(err.userMessage).toMatch(/^No YouTube result within 10 s of the track's length \(3:21\); closest was 4:05\./);
  });
});

describe('real yt-dlp against a local HTTP server', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let server: FakeHttp;
  let song: string;
  beforeAll(async () => {
    tmp = await makeTempDir();
    song = await makeTone(path.join(tmp.dir, 'song.mp3'), 20);
    const size = (await stat(song)).size;
    server = await startFakeHttp((req, res) => {
      if (req.path !== '/song.mp3') {
        res.writeHead(404);
        return res.end('nope');
      }
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(size) });
      createReadStream(song, { highWaterMark: 16 * 1024 }).pipe(res);
    });
  });
  afterAll(async () => {
    await server.close();
    await tmp.cleanup();
  });

  it('downloads a direct media URL with progress', async () => {
    const out = path.join(tmp.dir, 'real');
    const seen: number[] = [];
    const got = await downloadWithYtDlp(`${server.baseUrl}/song.mp3`, out, { executable: YTDLP, onProgress: (p) => seen.push(p) });
    expect(got.path).toBe(path.join(out, 'source.mp3'));
    expect((await stat(got.path)).size).toBe((await stat(song)).size);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(100);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // never goes backwards
  });

  it('maps a 404 from the server', async () => {
    const err = (await downloadWithYtDlp(`${server.baseUrl}/missing.mp3`, path.join(tmp.dir, 'r404'), { executable: YTDLP }).catch((e: unknown) => e)) as YtDlpError;
    expect(err.code).toBe('not_found');
    expect(err.userMessage).toMatch(/^127\.0\.0\.1 says that media does not exist \(HTTP 404\)/);
  });

  it('fails fast with a clear message when the host is unreachable', async () => {
    const dead = await closedPortUrl();
    const started = Date.now();
    const err = (await downloadWithYtDlp(`${dead}/song.mp3`, path.join(tmp.dir, 'dead'), { executable: YTDLP }).catch((e: unknown) => e)) as YtDlpError;
    expect(err.code).toBe('network');
    expect(err.userMessage).toMatch(/^Could not reach 127\.0\.0\.1/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('search fails fast with a clear message when the network is absent (dead proxy)', async () => {
    const dead = await closedPortUrl();
    const started = Date.now();
    const err = (await searchYouTube('Rick Astley - Never Gonna Give You Up', { executable: YTDLP, proxy: dead }).catch((e: unknown) => e)) as YtDlpError;
    expect(err.code).toBe('network');
    expect(err.userMessage).toMatch(/^Could not reach YouTube/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('cancellation', () => {
  it('an AbortSignal stops yt-dlp and reports cancelled', async () => {
    const tmp = await makeTempDir();
    try {
      const fake = await makeFakeTool(tmp.dir, 'yt-dlp-slow', { sleepSeconds: 30 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const started = Date.now();
      await expect(downloadWithYtDlp('https://x.test/a', tmp.dir, { executable: fake.path, signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await tmp.cleanup();
    }
  });
});
