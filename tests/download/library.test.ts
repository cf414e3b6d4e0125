import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, makeTone } from './helpers.ts';
import { LibraryIndex, matchLibrary, normalizeTitle, readTagsWithMusicMetadata, splitArtists, type LibraryEntry } from '../../src/jobs/download/library.ts';

describe('title/artist normalisation (pure)', () => {
  it.each([
    ['Never Gonna Give You Up - Remastered 2022', 'never gonna give you up'],
    ['Never Gonna Give You Up (2022 Remaster)', 'never gonna give you up'],
    ['Bohemian Rhapsody - 2011 Remaster', 'bohemian rhapsody'],
    ['Señorita (feat. Camila Cabello)', 'senorita'],
    ['Señorita feat. Camila', 'senorita'],
    ["Don't Stop Me Now!", 'don t stop me now'],
    ['Rock & Roll', 'rock and roll'],
    ['Song - Live at Wembley', 'song live at wembley'], // other versions must stay distinct
  ])('%s -> %s', (input, expected) => {
    expect(normalizeTitle(input)).toBe(expected);
  });
  it('splits artist tags', () => {
    expect(splitArtists('Daft Punk feat. Pharrell Williams & Nile Rodgers')).toEqual(['daft punk', 'pharrell williams', 'nile rodgers']);
    expect(splitArtists('Beyoncé; JAY-Z')).toEqual(['beyonce', 'jay z']);
  });
});

describe('matchLibrary (pure)', () => {
  const e = (p: string, over: Partial<LibraryEntry>): LibraryEntry => ({ path: p, mtimeMs: 0, size: 1, title: 'Get Lucky', artists: ['Daft Punk'], isrcs: [], durationSeconds: 248, ...over });
  const q = { title: 'Get Lucky (feat. Pharrell Williams and Nile Rodgers) - Radio Edit', artists: ['Daft Punk', 'Pharrell Williams'], isrc: 'USQX91300108', durationSeconds: 248.4 };

  it('prefers an ISRC match', () => {
    const m = matchLibrary([e('/a.mp3', {}), e('/b.flac', { title: 'Whatever', isrcs: ['USQX91300108'] })], q);
    expect(m).toMatchObject({ matchedBy: 'isrc', entry: { path: '/b.flac' } });
  });
  it('matches by normalised tags within 3 s', () => {
    const query = { ...q, title: 'GET LUCKY (feat. Pharrell Williams)', isrc: null };
    expect(matchLibrary([e('/a.mp3', { durationSeconds: 250.9, artists: ['Daft Punk feat. Pharrell Williams'] })], query)).toMatchObject({ matchedBy: 'tags' });
    expect(matchLibrary([e('/a.mp3', { durationSeconds: 252 })], query)).toBeNull();
    expect(matchLibrary([e('/a.mp3', { artists: ['Someone Else'] })], query)).toBeNull();
    expect(matchLibrary([e('/a.mp3', { durationSeconds: null })], query)).toBeNull();
  });
  it('needs a duration and an artist for tag matching (oEmbed-only metadata cannot match)', () => {
    expect(matchLibrary([e('/a.mp3', {})], { title: 'Get Lucky', artists: [], isrc: null, durationSeconds: null })).toBeNull();
  });
  it('picks the closest length among several tag matches', () => {
    const m = matchLibrary([e('/a.mp3', { durationSeconds: 246 }), e('/b.mp3', { durationSeconds: 248.5 })], { ...q, title: 'Get Lucky', isrc: null });
    expect(m?.entry.path).toBe('/b.mp3');
  });
});

describe('LibraryIndex on real tagged files', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let lib: string;
  beforeAll(async () => {
    tmp = await makeTempDir();
    lib = path.join(tmp.dir, 'Music');
    await mkdir(path.join(lib, 'Artist A', 'Album'), { recursive: true });
    await mkdir(path.join(lib, '.hidden'));
    // mp3: ffmpeg writes -metadata TSRC=... as an ID3 TSRC frame (ISRC=... becomes TXXX:ISRC; music-metadata reads both)
    await makeTone(path.join(lib, 'Artist A', 'Album', '01.mp3'), 3, { title: 'Héllo Wörld - Remastered 2011', artist: 'Artist A', TSRC: 'USAAA1111111' });
    await makeTone(path.join(lib, 'Artist A', 'txxx.mp3'), 2, { title: 'Other', artist: 'Artist A', ISRC: 'USAAA3333333' });
    // flac: a Vorbis comment ISRC
    await makeTone(path.join(lib, 'b.flac'), 4, { title: 'Second Song (feat. C)', artist: 'Band B', ISRC: 'USBBB2222222' });
    await makeTone(path.join(lib, '.hidden', 'x.mp3'), 2, { title: 'Hidden', artist: 'H' });
    await writeFile(path.join(lib, 'notes.txt'), 'not audio');
    await writeFile(path.join(lib, 'broken.mp3'), 'not really an mp3');
  });
  afterAll(() => tmp.cleanup());

  it('reads ISRC back from mp3 (TSRC and TXXX:ISRC) and flac', async () => {
    expect((await readTagsWithMusicMetadata(path.join(lib, 'Artist A', 'Album', '01.mp3'))).isrcs).toEqual(['USAAA1111111']);
    expect((await readTagsWithMusicMetadata(path.join(lib, 'Artist A', 'txxx.mp3'))).isrcs).toEqual(['USAAA3333333']);
    const flac = await readTagsWithMusicMetadata(path.join(lib, 'b.flac'));
    expect(flac).toMatchObject({ title: 'Second Song (feat. C)', artists: ['Band B'], isrcs: ['USBBB2222222'] });
    expect(flac.durationSeconds).toBeCloseTo(4, 1);
  });

  it('scans recursively, skips hidden and non-audio files; broken files carry no tags', async () => {
    const idx = new LibraryIndex(lib);
    const entries = await idx.scan();
    expect(entries.map((x) => path.relative(lib, x.path)).sort()).toEqual(['Artist A/Album/01.mp3', 'Artist A/txxx.mp3', 'b.flac', 'broken.mp3'].sort());
    expect(entries.find((x) => x.path.endsWith('broken.mp3'))).toMatchObject({ title: null, isrcs: [] });
  });

  it('finds tracks by ISRC and by tags', async () => {
    const idx = new LibraryIndex(lib);
    expect((await idx.findMatch({ title: 'x', artists: ['y'], isrc: 'usbbb2222222', durationSeconds: null }))?.entry.path).toBe(path.join(lib, 'b.flac'));
    const byTags = await idx.findMatch({ title: 'Hello World', artists: ['ARTIST A'], isrc: null, durationSeconds: 4.5 });
    expect(byTags).toMatchObject({ matchedBy: 'tags', entry: { path: path.join(lib, 'Artist A', 'Album', '01.mp3') } });
    expect(await idx.findMatch({ title: 'Hello World', artists: ['Artist A'], isrc: null, durationSeconds: 9 })).toBeNull();
  });

  it('re-reads tags only for files whose mtime or size changed', async () => {
    const idx = new LibraryIndex(lib);
    await idx.scan();
    const first = idx.stats.tagReads;
    await idx.scan();
    expect(idx.stats.tagReads).toBe(first);
    const later = new Date(Date.now() + 5000);
    await utimes(path.join(lib, 'b.flac'), later, later);
    await idx.scan();
    expect(idx.stats.tagReads).toBe(first + 1);
  });
});
