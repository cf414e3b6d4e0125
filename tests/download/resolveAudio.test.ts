import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './helpers.ts';
import { resolveAudio, type AudioSources, type TrackForLookup } from '../../src/jobs/download/resolveAudio.ts';
import { AudioValidationError, ResolveAudioError, UserFacingError, YtDlpError } from '../../src/jobs/download/errors.ts';
import type { AudioInfo } from '../../src/jobs/download/validateAudio.ts';

const track: TrackForLookup = { spotifyId: '4cOdK2wGLETKBW3PvgPWqT', title: 'Song', artist: 'Band', artists: ['Band'], durationSeconds: 200, isrc: null, url: 'https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPWqT' };
const info: AudioInfo = { durationSeconds: 200, codec: 'mp3', sampleRate: 44100, channels: 2, bytes: 5 };

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let libFile: string;
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir();
  libFile = path.join(tmp.dir, 'library-song.flac');
  await writeFile(libFile, 'LIB');
});
afterAll(() => tmp.cleanup());
const work = () => path.join(tmp.dir, `work${++n}`);

/** Plain injected functions that record the order they were called in. */
function sources(over: Partial<AudioSources>, calls: string[]): AudioSources {
  const produce = async (name: string, dir: string) => {
    const p = path.join(dir, 'source.opus');
    await writeFile(p, name);
    return p;
  };
  return {
    library: async () => { calls.push('library'); return null; },
    spotdl: async (_t, ctx) => { calls.push('spotdl'); return { path: await produce('spotdl', ctx.workDir) }; },
    youtube: async (_t, ctx) => { calls.push('youtube'); return { path: await produce('youtube', ctx.workDir), title: 'Band - Song (Official Audio)' }; },
    directUrl: async (_u, ctx) => { calls.push('url'); return { path: await produce('url', ctx.workDir), displayName: 'song.mp3' }; },
    validate: async () => info,
    ...over,
  };
}

describe('resolveAudio ordering for Spotify tracks', () => {
  it('uses the library first, copying (not moving) the user file', async () => {
    const calls: string[] = [];
    const r = await resolveAudio({ kind: 'spotify', track }, sources({ library: async () => { calls.push('library'); return { path: libFile }; } }, calls), { workDir: work() });
    expect(calls).toEqual(['library']);
    expect(r).toMatchObject({ origin: 'library', description: 'from your library', audio: info, attempts: [] });
    expect(path.extname(r.path)).toBe('.flac');
    expect(await readFile(r.path, 'utf8')).toBe('LIB');
    expect((await stat(libFile)).isFile()).toBe(true);
  });

  it('then spotdl when installed', async () => {
    const calls: string[] = [];
    const r = await resolveAudio({ kind: 'spotify', track }, sources({}, calls), { workDir: work() });
    expect(calls).toEqual(['library', 'spotdl']);
    expect(r.origin).toBe('spotdl');
  });

  it('skips spotdl when not installed and says which YouTube video was used', async () => {
    const calls: string[] = [];
    const progress: number[] = [];
    const r = await resolveAudio({ kind: 'spotify', track }, sources({ spotdl: undefined }, calls), { workDir: work(), onProgress: (p) => progress.push(p) });
    expect(calls).toEqual(['library', 'youtube']);
    expect(r.description).toBe('from YouTube: Band - Song (Official Audio)');
    expect(progress.at(-1)).toBe(100);
  });

  it('falls through failures and records them', async () => {
    const calls: string[] = [];
    const r = await resolveAudio(
      { kind: 'spotify', track },
      sources({
        library: async () => { calls.push('library'); throw new Error('EACCES reading library'); },
        spotdl: async () => { calls.push('spotdl'); throw new UserFacingError('network', 'spotdl could not reach Spotify/YouTube.'); },
      }, calls),
      { workDir: work() },
    );
    expect(calls).toEqual(['library', 'spotdl', 'youtube']);
    expect(r.origin).toBe('youtube');
    expect(r.attempts.map((a) => [a.source, a.error.code])).toEqual([['library', 'tool_failed'], ['spotdl', 'network']]);
  });

  it('a damaged library file falls through to downloads', async () => {
    const calls: string[] = [];
    const validate = async (f: string) => {
      if (f === libFile) throw new AudioValidationError('invalid_audio', 'damaged');
      return info;
    };
    const r = await resolveAudio({ kind: 'spotify', track }, sources({ library: async () => ({ path: libFile }), spotdl: undefined, validate }, calls), { workDir: work() });
    expect(r.origin).toBe('youtube');
    expect(r.attempts[0]).toMatchObject({ source: 'library', error: { code: 'invalid_audio' } });
  });

  it('when everything fails, the last error is what the user sees, with all attempts attached', async () => {
    const calls: string[] = [];
    const err = (await resolveAudio(
      { kind: 'spotify', track },
      sources({
        spotdl: async () => { throw new UserFacingError('tool_failed', 'spotdl broke'); },
        youtube: async () => { throw new YtDlpError('no_match', "No YouTube result within 10 s of the track's length (3:20); closest was 4:05."); },
      }, calls),
      { workDir: work() },
    ).catch((e: unknown) => e)) as ResolveAudioError;
    expect(err).toBeInstanceOf(ResolveAudioError);
    expect(err.code).toBe('no_match');
    expect(err.userMessage).toMatch(/^No YouTube result within 10 s/);
    expect(err.attempts.map((a) => a.source)).toEqual(['spotdl', 'youtube']);
  });

  it('a cancellation stops the chain at once', async () => {
    const calls: string[] = [];
    await expect(
      resolveAudio({ kind: 'spotify', track }, sources({ spotdl: async () => { calls.push('spotdl'); throw new UserFacingError('cancelled', 'The download was cancelled.'); } }, calls), { workDir: work() }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(calls).toEqual(['library', 'spotdl']);
  });

  it('with no sources at all, says what to do', async () => {
    const err = (await resolveAudio({ kind: 'spotify', track }, { directUrl: async () => { throw new Error('x'); }, validate: async () => info }, { workDir: work() }).catch((e: unknown) => e)) as ResolveAudioError;
    expect(err.userMessage).toMatch(/Send a direct audio link or attach the file/);
  });
});

describe('resolveAudio for URLs and files', () => {
  it('direct URLs go to the URL downloader only', async () => {
    const calls: string[] = [];
    const r = await resolveAudio({ kind: 'url', url: 'https://cdn.example.com/a/song.mp3' }, sources({}, calls), { workDir: work() });
    expect(calls).toEqual(['url']);
    expect(r).toMatchObject({ origin: 'url', description: 'from cdn.example.com: song.mp3' });
  });

  it('local files are validated then copied', async () => {
    const calls: string[] = [];
    const r = await resolveAudio({ kind: 'file', path: libFile, displayName: 'my.flac' }, sources({}, calls), { workDir: work() });
    expect(calls).toEqual([]);
    expect(r).toMatchObject({ origin: 'file', description: 'from the file my.flac' });
    expect(r.path).not.toBe(libFile);
    expect(await readFile(r.path, 'utf8')).toBe('LIB');
  });

  it('an invalid local file is reported as is', async () => {
    const validate = async () => { throw new AudioValidationError('not_audio', 'That file has no audio track.'); };
    await expect(resolveAudio({ kind: 'file', path: libFile }, sources({ validate }, []), { workDir: work() })).rejects.toMatchObject({ code: 'not_audio' });
  });
});
