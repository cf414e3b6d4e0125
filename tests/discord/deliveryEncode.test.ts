/**
 * encode.ts with the real ffmpeg: every planned encoding gives a file that
 * decodes, with the codec, constant bit rate and duration asked for, no
 * larger than the planner's estimate; copies are cached by (stem, encoding)
 * and made again when the stem file changes; a missing stem or an abort is
 * reported, not left half-written.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimatedBytes, TRANSCODES, type Transcode } from '../../src/domain/attachmentPlan.ts';
import { EncodeError, encodedPath, StemEncoder } from '../../src/bot/delivery/encode.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { tempDir } from '../engine/helpers.ts';
import { decodeErrors, ffprobe, makeStems } from './deliveryHelpers.ts';

describe('StemEncoder', () => {
  let dataDir: string;
  let paths: StoragePaths;
  let encoder: StemEncoder;

  beforeAll(() => {
    dataDir = tempDir('encode');
    paths = new StoragePaths(dataDir);
    encoder = new StemEncoder({ paths });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const transcodes = Object.keys(TRANSCODES) as Transcode[];
  it.each(transcodes)('%s: decodes, has the codec, constant bit rate and duration asked for, and fits the estimate', async (encoding) => {
    const [stem] = await makeStems(dataDir, [{ name: 'vocals', seconds: 12 }]);
    const encoded = await encoder.encode({ stemId: stem!.id, filePath: stem!.filePath, encoding });
    const info = TRANSCODES[encoding];

    expect(encoded).toMatchObject({ encoding, cached: false, extension: info.extension, path: encodedPath(paths, stem!.id, encoding) });
    expect(encoded.path.startsWith(path.join(dataDir, 'tmp') + path.sep)).toBe(true);
    expect(encoded.bytes).toBe((await stat(encoded.path)).size);
    expect(await decodeErrors(encoded.path)).toBe('');

    const probe = await ffprobe(encoded.path);
    expect(probe.codec).toBe(info.codec);
    expect(probe.channels).toBe(2);
    expect(probe.duration).toBeGreaterThan(11.9);
    expect(probe.duration).toBeLessThan(12.2);
    // CBR: the file's average rate is the rate asked for (within container overhead).
    const kbps = (encoded.bytes * 8) / probe.duration / 1000;
    expect(kbps).toBeGreaterThan(info.bitrateKbps * 0.95);
    expect(kbps).toBeLessThan(info.bitrateKbps * 1.06);
    if (info.codec === 'mp3') expect(probe.streamBitRate).toBe(info.bitrateKbps * 1000);
    // The planner's estimate is an upper bound, or stems planned to fit would be refused.
    expect(encoded.bytes).toBeLessThanOrEqual(estimatedBytes(encoding, 12));
  });

  it('original: the stored file itself, with its real size', async () => {
    const [stem] = await makeStems(dataDir, [{ name: 'bass', seconds: 2, ext: 'flac' }]);
    const encoded = await encoder.encode({ stemId: stem!.id, filePath: stem!.filePath, encoding: 'original' });
    expect(encoded).toEqual({ encoding: 'original', path: stem!.filePath, bytes: (await stat(stem!.filePath)).size, extension: 'flac', cached: false });
  });

  it('reuses an earlier copy of the same (stem, encoding), and makes a new one when the stem file changed', async () => {
    const [stem] = await makeStems(dataDir, [{ name: 'drums', seconds: 3 }]);
    const request = { stemId: stem!.id, filePath: stem!.filePath, encoding: 'mp3_192' as const };
    const first = await encoder.encode(request);
    const firstBytes = await readFile(first.path);
    const firstMtime = (await stat(first.path)).mtimeMs;

    const again = await encoder.encode(request);
    expect(again).toEqual({ ...first, cached: true });
    expect((await stat(again.path)).mtimeMs).toBe(firstMtime);

    // Another encoding of the same stem is its own copy.
    const opus = await encoder.encode({ ...request, encoding: 'opus_96' });
    expect(opus.path).not.toBe(first.path);
    expect(opus.cached).toBe(false);

    // The stem file is newer than the copy (e.g. re-separated in place): encode again.
    const later = new Date(Date.now() + 60_000);
    await utimes(stem!.filePath, later, later);
    const redone = await encoder.encode(request);
    expect(redone.cached).toBe(false);
    expect(await readFile(redone.path)).toEqual(firstBytes);
    // No partial files are left beside the copies.
    expect((await readdir(path.dirname(first.path))).sort()).toEqual(['mp3_192.mp3', 'opus_96.ogg']);
  });

  it('reports a missing stem file', async () => {
    const error = await encoder.encode({ stemId: randomUUID(), filePath: path.join(dataDir, 'stems', 'nothing.wav'), encoding: 'mp3_320' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncodeError);
    expect(error).toMatchObject({ code: 'missing_source', message: 'the stem file is missing' });
  });

  it('reports a file ffmpeg cannot read, and leaves no copy behind', async () => {
    const [stem] = await makeStems(dataDir, [{ name: 'other', seconds: 1 }]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(stem!.filePath, 'this is not audio');
    const error = await encoder.encode({ stemId: stem!.id, filePath: stem!.filePath, encoding: 'mp3_128' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncodeError);
    expect(error).toMatchObject({ code: 'failed' });
    expect((error as Error).message).toMatch(/^ffmpeg failed \(exit \d+\)/);
    expect(await readdir(path.dirname(encodedPath(paths, stem!.id, 'mp3_128')))).toEqual([]);
  });

  it('stops when the signal aborts, leaving no copy behind', async () => {
    const [stem] = await makeStems(dataDir, [{ name: 'piano', seconds: 240 }]);
    const controller = new AbortController();
    const pending = encoder.encode({ stemId: stem!.id, filePath: stem!.filePath, encoding: 'mp3_320', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'cancelled' });
    expect(await readdir(path.dirname(encodedPath(paths, stem!.id, 'mp3_320')))).toEqual([]);
  });

  it('measures a stem file\'s duration', async () => {
    const [stem] = await makeStems(dataDir, [{ name: 'guitar', seconds: 4 }]);
    const seconds = await encoder.probeDuration(stem!.filePath);
    expect(seconds).toBeCloseTo(4, 1);
    expect(await encoder.probeDuration(path.join(dataDir, 'missing.wav'))).toBeNull();
  });
});
