import { describe, expect, it } from 'vitest';
import {
  EXPECTED_TRACK,
  MAX_INPUT_LENGTH,
  SHORT_LINK_REASON,
  canonicalSpotifyUrl,
  classifyInput,
  parseSpotifyInput,
  parseSpotifyRecord,
  parseSpotifyTrack,
} from '../../src/domain/spotifyInput.ts';

const ID = '4uLU6hMCjMI75M1A2tKUQC';
const ID2 = '37i9dQZF1DXcBWIGoYBM5M';
const TRACK = `https://open.spotify.com/track/${ID}`;

type Row = [label: string, input: string, expected: { kind: 'track' | 'album' | 'playlist'; id?: string } | RegExp];

const NOT_SPOTIFY = /not a Spotify link/;
const MALFORMED = /malformed id/;
const CREDENTIALS = /user name, password or port/;
const SCHEME = /Only https:\/\/ links/;
const NOT_TRACK = /not a track link/;

const ROWS: Row[] = [
  // Accepted track links
  ['canonical https', TRACK, { kind: 'track' }],
  ['http', `http://open.spotify.com/track/${ID}`, { kind: 'track' }],
  ['no scheme', `open.spotify.com/track/${ID}`, { kind: 'track' }],
  ['upper-case scheme and host', `HTTPS://OPEN.Spotify.COM/track/${ID}`, { kind: 'track' }],
  ['?si= share parameter', `${TRACK}?si=a1b2c3d4e5f64a7b`, { kind: 'track' }],
  ['several query parameters', `${TRACK}?si=abc&context=spotify%3Aalbum%3A${ID2}&nd=1`, { kind: 'track' }],
  ['fragment', `${TRACK}#0:42`, { kind: 'track' }],
  ['trailing slash', `${TRACK}/`, { kind: 'track' }],
  ['trailing slash then query', `${TRACK}/?si=x`, { kind: 'track' }],
  ['intl-de locale', `https://open.spotify.com/intl-de/track/${ID}?si=x`, { kind: 'track' }],
  ['intl-pt locale', `https://open.spotify.com/intl-pt/track/${ID}`, { kind: 'track' }],
  ['intl with region', `https://open.spotify.com/intl-pt-br/track/${ID}`, { kind: 'track' }],
  ['embed link', `https://open.spotify.com/embed/track/${ID}?utm_source=generator`, { kind: 'track' }],
  ['legacy play.spotify.com', `https://play.spotify.com/track/${ID}`, { kind: 'track' }],
  ['spotify: URI', `spotify:track:${ID}`, { kind: 'track' }],
  ['spotify: URI, upper-case scheme', `Spotify:track:${ID}`, { kind: 'track' }],
  ['surrounding whitespace and newline', `  \n${TRACK}\t `, { kind: 'track' }],
  ["Discord's <url> no-embed syntax", `<${TRACK}?si=x>`, { kind: 'track' }],
  ['brackets with spaces inside', `< ${TRACK} >`, { kind: 'track' }],
  ['digit-only id', 'https://open.spotify.com/track/1234567890123456789012', { kind: 'track', id: '1234567890123456789012' }],
  // Recognised, not supported yet (callers say so)
  ['album', `https://open.spotify.com/album/${ID2}?si=x`, { kind: 'album', id: ID2 }],
  ['playlist', `https://open.spotify.com/playlist/${ID2}`, { kind: 'playlist', id: ID2 }],
  ['intl playlist', `open.spotify.com/intl-fr/playlist/${ID2}/`, { kind: 'playlist', id: ID2 }],
  ['album URI', `spotify:album:${ID2}`, { kind: 'album', id: ID2 }],
  ['legacy user playlist link', `https://open.spotify.com/user/spotify/playlist/${ID2}`, { kind: 'playlist', id: ID2 }],
  ['legacy user playlist URI', `spotify:user:spotify:playlist:${ID2}`, { kind: 'playlist', id: ID2 }],
  // Other Spotify things
  ['artist', `https://open.spotify.com/artist/${ID}`, /link to an artist, not a track/],
  ['artist URI', `spotify:artist:${ID}`, /link to an artist/],
  ['show', `https://open.spotify.com/show/${ID}`, /podcast show/],
  ['episode', `https://open.spotify.com/intl-de/episode/${ID}`, /podcast episode/],
  ['user profile', 'https://open.spotify.com/user/someone', /user profile/],
  ['home page', 'https://open.spotify.com/', NOT_TRACK],
  ['extra path segment', `${TRACK}/extra`, NOT_TRACK],
  ['double slash', `https://open.spotify.com//track/${ID}`, NOT_TRACK],
  ['prototype key as kind', `spotify:constructor:${ID}`, NOT_TRACK],
  ['spotify.link short link', 'https://spotify.link/AbCdEfGhIjK', /Short Spotify links.*paste that/],
  ['spotify.link without scheme', 'spotify.link/AbCdEfGhIjK', /Short Spotify links/],
  ['spotify.app.link', 'https://spotify.app.link/AbCdEfGhIjK?_p=x', /Short Spotify links/],
  // Malformed ids
  ['21-char id', `https://open.spotify.com/track/${ID.slice(1)}`, MALFORMED],
  ['23-char id', `https://open.spotify.com/track/${ID}X`, MALFORMED],
  ['empty id', 'https://open.spotify.com/track/', MALFORMED],
  ['id with dash', `https://open.spotify.com/track/${ID.slice(0, 21)}-`, MALFORMED],
  ['id with underscore', `https://open.spotify.com/track/${ID.slice(0, 21)}_`, MALFORMED],
  ['percent-encoded id', `https://open.spotify.com/track/%34${ID.slice(1)}`, MALFORMED],
  ['non-ASCII digit in id', `https://open.spotify.com/track/${ID.slice(0, 21)}٣`, MALFORMED],
  ['URI with short id', 'spotify:track:abc', MALFORMED],
  ['URI with extra part', `spotify:track:${ID}:x`, /not a track URI/],
  // Hostile hosts
  ['other host', `https://example.com/track/${ID}`, NOT_SPOTIFY],
  ['suffix attack', `https://open.spotify.com.evil.com/track/${ID}`, NOT_SPOTIFY],
  ['prefix attack', `https://evilspotify.com/track/${ID}`, NOT_SPOTIFY],
  ['lookalike subdomain', `https://open-spotify.com/track/${ID}`, NOT_SPOTIFY],
  ['bare spotify.com', `https://spotify.com/track/${ID}`, NOT_SPOTIFY],
  ['www host', `https://www.spotify.com/track/${ID}`, NOT_SPOTIFY],
  ['trailing-dot host', `https://open.spotify.com./track/${ID}`, NOT_SPOTIFY],
  ['userinfo trick', `https://open.spotify.com@evil.com/track/${ID}`, CREDENTIALS],
  ['userinfo before real host', `https://user:pass@open.spotify.com/track/${ID}`, CREDENTIALS],
  ['backslash userinfo trick', `https://open.spotify.com\\@evil.com/track/${ID}`, CREDENTIALS],
  ['explicit port', `https://open.spotify.com:8443/track/${ID}`, CREDENTIALS],
  ['port without scheme', `open.spotify.com:443/track/${ID}`, CREDENTIALS],
  ['unicode look-alike í', `https://open.spotífy.com/track/${ID}`, NOT_SPOTIFY],
  ['Cyrillic о', `https://оpen.spotify.com/track/${ID}`, NOT_SPOTIFY],
  ['punycode host', `https://open.xn--spotfy-0ua.com/track/${ID}`, NOT_SPOTIFY],
  ['percent-encoded dot in host', `https://open%2Espotify.com/track/${ID}`, NOT_SPOTIFY],
  ['protocol-relative', `//open.spotify.com/track/${ID}`, NOT_SPOTIFY],
  ['path on another host', `https://evil.com/open.spotify.com/track/${ID}`, NOT_SPOTIFY],
  // Hostile schemes and shapes
  ['javascript: scheme', `javascript:alert(1)//open.spotify.com/track/${ID}`, SCHEME],
  ['data: scheme', `data:text/html,open.spotify.com/track/${ID}`, SCHEME],
  ['file: scheme', `file:///open.spotify.com/track/${ID}`, SCHEME],
  ['ftp: scheme', `ftp://open.spotify.com/track/${ID}`, SCHEME],
  ['https without slashes', `https:open.spotify.com/track/${ID}`, /Expected a Spotify track link/],
  ['zero-width space', `https://open.spotify.com/track/\u200b${ID}`, /invisible characters/],
  ['right-to-left override', `https://open.spotify.com/track/${ID}\u202e`, /invisible characters/],
  ['two links', `${TRACK} ${TRACK}`, /spaces or invisible/],
  ['NUL byte', `${TRACK}\u0000`, /invisible/],
  ['empty', '', /No link given/],
  ['whitespace only', ' \n\t ', /No link given/],
  ['empty brackets', '<>', /No link given/],
  ['plain words', 'never gonna give you up', /spaces/],
  ['bare id', ID, NOT_SPOTIFY],
];

describe('parseSpotifyInput', () => {
  it('has a table of at least 40 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(ROWS)('%s', (_label, input, expected) => {
    const result = parseSpotifyInput(input);
    if (expected instanceof RegExp) {
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.reason).toMatch(expected);
      // Every reason says what was expected and never echoes the (possibly hostile) input.
      expect(result.reason).toContain('Expected a Spotify track link like https://open.spotify.com/track/<22-character id>');
      const own = result.reason.replace(EXPECTED_TRACK, '');
      if (input.trim().length > 3) expect(own).not.toContain(input.trim());
      expect(result.reason).not.toMatch(/evil|alert|xn--/);
    } else {
      const id = expected.id ?? ID;
      expect(result).toEqual({ ok: true, kind: expected.kind, id, url: `https://open.spotify.com/${expected.kind}/${id}` });
    }
  });

  it('rejects over-long input and says so', () => {
    const long = `${TRACK}?si=${'a'.repeat(MAX_INPUT_LENGTH)}`;
    const result = parseSpotifyInput(long);
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/too long.*limit is 2048/) });
    expect(parseSpotifyInput(`${TRACK}?si=${'a'.repeat(MAX_INPUT_LENGTH - TRACK.length - 4)}`).ok).toBe(true);
  });

  it('tells people to open short links first', () => {
    expect(SHORT_LINK_REASON).toMatch(/open\.spotify\.com\/track/);
    expect(SHORT_LINK_REASON).toContain(EXPECTED_TRACK);
  });

  it('builds canonical URLs from the id alone', () => {
    expect(canonicalSpotifyUrl('track', ID)).toBe(TRACK);
  });

  it('does not throw on non-string input from untyped callers', () => {
    expect(parseSpotifyInput(undefined as unknown as string).ok).toBe(false);
  });
});

describe('parseSpotifyTrack', () => {
  it('passes tracks and problems through', () => {
    expect(parseSpotifyTrack(`<${TRACK}?si=x>`)).toEqual({ ok: true, kind: 'track', id: ID, url: TRACK });
    expect(parseSpotifyTrack(`https://open.spotify.com/artist/${ID}`)).toEqual(parseSpotifyInput(`https://open.spotify.com/artist/${ID}`));
  });

  it.each(['album', 'playlist'])('says where %ss go when one track is expected', (kind) => {
    const result = parseSpotifyTrack(`https://open.spotify.com/${kind}/${ID2}`);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(new RegExp(`^A Spotify ${kind} is several tracks and this takes one; \`/separate\`, \`/analyze\`, \`sfa separate\` and \`sfa analyze\` take whole ${kind}s\\.`)) });
  });
});

describe('classifyInput', () => {
  it.each([
    [TRACK, { ok: true, kind: 'track', id: ID, url: TRACK }],
    [`<spotify:track:${ID}>`, { ok: true, kind: 'track', id: ID, url: TRACK }],
    [`open.spotify.com/album/${ID2}`, { ok: true, kind: 'album', id: ID2, url: `https://open.spotify.com/album/${ID2}` }],
    ['https://example.com/audio/song.mp3', { ok: true, kind: 'url', url: 'https://example.com/audio/song.mp3' }],
    ['http://example.com:8080/a.flac?x=1#t', { ok: true, kind: 'url', url: 'http://example.com:8080/a.flac?x=1#t' }],
    ['<https://cdn.example.org/a%20b.wav>', { ok: true, kind: 'url', url: 'https://cdn.example.org/a%20b.wav' }],
    ['HTTPS://Example.COM/A.mp3', { ok: true, kind: 'url', url: 'https://example.com/A.mp3' }],
    ['https://p.scdn.co/mp3-preview/abc', { ok: true, kind: 'url', url: 'https://p.scdn.co/mp3-preview/abc' }],
  ])('accepts %s', (input, expected) => {
    expect(classifyInput(input)).toEqual(expected);
  });

  it.each([
    ['https://user:pw@example.com/a.mp3', /user name or password/],
    ['https://user@example.com/a.mp3', /user name or password/],
    ['https://:@example.com/a.mp3', /user name or password/],
    ['javascript:alert(1)', /Only http\(s\) links/],
    ['data:audio/mpeg;base64,AAAA', /Only http\(s\) links/],
    ['file:///etc/passwd', /Only http\(s\) links/],
    ['ftp://example.com/a.mp3', /Only http\(s\) links/],
    ['example.com/song.mp3', /must start with https:\/\//],
    ['https://exämple.com/a.mp3', /non-ASCII/],
    ['https://xn--exmple-cua.com/a.mp3', /non-ASCII/],
    ['https://open.spotífy.com/track/' + ID, /non-ASCII/],
    [`https://оpen.spotify.com/track/${ID}`, /not a Spotify link/],
    [`https://open.spotify.com.evil.com/track/${ID}`, /not a Spotify link/],
    [`https://evilspotify.com/song.mp3`, /not a Spotify link/],
    [`https://open.spotify.com/artist/${ID}`, /artist/],
    ['https://spotify.link/abc', /Short Spotify links/],
    ['https:/example.com/a.mp3', /Expected a Spotify track link/],
    ['https://', /not a valid address|no host/],
    ['hello', /Expected a Spotify track link.*or a direct http\(s\) link/],
    ['', /No link given/],
    ['x'.repeat(3000), /too long/],
  ])('rejects %s', (input, reason) => {
    const result = classifyInput(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('parseSpotifyRecord', () => {
  const ALBUM = `https://open.spotify.com/album/${ID2}`;
  const PLAYLIST = `https://open.spotify.com/playlist/${ID2}`;
  it.each([
    ['album link', `${ALBUM}?si=x`, 'album'],
    ['http album', `http://open.spotify.com/album/${ID2}`, 'album'],
    ['no scheme', `open.spotify.com/album/${ID2}`, 'album'],
    ['upper case', `HTTPS://OPEN.SPOTIFY.COM/album/${ID2}`, 'album'],
    ['fragment', `${ALBUM}#x`, 'album'],
    ['trailing slash and query', `${ALBUM}/?si=x`, 'album'],
    ['intl album', `https://open.spotify.com/intl-pt-br/album/${ID2}`, 'album'],
    ['embed album', `https://open.spotify.com/embed/album/${ID2}?utm_source=generator`, 'album'],
    ['play.spotify.com album', `https://play.spotify.com/album/${ID2}`, 'album'],
    ['album URI', `spotify:album:${ID2}`, 'album'],
    ['brackets', `<${ALBUM}>`, 'album'],
    ['whitespace', `  ${ALBUM}\n`, 'album'],
    ['playlist link', PLAYLIST, 'playlist'],
    ['intl playlist', `open.spotify.com/intl-fr/playlist/${ID2}/`, 'playlist'],
    ['embed playlist', `https://open.spotify.com/embed/playlist/${ID2}`, 'playlist'],
    ['playlist URI', `spotify:playlist:${ID2}`, 'playlist'],
    ['legacy user playlist link', `https://open.spotify.com/user/spotify/playlist/${ID2}`, 'playlist'],
    ['legacy user playlist URI', `spotify:user:someone:playlist:${ID2}`, 'playlist'],
  ])('%s', (_label, input, kind) => {
    expect(parseSpotifyRecord(input)).toEqual({ ok: true, kind, id: ID2, url: `https://open.spotify.com/${kind}/${ID2}` });
  });

  it.each([
    ['a track', TRACK],
    ['a track URI', `spotify:track:${ID}`],
    ['a direct URL', 'https://example.com/album/song.mp3'],
    ['a file path', './album/playlist.mp3'],
    ['a malformed album id', 'https://open.spotify.com/album/short'],
    ['a look-alike host', `https://open.spotify.com.evil.example/album/${ID2}`],
    ['an artist', `https://open.spotify.com/artist/${ID2}`],
    ['a short link', 'https://spotify.link/abc'],
    ['nothing', ''],
  ])('is undefined for %s', (_label, input) => {
    expect(parseSpotifyRecord(input)).toBeUndefined();
  });
});
