import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { makeTempDir, makeTone } from './helpers.ts';
import { downloadDirectUrl, parseDirectUrl, type DirectUrlOptions } from '../../src/jobs/download/directUrl.ts';
import { DirectUrlError } from '../../src/jobs/download/errors.ts';
import { isPublicAddress } from '../../src/domain/networkAddress.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let server: FakeHttp;
let song: Buffer;
let n = 0;
const outDir = async () => {
  const d = path.join(tmp.dir, `out${++n}`);
  await mkdir(d);
  return d;
};
const base: DirectUrlOptions = { maxFileMb: 5, allowPrivateHosts: true, connectTimeoutMs: 1000 };

beforeAll(async () => {
  tmp = await makeTempDir();
  song = await readFile(await makeTone(path.join(tmp.dir, 'song.mp3'), 6));
  server = await startFakeHttp(async (req, res) => {
    switch (req.path) {
      case '/song.mp3':
      case '/download': {
        res.writeHead(200, { 'content-type': req.path === '/download' ? 'application/octet-stream' : 'audio/mpeg', 'content-length': String(song.length) });
        // several chunks so progress has steps
        for (let i = 0; i < song.length; i += 16384) {
          res.write(song.subarray(i, i + 16384));
          await new Promise((r) => setTimeout(r, 5));
        }
        return res.end();
      }
      case '/chunked':
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        return res.end(song);
      case '/page':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end('<html><body>Listen here!</body></html>');
      case '/fake.mp3':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(Buffer.alloc(5000, 7));
      case '/huge':
        res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(50 * 1024 * 1024) });
        return res.end();
      case '/lying':
        // no Content-Length: the cap must be enforced while streaming
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        for (let i = 0; i < 12; i++) res.write(Buffer.alloc(512 * 1024, 1));
        return res.end();
      case '/redirect':
        res.writeHead(302, { location: '/song.mp3' });
        return res.end();
      case '/hang':
        return; // never answers
      default:
        res.writeHead(404);
        res.end();
    }
  });
});
afterAll(async () => {
  await server.close();
  await tmp.cleanup();
});

describe('downloadDirectUrl', () => {
  it('streams an audio URL to a temp file with progress and validates it', async () => {
    const dir = await outDir();
    const seen: number[] = [];
    const got = await downloadDirectUrl(`${server.baseUrl}/song.mp3`, dir, { ...base, onProgress: (p) => seen.push(p) });
    expect(got.path).toBe(path.join(dir, 'source.mp3'));
    expect(got.bytes).toBe(song.length);
    expect(got.displayName).toBe('song.mp3');
    expect(got.audio.durationSeconds).toBeCloseTo(6, 0);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toBe(100);
    expect((await readFile(got.path)).equals(song)).toBe(true);
  });

  it('accepts octet-stream when ffprobe says it is audio, naming the file by content type', async () => {
    const dir = await outDir();
    const got = await downloadDirectUrl(`${server.baseUrl}/download`, dir, base);
    expect(got.path).toBe(path.join(dir, 'source.bin'));
    expect(got.audio.codec).toBe('mp3');
    const chunked = await downloadDirectUrl(`${server.baseUrl}/chunked`, await outDir(), base);
    expect(path.basename(chunked.path)).toBe('source.mp3');
  });

  it('rejects an HTML page with a clear message and leaves nothing behind', async () => {
    const dir = await outDir();
    const err = (await downloadDirectUrl(`${server.baseUrl}/page`, dir, base).catch((e: unknown) => e)) as DirectUrlError;
    expect(err.code).toBe('not_audio');
    expect(err.userMessage).toMatch(/^That link is a web page \(text\/html\), not an audio file/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects bytes that are not audio (ffprobe)', async () => {
    const dir = await outDir();
    await expect(downloadDirectUrl(`${server.baseUrl}/fake.mp3`, dir, base)).rejects.toMatchObject({ code: 'not_audio' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('enforces the size cap from Content-Length before downloading', async () => {
    const err = (await downloadDirectUrl(`${server.baseUrl}/huge`, await outDir(), base).catch((e: unknown) => e)) as DirectUrlError;
    expect(err.code).toBe('too_large');
    expect(err.userMessage).toMatch(/limit is 5 MB \(SFA_MAX_FILE_MB\)/);
  });

  it('enforces the size cap while streaming when Content-Length is missing', async () => {
    const dir = await outDir();
    await expect(downloadDirectUrl(`${server.baseUrl}/lying`, dir, base)).rejects.toMatchObject({ code: 'too_large' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports HTTP errors', async () => {
    await expect(downloadDirectUrl(`${server.baseUrl}/missing.mp3`, await outDir(), base)).rejects.toMatchObject({ code: 'not_found', userMessage: expect.stringMatching(/HTTP 404/) });
  });

  it('fails fast when the host is unreachable', async () => {
    const dead = await closedPortUrl();
    const started = Date.now();
    const err = (await downloadDirectUrl(`${dead}/song.mp3`, await outDir(), base).catch((e: unknown) => e)) as DirectUrlError;
    expect(err.code).toBe('network');
    expect(err.userMessage).toMatch(/^Could not download from 127\.0\.0\.1:\d+: connection refused/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out when the server never answers', async () => {
    const started = Date.now();
    const err = (await downloadDirectUrl(`${server.baseUrl}/hang`, await outDir(), { ...base, connectTimeoutMs: 300 }).catch((e: unknown) => e)) as DirectUrlError;
    expect(err.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses private hosts unless allowed, and non-http schemes', async () => {
    await expect(downloadDirectUrl(`${server.baseUrl}/song.mp3`, await outDir(), { ...base, allowPrivateHosts: false })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(() => parseDirectUrl('file:///etc/passwd', { allowPrivate: true })).toThrow(DirectUrlError);
    expect(() => parseDirectUrl('not a url')).toThrow(/not a valid link/);
    for (const h of ['http://localhost/a.mp3', 'http://127.0.0.1/', 'http://10.1.2.3/', 'http://192.168.0.1/', 'http://172.20.0.1/', 'http://169.254.169.254/', 'http://[::1]/']) {
      expect(() => parseDirectUrl(h)).toThrow(/private-network/);
    }
    for (const h of ['8.8.8.8', '172.32.0.1']) expect(isPublicAddress(h)).toBe(true);
    expect(parseDirectUrl('https://example.com/a.mp3').hostname).toBe('example.com');
  });

  it('follows redirects', async () => {
    const got = await downloadDirectUrl(`${server.baseUrl}/redirect`, await outDir(), base);
    expect(got.bytes).toBe(song.length);
  });

  it('refuses a redirect from a public host to a private address', async () => {
    const fetchImpl = (async () => new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' } })) as typeof fetch;
    const err = (await downloadDirectUrl('https://cdn.example.com/song.mp3', await outDir(), { ...base, allowPrivateHosts: false, fetchImpl }).catch((e: unknown) => e)) as DirectUrlError;
    expect(err.code).toBe('invalid_input');
    expect(err.userMessage).toMatch(/private-network/);
  });

  it('can be cancelled', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(downloadDirectUrl(`${server.baseUrl}/hang`, await outDir(), { ...base, connectTimeoutMs: 5000, signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });
});

