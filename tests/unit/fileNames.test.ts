/** The download's file name and its Content-Disposition header. */
import { describe, expect, it } from 'vitest';
import { asciiSlug, contentDisposition, downloadFileName, rfc5987, unicodeSlug } from '../../src/bot/files/names.ts';

describe('download file names', () => {
  it('slugs the title in any script, and in ASCII for old clients', () => {
    expect(downloadFileName('Björk – Jóga (Live) 東京', 'vocals', 'wav')).toEqual({
      unicode: 'björk-jóga-live-東京-vocals.wav',
      ascii: 'bjork-joga-live-vocals.wav',
    });
    expect(downloadFileName('Song Title', 'drums', 'FLAC')).toEqual({ unicode: 'song-title-drums.flac', ascii: 'song-title-drums.flac' });
  });

  it('keeps nothing of a title that could make a path, a header or markup', () => {
    const name = downloadFileName('../../etc/passwd"; filename=evil.exe\r\nX-Bad: 1', 'bass', 'mp3');
    expect(name.ascii).toBe('etc-passwd-filename-evil-exe-x-bad-1-bass.mp3');
    expect(name.unicode).toBe(name.ascii);
    expect(contentDisposition(name)).not.toMatch(/[\r\n]|\.\.\//);
  });

  it('falls back to the stem name without a usable title', () => {
    expect(downloadFileName('', 'other', 'wav')).toEqual({ unicode: 'other.wav', ascii: 'other.wav' });
    expect(downloadFileName(null, 'other', 'wav').ascii).toBe('other.wav');
    expect(downloadFileName('東京', 'piano', 'wav')).toEqual({ unicode: '東京-piano.wav', ascii: 'piano.wav' });
    expect(downloadFileName('🎵🎵', 'guitar', 'ogg').ascii).toBe('guitar.ogg');
  });

  it('cuts long titles at a word, and a single long word at the limit', () => {
    const long = downloadFileName(`${'word '.repeat(40)}end`, 'vocals', 'wav').ascii;
    expect(long.length).toBeLessThanOrEqual(80 + '-vocals.wav'.length);
    expect(long).toMatch(/^(word-)+word-vocals\.wav$/);
    expect(unicodeSlug('x'.repeat(200))).toHaveLength(80);
    expect(asciiSlug('Ça va, café?')).toBe('ca-va-cafe');
  });

  it('encodes filename* per RFC 5987 and keeps the quoted name plain ASCII', () => {
    expect(rfc5987("it's (a) *test* é")).toBe('it%27s%20%28a%29%20%2Atest%2A%20%C3%A9');
    expect(contentDisposition({ unicode: 'björk-vocals.wav', ascii: 'bjork-vocals.wav' })).toBe(
      `attachment; filename="bjork-vocals.wav"; filename*=UTF-8''bj%C3%B6rk-vocals.wav`,
    );
  });
});
