/**
 * The option checks of /separate and /analyze (pure): which songs, models and
 * formats are accepted, and the exact message a user gets otherwise.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, MODEL_NAMES } from '../../src/domain/modelCatalog.ts';
import { EXPECTED_TRACK } from '../../src/domain/spotifyInput.ts';
import {
  AUDIO_FILE_EXTENSIONS,
  describeSource,
  parseAnalyzeOptions,
  parseSeparateOptions,
  type RawSourceOptions,
} from '../../src/commands/sourceOptions.ts';

const LIMITS = { maxFileBytes: 200 * 1024 * 1024 };
const ID = '4uLU6hMCjMI75M1A2tKUQC';
const TRACK = `https://open.spotify.com/track/${ID}`;
const CDN = 'https://cdn.discordapp.com/attachments/1/2/song.mp3';
const file = (name: string, contentType: string | null, size = 1000) => ({ name, contentType, size, url: CDN });
const NEED_SONG = 'Give me a song: `url:` with a Spotify track, album or playlist link or a direct link to an audio file, or attach an audio file with `file:`.';
const UNKNOWN_MODEL = (m: string) => `Unknown model "${m}". Valid models: ${MODEL_NAMES.join(', ')} (default ${DEFAULT_MODEL}). \`/models\` describes them.`;

function problem(raw: RawSourceOptions): string {
  const parsed = parseSeparateOptions(raw, LIMITS);
  if (parsed.ok) throw new Error(`expected a problem for ${JSON.stringify(raw)}`);
  return parsed.message;
}

describe('/separate options: the song', () => {
  it('accepts a Spotify track link, rebuilt from its id', () => {
    expect(parseSeparateOptions({ url: `<${TRACK}?si=abc>` }, LIMITS)).toEqual({
      ok: true,
      value: { source: { kind: 'spotify', spotifyId: ID, url: TRACK }, model: undefined, format: undefined },
    });
    expect(parseSeparateOptions({ url: `spotify:track:${ID}` }, LIMITS)).toMatchObject({ ok: true, value: { source: { kind: 'spotify', spotifyId: ID } } });
  });

  it('accepts a direct http(s) audio link', () => {
    expect(parseSeparateOptions({ url: 'https://example.com/music/song.mp3' }, LIMITS)).toMatchObject({
      ok: true,
      value: { source: { kind: 'url', url: 'https://example.com/music/song.mp3' } },
    });
  });

  it('accepts album and playlist links and URIs, narrowed by tracks:', () => {
    const album = { kind: 'album', id: ID, url: `https://open.spotify.com/album/${ID}` };
    expect(parseSeparateOptions({ url: `https://open.spotify.com/intl-de/album/${ID}?si=x` }, LIMITS)).toEqual({
      ok: true,
      value: { source: { kind: 'record', record: { ok: true, ...album }, tracks: undefined }, model: undefined, format: undefined },
    });
    expect(parseSeparateOptions({ url: `spotify:album:${ID}`, tracks: ' 5-7, 1,3 ,3' }, LIMITS)).toMatchObject({
      ok: true,
      value: { source: { kind: 'record', record: album, tracks: [1, 3, 5, 6, 7] } },
    });
    expect(parseAnalyzeOptions({ url: `spotify:user:someone:playlist:${ID}`, tracks: '2' }, LIMITS)).toMatchObject({
      ok: true,
      value: { source: { kind: 'record', record: { kind: 'playlist', id: ID }, tracks: [2] } },
    });
  });

  it('refuses albums and playlists at once when the bot has no Spotify app credentials, naming the settings', () => {
    const without = { ...LIMITS, spotifyCredentials: false };
    for (const url of [`https://open.spotify.com/album/${ID}`, `spotify:playlist:${ID}`]) {
      expect(parseSeparateOptions({ url }, without)).toEqual({ ok: false, message: expect.stringMatching(/^Albums and playlists need the Spotify Web API, which needs app credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/) });
    }
    expect(parseAnalyzeOptions({ url: TRACK }, without).ok).toBe(true);
  });

  it.for([
    ['a backwards range', { url: `https://open.spotify.com/album/${ID}`, tracks: '7-5' }, '`tracks:`: the range 7-5 runs backwards; write 5-7'],
    ['track 0', { url: `https://open.spotify.com/playlist/${ID}`, tracks: '0,1' }, '`tracks:`: track numbers start at 1 (the first track is 1, not 0)'],
    ['words', { url: `https://open.spotify.com/album/${ID}`, tracks: 'all' }, '`tracks:`: "all" is not a track number or a range (like 1,3,5-7)'],
    ['a track link', { url: TRACK, tracks: '1' }, '`tracks:` picks tracks of an album or playlist; give a Spotify album or playlist link with it, or leave it out.'],
    ['a file', { file: file('a.flac', 'audio/flac'), tracks: '1' }, '`tracks:` picks tracks of an album or playlist; give a Spotify album or playlist link with it, or leave it out.'],
  ] as const)('refuses tracks: with %s', ([, raw, expected]) => {
    expect(problem(raw)).toBe(expected);
  });

  it.for([
    ['artist', `https://open.spotify.com/artist/${ID}`, /^That is a Spotify link to an artist, not a track\./],
    ['short link', 'https://spotify.link/abc', /^Short Spotify links \(spotify\.link\) cannot be followed here\./],
    ['malformed id', 'https://open.spotify.com/track/abc', /malformed id/],
    ['ftp', 'ftp://example.com/a.mp3', /^Only http\(s\) links are accepted\./],
    ['no scheme', 'example.com/a.mp3', /^Links must start with https:\/\//],
    ['credentials', 'https://user:pw@example.com/a.mp3', /user name or password/],
    ['two links', `${TRACK} ${TRACK}`, /doesn't look like a single link/],
    ['plain words', 'nevergonnagiveyouup', /^Expected a Spotify track link/],
  ] as const)('refuses %s with a specific message', ([, url, expected]) => {
    const message = problem({ url });
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
    // Never echoes what was pasted (it comes from chat).
    if (url.length > 12) expect(message).not.toContain(url);
  });

  it('needs exactly one of url and file', () => {
    expect(problem({})).toBe(NEED_SONG);
    expect(problem({ url: null, file: null, model: null, format: null })).toBe(NEED_SONG);
    expect(problem({ url: '   ' })).toBe(NEED_SONG);
    expect(problem({ url: TRACK, file: file('a.mp3', 'audio/mpeg') })).toBe('Give either `url:` or `file:`, not both: one song per request.');
  });

  it('accepts an audio attachment by content type or by extension', () => {
    expect(parseSeparateOptions({ file: file('song.mp3', 'audio/mpeg') }, LIMITS)).toEqual({
      ok: true,
      value: { source: { kind: 'file', name: 'song.mp3', url: CDN, size: 1000, contentType: 'audio/mpeg' }, model: undefined, format: undefined },
    });
    expect(parseSeparateOptions({ file: file('take 3', 'audio/x-wav; charset=binary') }, LIMITS).ok).toBe(true);
    for (const ext of AUDIO_FILE_EXTENSIONS) {
      expect(parseSeparateOptions({ file: file(`Song.${ext.toUpperCase()}`, null) }, LIMITS).ok, ext).toBe(true);
      expect(parseSeparateOptions({ file: file(`song.${ext}`, 'application/octet-stream') }, LIMITS).ok, ext).toBe(true);
    }
  });

  it('refuses an attachment that is not audio, is empty, or is over SFA_MAX_FILE_MB', () => {
    expect(problem({ file: file('cover.png', 'image/png') })).toBe(
      '"cover.png" is not an audio file (image/png). Attach an audio file (MP3, WAV, FLAC, OGG, M4A, ...), or give a link with `url:`.',
    );
    expect(problem({ file: file('notes', null) })).toBe('"notes" is not an audio file. Attach an audio file (MP3, WAV, FLAC, OGG, M4A, ...), or give a link with `url:`.');
    expect(problem({ file: file('song.mp3', 'audio/mpeg', 0) })).toBe('"song.mp3" is empty. Attach the audio file again.');
    expect(problem({ file: file('long.wav', 'audio/wav', LIMITS.maxFileBytes + 1) })).toBe(
      '"long.wav" is 200.0 MB; the largest file I take is 200.0 MB. Attach a compressed version (MP3 or FLAC), or give a link with `url:`.',
    );
    expect(parseSeparateOptions({ file: file('max.wav', 'audio/wav', LIMITS.maxFileBytes) }, LIMITS).ok).toBe(true);
  });

  it('shows a user-supplied file name printable, clipped and without markdown', () => {
    const message = problem({ file: file(`**bold**\u202e${'x'.repeat(100)}.png`, 'image/png') });
    expect(message).toMatch(/^"bold\?x{52}\.\.\." is not an audio file/);
  });
});

describe('/separate options: model and format', () => {
  it('accepts every catalog model and every format', () => {
    for (const model of MODEL_NAMES) {
      for (const format of ['wav', 'flac', 'mp3']) {
        expect(parseSeparateOptions({ url: TRACK, model, format }, LIMITS)).toMatchObject({ ok: true, value: { model, format } });
      }
    }
    expect(parseSeparateOptions({ url: TRACK, format: 'FLAC' }, LIMITS)).toMatchObject({ ok: true, value: { format: 'flac' } });
  });

  it('refuses an unknown model or format, naming the valid ones', () => {
    expect(problem({ url: TRACK, model: 'demucs_v9' })).toBe(UNKNOWN_MODEL('demucs_v9'));
    expect(problem({ url: TRACK, model: 'HTDEMUCS' })).toBe(UNKNOWN_MODEL('HTDEMUCS'));
    expect(problem({ url: TRACK, format: 'ogg' })).toBe('Unknown format "ogg". Use wav, flac, mp3.');
  });

  it('reports every problem at once, one per line', () => {
    expect(problem({ model: 'nope', format: 'aiff' }).split('\n')).toEqual([NEED_SONG, UNKNOWN_MODEL('nope'), 'Unknown format "aiff". Use wav, flac, mp3.']);
  });
});

describe('/analyze options', () => {
  it('takes a song only', () => {
    expect(parseAnalyzeOptions({ url: TRACK }, LIMITS)).toEqual({ ok: true, value: { source: { kind: 'spotify', spotifyId: ID, url: TRACK } } });
    expect(parseAnalyzeOptions({ file: file('a.flac', 'audio/flac') }, LIMITS)).toMatchObject({ ok: true, value: { source: { kind: 'file' } } });
    expect(parseAnalyzeOptions({}, LIMITS)).toEqual({ ok: false, message: NEED_SONG });
    expect(parseAnalyzeOptions({ url: 'https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M' }, LIMITS)).toMatchObject({ ok: true, value: { source: { kind: 'record' } } });
  });
});

describe('describeSource', () => {
  it('names the song without repeating a whole link', () => {
    expect(describeSource({ kind: 'spotify', spotifyId: ID, url: TRACK })).toBe(`Spotify track ${ID}`);
    expect(describeSource({ kind: 'url', url: 'https://music.example.com:8443/a/b.mp3?token=secret' })).toBe('the audio at music.example.com:8443');
    expect(describeSource({ kind: 'file', name: 'my*song.mp3', url: CDN, size: 1, contentType: null })).toBe('"mysong.mp3"');
  });
});
