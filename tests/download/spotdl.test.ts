import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFakeTool, makeTempDir } from './helpers.ts';
import { buildSpotdlArgs, downloadWithSpotdl, locateSpotdl } from '../../src/jobs/download/spotdl.ts';
import { SpotdlError } from '../../src/jobs/download/errors.ts';

const URL = 'https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPWqT';
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => { tmp = await makeTempDir(); });
afterAll(() => tmp.cleanup());

describe('locateSpotdl', () => {
  it('finds spotdl on PATH, honours a configured path, else null', async () => {
    const bin = path.join(tmp.dir, 'bin');
    await mkdir(bin);
    const fake = await makeFakeTool(bin, 'spotdl', {});
    expect(await locateSpotdl(undefined, `/nonexistent${path.delimiter}${bin}`)).toBe(fake.path);
    expect(await locateSpotdl(undefined, '/nonexistent')).toBeNull();
    expect(await locateSpotdl(fake.path, '')).toBe(fake.path);
    expect(await locateSpotdl(path.join(tmp.dir, 'missing'), bin)).toBeNull();
  });
});

describe('downloadWithSpotdl (fake executable)', () => {
  it('passes argv and returns the produced file', async () => {
    const out = path.join(tmp.dir, 'ok');
    await mkdir(out);
    const fake = await makeFakeTool(tmp.dir, 'spotdl-ok', { stdout: 'Downloaded "Rick Astley - Never Gonna Give You Up"\n', createFile: path.join(out, '4cOdK2wGLETKBW3PvgPWqT.opus') });
    const got = await downloadWithSpotdl(URL, out, { executable: fake.path });
    expect(got.path).toBe(path.join(out, '4cOdK2wGLETKBW3PvgPWqT.opus'));
    const args = await fake.args();
    expect(args).toEqual(buildSpotdlArgs(URL, out));
    expect(args[0]).toBe('download');
    expect(args.slice(-2)).toEqual(['--', URL]); // the link can never be read as an option
    expect(args[args.indexOf('--output') + 1]).toBe(path.join(out, '{track-id}.{output-ext}'));
  });

  it.each([
    ['LookupError: No results found for song: Rick Astley - Never Gonna Give You Up', 1, 'no_match'],
    ["requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.spotify.com', port=443): Max retries exceeded", 1, 'network'],
    ['AudioProviderError: YT-DLP download error - HTTP Error 403: Forbidden', 1, 'forbidden'],
    ['Traceback ...\nKeyError: something', 2, 'tool_failed'],
  ])('maps %s', async (stderr, exitCode, code) => {
    const out = path.join(tmp.dir, `err-${code}`);
    await mkdir(out);
    const fake = await makeFakeTool(tmp.dir, `spotdl-${code}`, { stderr, exitCode });
    const err = (await downloadWithSpotdl(URL, out, { executable: fake.path }).catch((e: unknown) => e)) as SpotdlError;
    expect(err).toBeInstanceOf(SpotdlError);
    expect(err.code).toBe(code);
    expect(err.userMessage.length).toBeGreaterThan(20);
  });

  it('a link that looks like an option stays the link', async () => {
    const out = path.join(tmp.dir, 'dash');
    await mkdir(out);
    const fake = await makeFakeTool(tmp.dir, 'spotdl-dash', { createFile: path.join(out, 'x.opus') });
    await downloadWithSpotdl('--output=/etc/cron.d/x', out, { executable: fake.path });
    expect((await fake.args()).slice(-2)).toEqual(['--', '--output=/etc/cron.d/x']);
  });

  it('stops a download that grows past SFA_MAX_FILE_MB and leaves nothing behind', async () => {
    const out = path.join(tmp.dir, 'huge');
    await mkdir(out);
    const script = path.join(tmp.dir, 'spotdl-huge');
    // Writes 2 MB, then keeps going (as a stream that never ends would).
    await writeFile(script, `#!/bin/sh\nhead -c 2097152 /dev/zero > '${out}/x.opus'\nsleep 30\n`);
    await chmod(script, 0o755);
    const err = (await downloadWithSpotdl(URL, out, { executable: script, maxFileMb: 1, sizeCheckMs: 100 }).catch((e: unknown) => e)) as SpotdlError;
    expect(err).toBeInstanceOf(SpotdlError);
    expect(err.code).toBe('too_large');
    expect(err.userMessage).toMatch(/grew past 1 MB \(SFA_MAX_FILE_MB\) and was stopped/);
    expect(await readdir(out)).toEqual([]);
  });

  it('treats exit 0 without an audio file as a failure', async () => {
    const out = path.join(tmp.dir, 'nofile');
    await mkdir(out);
    const fake = await makeFakeTool(tmp.dir, 'spotdl-nofile', { stdout: 'LookupError: No results found for song: X\n' });
    await expect(downloadWithSpotdl(URL, out, { executable: fake.path })).rejects.toMatchObject({ code: 'no_match' });
  });

  it('times out a hung spotdl', async () => {
    const out = path.join(tmp.dir, 'hang');
    await mkdir(out);
    const fake = await makeFakeTool(tmp.dir, 'spotdl-hang', { sleepSeconds: 30 });
    await expect(downloadWithSpotdl(URL, out, { executable: fake.path, timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' });
  });
});
