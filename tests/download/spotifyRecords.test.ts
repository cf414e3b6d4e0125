/** Albums and playlists from the Spotify Web API, against the fake Spotify in tests/support. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS_NEEDED, EDITORIAL_PLAYLIST, fetchRecordMetadata } from '../../src/jobs/download/spotifyRecords.ts';
import { SpotifyTokenCache, type SpotifyMetadataOptions } from '../../src/jobs/download/spotifyMetadata.ts';
import { SpotifyError } from '../../src/jobs/download/errors.ts';
import { startFakeSpotify, type FakeSpotify } from '../support/fakeSpotify.ts';

const id = (tag: string, n: number) => `${tag}${String(n).padStart(22 - tag.length, '0')}`;
const ALBUM = id('album', 1);
const PLAYLIST = id('list', 1);
const EDITORIAL = '37i9dQZF1DXcBWIGoYBM5M';

let spotify: FakeSpotify;
const opts = (extra: Partial<SpotifyMetadataOptions> = {}): SpotifyMetadataOptions => ({
  apiBase: spotify.apiBase,
  accountsBase: spotify.accountsBase,
  clientId: 'fake-client',
  clientSecret: 'fake-secret',
  timeoutMs: 2000,
  tokenCache: new SpotifyTokenCache(),
  ...extra,
});

beforeAll(async () => {
  spotify = await startFakeSpotify({ pageSize: 2 });
  spotify.addAlbum({
    id: ALBUM,
    name: 'Fake Album',
    artists: ['Band', 'Guest'],
    tracks: [1, 2, 3, 4, 5].map((n) => ({ id: id('trk', n), name: `Song ${n}`, durationMs: 61_000 + n })),
  });
  spotify.addPlaylist({
    id: PLAYLIST,
    name: 'Mixed Bag',
    owner: 'Some DJ',
    items: [
      { track: { id: id('trk', 1), name: 'Song 1' } },
      { local: 'my-demo.mp3' },
      { episode: 'Episode 12' },
      { removed: true },
      { track: { id: id('gone', 1), name: 'Withdrawn', playable: false } },
      { track: { id: id('gone', 2), name: 'Nowhere', markets: [] } },
      { track: { id: id('trk', 9), name: 'Song 9', markets: ['DE'] } },
    ],
  });
});
afterAll(() => spotify?.close());

describe('fetchRecordMetadata', () => {
  it('reads an album over three pages, in order, with its card', async () => {
    const before = spotify.apiRequests(`/v1/albums/${ALBUM}`).length;
    const album = await fetchRecordMetadata('album', ALBUM, opts());
    expect(album).toMatchObject({
      kind: 'album',
      spotifyId: ALBUM,
      name: 'Fake Album',
      by: 'Band, Guest',
      artUrl: `https://i.scdn.co/image/${ALBUM}-640`,
      url: `https://open.spotify.com/album/${ALBUM}`,
    });
    expect(album.tracks.map((t) => [t.position, t.title, t.spotifyId])).toEqual([1, 2, 3, 4, 5].map((n) => [n, `Song ${n}`, id('trk', n)]));
    expect(album.tracks[0]).toMatchObject({ artists: ['Band', 'Guest'], durationSeconds: 61 });
    const pages = spotify.apiRequests(`/v1/albums/${ALBUM}`).slice(before);
    expect(pages.map((r) => r.url)).toEqual([`/v1/albums/${ALBUM}`, `/v1/albums/${ALBUM}/tracks?offset=2&limit=50`, `/v1/albums/${ALBUM}/tracks?offset=4&limit=50`]);
  });

  it('reads a playlist over pages and keeps every entry that cannot run with its reason', async () => {
    const list = await fetchRecordMetadata('playlist', PLAYLIST, opts());
    expect(list).toMatchObject({ kind: 'playlist', name: 'Mixed Bag', by: 'Some DJ', artUrl: `https://i.scdn.co/image/${PLAYLIST}-640` });
    expect(list.tracks.map((t) => ({ position: t.position, title: t.title, spotifyId: t.spotifyId, skip: t.skip }))).toEqual([
      { position: 1, title: 'Song 1', spotifyId: id('trk', 1), skip: undefined },
      { position: 2, title: 'my-demo.mp3', spotifyId: undefined, skip: expect.stringMatching(/^a local file/) },
      { position: 3, title: 'Episode 12', spotifyId: undefined, skip: 'a podcast episode, not a song' },
      { position: 4, title: 'unavailable track', spotifyId: undefined, skip: 'no longer available on Spotify (removed)' },
      { position: 5, title: 'Withdrawn', spotifyId: undefined, skip: 'not playable on Spotify' },
      { position: 6, title: 'Nowhere', spotifyId: undefined, skip: 'not available on Spotify in any country' },
      { position: 7, title: 'Song 9', spotifyId: id('trk', 9), skip: undefined },
    ]);
    expect(spotify.apiRequests(`/v1/playlists/${PLAYLIST}/tracks`).map((r) => r.query.get('offset'))).toEqual(['2', '4', '6']);
  });

  it('explains a 404 playlist in plain words (Spotify-owned playlists answer 404 to new apps)', async () => {
    const error = (await fetchRecordMetadata('playlist', EDITORIAL, opts()).catch((e: unknown) => e)) as SpotifyError;
    expect(error).toBeInstanceOf(SpotifyError);
    expect(error.code).toBe('spotify_not_found');
    expect(error.userMessage).toBe(EDITORIAL_PLAYLIST);
    expect(error.userMessage).toMatch(/Playlists made by Spotify itself .* answer "not found" to apps registered since late 2024/);
  });

  it('a 404 album says there is no such album', async () => {
    await expect(fetchRecordMetadata('album', id('nope', 1), opts())).rejects.toMatchObject({ code: 'spotify_not_found', userMessage: expect.stringMatching(/^Spotify has no album with id/) });
  });

  it('waits out a 429 with Retry-After, then goes on', async () => {
    spotify.rateLimitOnce(`/v1/albums/${ALBUM}/tracks`, 1);
    const started = performance.now();
    const album = await fetchRecordMetadata('album', ALBUM, opts());
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(album.tracks).toHaveLength(5);
  });

  it('does not wait longer than the bound: a long Retry-After fails at once as rate-limited', async () => {
    spotify.rateLimitOnce(`/v1/playlists/${PLAYLIST}`, 3600);
    const started = performance.now();
    const error = (await fetchRecordMetadata('playlist', PLAYLIST, opts({ maxRetryAfterSeconds: 5 })).catch((e: unknown) => e)) as SpotifyError;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toMatchObject({ code: 'spotify_rate_limited', retryable: true, userMessage: expect.stringMatching(/try again in 3600 s/) });
  });

  it('without credentials names exactly the settings that enable it, and asks nothing of Spotify', async () => {
    const before = spotify.http.requests.length;
    for (const missing of [{ clientId: undefined }, { clientSecret: undefined }]) {
      const error = (await fetchRecordMetadata('album', ALBUM, opts(missing)).catch((e: unknown) => e)) as SpotifyError;
      expect(error).toMatchObject({ code: 'spotify_credentials_missing', userMessage: CREDENTIALS_NEEDED });
    }
    expect(CREDENTIALS_NEEDED).toMatch(/set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/);
    expect(spotify.http.requests.length).toBe(before);
  });

  it('refuses a malformed id before asking', async () => {
    await expect(fetchRecordMetadata('album', '../../me', opts())).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('rejected credentials are an auth error', async () => {
    const error = (await fetchRecordMetadata('album', ALBUM, opts({ accountsBase: `${spotify.accountsBase}/nowhere` })).catch((e: unknown) => e)) as SpotifyError;
    expect(error).toBeInstanceOf(SpotifyError);
    expect(['spotify_auth', 'spotify_bad_response']).toContain(error.code);
  });
});
