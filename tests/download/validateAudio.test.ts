import { truncate, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, makeTone } from './helpers.ts';
import { validateAudio } from '../../src/jobs/download/validateAudio.ts';
import { AudioValidationError } from '../../src/jobs/download/errors.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => { tmp = await makeTempDir(); });
afterAll(() => tmp.cleanup());

describe('validateAudio', () => {
  it('returns duration, codec, rate, channels and size', async () => {
    const f = await makeTone(path.join(tmp.dir, 'ok.flac'), 4, {}, ['-ar', '44100']);
    const info = await validateAudio(f);
    expect(info).toEqual({ durationSeconds: expect.closeTo(4, 1), codec: 'flac', sampleRate: 44100, channels: 2, bytes: (await stat(f)).size });
  });
  it('rejects a track longer than the limit with both lengths in the message', async () => {
    const f = await makeTone(path.join(tmp.dir, 'long.mp3'), 8);
    const err = (await validateAudio(f, { maxDurationSeconds: 5 }).catch((e: unknown) => e)) as AudioValidationError;
    expect(err.code).toBe('too_long');
    expect(err.userMessage).toMatch(/^The track is 0:08 long; the limit is 0:05/);
  });
  it('rejects audio shorter than a second', async () => {
    const f = await makeTone(path.join(tmp.dir, 'short.wav'), 0.4);
    await expect(validateAudio(f)).rejects.toMatchObject({ code: 'too_short' });
  });
  it('rejects an HTML page saved as .mp3', async () => {
    const f = path.join(tmp.dir, 'page.mp3');
    await writeFile(f, '<!doctype html><html><body>Not audio</body></html>');
    const err = (await validateAudio(f).catch((e: unknown) => e)) as AudioValidationError;
    expect(err.code).toBe('not_audio');
    expect(err.userMessage).toMatch(/not audio we can read/);
  });
  it('rejects a video file without an audio stream', async () => {
    const f = path.join(tmp.dir, 'silent.mkv');
    const { execa } = await import('execa');
    await execa('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=32x32:d=2', '-c:v', 'ffv1', f]);
    await expect(validateAudio(f)).rejects.toMatchObject({ code: 'not_audio', userMessage: expect.stringMatching(/no audio track/) });
  });
  it('rejects empty and missing files', async () => {
    const f = path.join(tmp.dir, 'empty.mp3');
    await writeFile(f, '');
    await expect(validateAudio(f)).rejects.toMatchObject({ code: 'invalid_audio' });
    await expect(validateAudio(path.join(tmp.dir, 'nope.mp3'))).rejects.toMatchObject({ code: 'not_found' });
  });
  it('rejects a truncated file that does not decode', async () => {
    const f = await makeTone(path.join(tmp.dir, 'trunc.flac'), 5);
    await truncate(f, 2000);
    await expect(validateAudio(f)).rejects.toBeInstanceOf(AudioValidationError);
  });
});
