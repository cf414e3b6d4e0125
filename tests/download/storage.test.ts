import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './helpers.ts';
import { StoragePaths, assertUuid } from '../../src/jobs/storage/paths.ts';
import { moveIntoPlace, removePartial, writeFileAtomic } from '../../src/jobs/storage/atomicWrite.ts';
import { StorageError } from '../../src/jobs/download/errors.ts';

const T = '0f8fad5b-d9cb-469f-a165-70867728950e';
const P = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const A = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let paths: StoragePaths;
beforeAll(async () => {
  tmp = await makeTempDir();
  paths = new StoragePaths(path.join(tmp.dir, 'var'));
});
afterAll(() => tmp.cleanup());

describe('StoragePaths', () => {
  it('lays files out by ids only', () => {
    const r = paths.root;
    expect(paths.downloadSource(T, '.MP3')).toBe(path.join(r, 'downloads', T, 'source.mp3'));
    expect(paths.stemFile(T, P, 'vocals', 'flac')).toBe(path.join(r, 'stems', T, P, 'vocals.flac'));
    expect(paths.stemFile(T, P, 'no_vocals', 'wav')).toBe(path.join(r, 'stems', T, P, 'no_vocals.wav'));
    expect(paths.analysisOverview(A)).toBe(path.join(r, 'analysis', A, 'overview.png'));
    expect(paths.downloadDir(T.toUpperCase())).toBe(path.join(r, 'downloads', T));
  });

  it.each([
    '../../etc',
    '..',
    `${T}/../../x`,
    `${T}\u0000`,
    '0f8fad5b-d9cb-469f-a165-70867728950e/..',
    '/etc/passwd',
    'Never Gonna Give You Up',
    '',
    '4cOdK2wGLETKBW3PvgPWqT',
  ])('rejects the id %j', (bad) => {
    expect(() => paths.downloadDir(bad)).toThrow(StorageError);
    expect(() => paths.stemsDir(T, bad)).toThrow(StorageError);
    expect(() => paths.analysisDir(bad)).toThrow(StorageError);
  });

  it('rejects traversal through stem names, extensions and file names', () => {
    for (const stem of ['../vocals', 'vocals/../../x', '.hidden', 'Vocals', 'a b']) expect(() => paths.stemFile(T, P, stem, 'wav')).toThrow(StorageError);
    for (const ext of ['../x', 'mp3/..', 'toolongext', '']) expect(() => paths.downloadSource(T, ext)).toThrow(StorageError);
    expect(() => paths.analysisFile(A, '../../overview', 'png')).toThrow(StorageError);
  });

  it('assertUuid returns the lower-cased id', () => {
    expect(assertUuid(P.toUpperCase())).toBe(P);
  });

  it('makes temp dirs inside the data dir (same filesystem for renames)', async () => {
    const d = await paths.makeTempDir('download');
    expect(d.startsWith(path.join(paths.root, 'tmp', 'download-'))).toBe(true);
    expect((await stat(d)).isDirectory()).toBe(true);
    await removePartial(d);
    await expect(stat(d)).rejects.toThrow();
  });
});

describe('atomic writes', () => {
  it('writeFileAtomic creates parents and leaves no temp files', async () => {
    const f = paths.analysisFile(A, 'result', 'json');
    await writeFileAtomic(f, '{"a":1}');
    await writeFileAtomic(f, '{"a":2}');
    expect(await readFile(f, 'utf8')).toBe('{"a":2}');
    expect(await readdir(path.dirname(f))).toEqual(['result.json']);
  });

  it('moveIntoPlace renames a finished temp file into its final path', async () => {
    const tmpDir = await paths.makeTempDir();
    const src = path.join(tmpDir, 'source.mp3');
    await writeFile(src, 'audio');
    const dest = paths.downloadSource(T, 'mp3');
    await moveIntoPlace(src, dest);
    expect(await readFile(dest, 'utf8')).toBe('audio');
    await expect(stat(src)).rejects.toThrow();
    expect(await readdir(path.dirname(dest))).toEqual(['source.mp3']);
  });

  it('moveIntoPlace fails with a StorageError when the source is missing', async () => {
    await expect(moveIntoPlace(path.join(tmp.dir, 'nope'), paths.downloadSource(P, 'mp3'))).rejects.toBeInstanceOf(StorageError);
  });

  it('removePartial is idempotent', async () => {
    const d = path.join(tmp.dir, 'partial');
    await mkdir(d);
    await writeFile(path.join(d, 'x.part'), 'x');
    await removePartial(d);
    await removePartial(d);
    await removePartial(path.join(tmp.dir, 'never-existed.part'));
    await expect(stat(d)).rejects.toThrow();
  });
});
