/**
 * Hostile servers and hostile link texts: a server that drips, stalls, lies
 * about Content-Length or never stops; links of 2 KB with every kind of
 * percent-encoding. The local test server is reached through the explicit
 * allowance a CLI user's request carries (allowPrivateHosts), nothing else.
 * Each case: a clear message, and no file left behind.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadDirectUrl, type DirectUrlOptions } from '../../src/jobs/download/directUrl.ts';
import { UserFacingError } from '../../src/jobs/download/errors.ts';
import { startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { makeTempDir, makeTone } from '../download/helpers.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let server: FakeHttp;
let song: Buffer;
let n = 0;
const stops: (() => void)[] = [];

const opts = (extra: Partial<DirectUrlOptions> = {}): DirectUrlOptions => ({ maxFileMb: 1, allowPrivateHosts: true, connectTimeoutMs: 5000, ...extra });

async function outDir(): Promise<string> {
  const d = path.join(tmp.dir, `out${++n}`);
  await mkdir(d);
  return d;
}

async function failure(url: string, extra: Partial<DirectUrlOptions> = {}): Promise<UserFacingError> {
  const dir = await outDir();
  const error = await downloadDirectUrl(url, dir, opts(extra)).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserFacingError);
  expect(await readdir(dir)).toEqual([]);
  return error as UserFacingError;
}

/** Every kind of percent-encoding: valid UTF-8, truncated and invalid sequences, NUL, CR/LF, slashes, dots, %25, '+'. */
const NASTY = '%E0%A4%A%00%0D%0A%2F%2e%2E%5C%25%FF%C0%AF%ED%A0%80+%20%3Cb%3E%F0%9F%8E%B5%%zz';
const longName = (ext: string) => `${NASTY.repeat(Math.ceil(2048 / NASTY.length))}.${ext}`;

beforeAll(async () => {
  tmp = await makeTempDir('sfa-transfer-');
  song = await readFile(await makeTone(path.join(tmp.dir, 'song.mp3'), 3));
  server = await startFakeHttp(async (req, res) => {
    if (req.path === '/drip.mp3') {
      // One byte per second, forever: only the total time limit can end it.
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      const timer = setInterval(() => res.write(Buffer.from([0xff])), 1000);
      stops.push(() => clearInterval(timer));
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.path === '/stall.mp3') {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      res.write(song.subarray(0, 1000));
      return; // then silence
    }
    if (req.path === '/short-length.mp3') {
      // Says 2000 bytes, then pushes the whole song and an endless tail down the socket.
      res.socket?.write(`HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg\r\ncontent-length: 2000\r\n\r\n`);
      res.socket?.write(song);
      res.socket?.write(Buffer.alloc(3 * 1024 * 1024, 0xaa));
      res.socket?.end();
      return;
    }
    if (req.path === '/long-length.mp3') {
      // Says 900 KB (under the cap), sends 2 KB and hangs up.
      res.socket?.write(`HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg\r\ncontent-length: ${900 * 1024}\r\n\r\n`);
      res.socket?.write(song.subarray(0, 2000));
      res.socket?.destroy();
      return;
    }
    if (req.path === '/endless.mp3') {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      const chunk = Buffer.alloc(64 * 1024, 0xaa);
      let open = true;
      res.on('close', () => (open = false));
      const pump = () => {
        while (open && res.write(chunk));
        if (open) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (req.path.endsWith('.mp3')) {
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(song.length) });
      return res.end(song);
    }
    res.writeHead(404);
    res.end();
  });
});

afterAll(async () => {
  for (const stop of stops) stop();
  await server.close();
  await tmp.cleanup();
});

describe('hostile servers', () => {
  it('a server that drips one byte per second is stopped by the time limit, with a clear message', async () => {
    const error = await failure(`${server.baseUrl}/drip.mp3`, { timeoutMs: 2500 });
    expect(error.code).toBe('timeout');
    expect(error.userMessage).toMatch(/took too long and was stopped/);
  });

  it('a server that stops sending is stopped by the idle limit', async () => {
    const error = await failure(`${server.baseUrl}/stall.mp3`, { idleTimeoutMs: 1000 });
    expect(error.code).toBe('timeout');
    expect(error.userMessage).toMatch(/stopped sending data for 1 s/);
  });

  it('a Content-Length smaller than what the server pushes: only the announced bytes are read', async () => {
    const dir = await outDir();
    const got = await downloadDirectUrl(`${server.baseUrl}/short-length.mp3`, dir, opts());
    expect(got.bytes).toBe(2000);
    expect(await readdir(dir)).toEqual(['source.mp3']);
  });

  it('a Content-Length larger than the body: the cut-off transfer is a clear network error', async () => {
    const error = await failure(`${server.baseUrl}/long-length.mp3`);
    expect(error.code).toBe('network');
    expect(error.userMessage).toMatch(/^Could not download from 127\.0\.0\.1:\d+: /);
  });

  it('an endless body is cut at the size limit', async () => {
    const error = await failure(`${server.baseUrl}/endless.mp3`);
    expect(error.code).toBe('too_large');
    expect(error.userMessage).toMatch(/the limit is 1 MB \(SFA_MAX_FILE_MB\)/);
  });
});

describe('2 KB links with every kind of percent-encoding', () => {
  it('download into source.<ext> whatever the name says; the display name is kept, never a path', async () => {
    const dir = await outDir();
    const url = `${server.baseUrl}/${longName('mp3')}`;
    expect(url.length).toBeGreaterThan(2048);
    const got = await downloadDirectUrl(url, dir, opts({ maxFileMb: 5 }));
    expect(await readdir(dir)).toEqual(['source.mp3']);
    expect(got.path).toBe(path.join(dir, 'source.mp3'));
    expect(got.displayName.length).toBeLessThanOrEqual(200);
    expect(got.displayName).not.toContain('/');
  });

  it('a long name with an unknown extension is stored as source.mp3 from the content type', async () => {
    const dir = await outDir();
    await downloadDirectUrl(`${server.baseUrl}/${longName('mp3')}?x=${NASTY}`, dir, opts({ maxFileMb: 5 }));
    expect(await readdir(dir)).toEqual(['source.mp3']);
  });

  it('a 2 KB path of dot-dot segments cannot leave the folder', async () => {
    const dir = await outDir();
    const url = `${server.baseUrl}/${'%2e%2e/'.repeat(300)}song.mp3`;
    await downloadDirectUrl(url, dir, opts({ maxFileMb: 5 }));
    expect(await readdir(dir)).toEqual(['source.mp3']);
  });
});
