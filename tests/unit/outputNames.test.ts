import { describe, expect, it } from 'vitest';
import { defaultStemsFolder, safeSlug, stemFileName } from '../../src/domain/outputNames.ts';

const ID = '3f2a9c1e-1234-4abc-8def-0123456789ab';

describe('safeSlug', () => {
  it.each([
    ['My Song', 'my-song'],
    ['  Café del Mar (Remix) ', 'cafe-del-mar-remix'],
    ['Beyoncé — Ünïcödé', 'beyonce-unicode'],
    ['../../etc/passwd', 'etc-passwd'],
    ['..', ''],
    ['.', ''],
    ['a/b\\c', 'a-b-c'],
    ['rm -rf $(whoami); `id` | tee *', 'rm-rf-whoami-id-tee'],
    ['tab\tnew\nline\u0000nul', 'tab-new-line-nul'],
    ['東京', ''],
    ['🎵🎶', ''],
    ['---a---b---', 'a-b'],
    ['MiXeD123', 'mixed123'],
    ['ﬁle', 'file'], // compatibility ligature folded
    ['', ''],
  ])('%j -> %j', (text, slug) => {
    expect(safeSlug(text)).toBe(slug);
  });

  it('is bounded and never ends with a dash after cutting', () => {
    expect(safeSlug('a'.repeat(500))).toHaveLength(60);
    expect(safeSlug(`${'a'.repeat(9)} bcd`, 10)).toBe('aaaaaaaaa');
    expect(safeSlug('abc', 0)).toBe('a');
  });

  it('only ever yields [a-z0-9-]', () => {
    let all = '';
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
    expect(safeSlug(all, 10_000)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });
});

describe('defaultStemsFolder', () => {
  it('slug of the title, first 8 of the track id, model', () => {
    expect(defaultStemsFolder('My Song', ID, 'htdemucs')).toBe('my-song-3f2a9c1e-htdemucs');
    expect(defaultStemsFolder('My Song', ID.toUpperCase(), 'htdemucs_6s')).toBe('my-song-3f2a9c1e-htdemucs-6s');
  });
  it('falls back to "track" when the title has nothing usable', () => {
    expect(defaultStemsFolder('..', ID, 'htdemucs')).toBe('track-3f2a9c1e-htdemucs');
    expect(defaultStemsFolder(null, ID, 'htdemucs')).toBe('track-3f2a9c1e-htdemucs');
    expect(defaultStemsFolder(undefined, ID, 'htdemucs')).toBe('track-3f2a9c1e-htdemucs');
  });
  it('refuses a track id that is not a UUID', () => {
    expect(() => defaultStemsFolder('x', '../../x', 'htdemucs')).toThrow(RangeError);
  });
  it('is a single path segment for any title', () => {
    for (const title of ['/', '..', 'a/../../b', '\\\\server\\share', 'C:\\x']) {
      const name = defaultStemsFolder(title, ID, 'htdemucs');
      expect(name).not.toMatch(/[/\\]/);
      expect(name.startsWith('.')).toBe(false);
    }
  });
});

describe('stemFileName', () => {
  it('stem name and extension, extension normalised', () => {
    expect(stemFileName('vocals', 'wav')).toBe('vocals.wav');
    expect(stemFileName('drums', '.FLAC')).toBe('drums.flac');
  });
  it.each([
    ['../x', 'wav'],
    ['Vocals', 'wav'],
    ['vocals', ''],
    ['vocals', 'wav/../x'],
    ['vocals', 'toolong'],
    ['', 'wav'],
  ])('refuses %j . %j', (stem, ext) => {
    expect(() => stemFileName(stem, ext)).toThrow(RangeError);
  });
});
