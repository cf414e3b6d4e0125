import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { makeTempDir, makeTone } from './helpers.ts';
import { createAudioSources } from '../../src/jobs/download/sources.ts';
import { resolveAudio } from '../../src/jobs/download/resolveAudio.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { moveIntoPlace, removePartial } from '../../src/jobs/storage/atomicWrite.ts';
import { DEFAULT_YTDLP_PATH } from '../../src/jobs/download/ytdlp.ts';
import type { ResolveAudioError } from '../../src/jobs/download/errors.ts';

// The real wiring end to end, offline: library folder, local HTTP, yt-dlp with a dead proxy.
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let server: FakeHttp;
let lib: string;
let storage: StoragePaths;
const track = { spotifyId: '4cOdK2wGLETKBW3PvgPWqT', title: 'Library Song', artist: 'The Owners', artists: ['The Owners'], durationSeconds: 3, isrc: null, url: 'https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPWqT' };

beforeAll(async () => {
  tmp = await makeTempDir();
  lib = path.join(tmp.dir, 'lib');
  await mkdir(lib);
  await makeTone(path.join(lib, 'mine.flac'), 3, { title: 'Library Song', artist: 'The Owners' });
  const song = await makeTone(path.join(tmp.dir, 'web.mp3'), 2);
  server = await startFakeHttp(async (req, res) => {
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String((await stat(song)).size) });
    createReadStream(song).pipe(res);
  });
  storage = new StoragePaths(path.join(tmp.dir, 'var'));
});
afterAll(async () => {
  await server.close();
  await tmp.cleanup();
});

describe('createAudioSources + resolveAudio (real tools, offline)', () => {
  it('a Spotify track found in the library ends up in storage', async () => {
    const sources = await createAudioSources({ libraryDir: lib, spotdlPath: false, maxFileMb: 10, maxDurationSeconds: 1200 });
    const workDir = await storage.makeTempDir('download');
    try {
      const r = await resolveAudio({ kind: 'spotify', track }, sources, { workDir });
      expect(r).toMatchObject({ origin: 'library', description: 'from your library', audio: { codec: 'flac' } });
      const final = storage.downloadSource('0f8fad5b-d9cb-469f-a165-70867728950e', path.extname(r.path));
      await moveIntoPlace(r.path, final);
      expect((await stat(final)).size).toBe(r.audio.bytes);
    } finally {
      await removePartial(workDir);
    }
  });

  it('a direct URL is downloaded and validated', async () => {
    const sources = await createAudioSources({ spotdlPath: false, maxFileMb: 10, maxDurationSeconds: 1200 });
    const r = await resolveAudio({ kind: 'url', url: `${server.baseUrl}/web.mp3`, allowPrivateHosts: true }, sources, { workDir: await storage.makeTempDir() });
    expect(r).toMatchObject({ origin: 'url', audio: { codec: 'mp3' } });
  });

  it('no library match + no network: a clear YouTube error, quickly', async () => {
    const sources = await createAudioSources({ libraryDir: lib, spotdlPath: false, ytdlpPath: path.resolve(DEFAULT_YTDLP_PATH), ytdlpProxy: await closedPortUrl(), maxFileMb: 10, maxDurationSeconds: 1200 });
    const started = Date.now();
    const err = (await resolveAudio({ kind: 'spotify', track: { ...track, title: 'Not In Library' } }, sources, { workDir: await storage.makeTempDir() }).catch((e: unknown) => e)) as ResolveAudioError;
    expect(err.code).toBe('network');
    expect(err.userMessage).toMatch(/^Could not reach YouTube/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
