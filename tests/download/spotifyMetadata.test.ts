import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closedPortUrl, sendJson, startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { fetchTrackMetadata, SpotifyTokenCache, type SpotifyMetadataOptions } from '../../src/jobs/download/spotifyMetadata.ts';
import { SpotifyError } from '../../src/jobs/download/errors.ts';

const ID = '4cOdK2wGLETKBW3PvgPWqT';
const trackJson = {
  id: ID,
  name: 'Never Gonna Give You Up',
  duration_ms: 213573,
  artists: [{ name: 'Rick Astley' }],
  album: { name: 'Whenever You Need Somebody', images: [{ url: 'https://i.scdn.co/small', width: 64 }, { url: 'https://i.scdn.co/big', width: 640 }] },
  external_ids: { isrc: 'gbarl9300135' },
  external_urls: { spotify: `https://open.spotify.com/track/${ID}` },
};

let server: FakeHttp;
let tokens: number;
let cache: SpotifyTokenCache;

function opts(extra: Partial<SpotifyMetadataOptions> = {}): SpotifyMetadataOptions {
  return {
    apiBase: `${server.baseUrl}/v1`,
    accountsBase: server.baseUrl,
    clientId: 'client-id',
    clientSecret: 's3cret-value',
    timeoutMs: 2000,
    tokenCache: cache,
    ...extra,
  };
}

beforeEach(async () => {
  tokens = 0;
  cache = new SpotifyTokenCache();
  server = await startFakeHttp((req, res) => {
    if (req.method === 'POST' && req.path === '/api/token') {
      tokens++;
      return sendJson(res, 200, { access_token: `tok${tokens}`, token_type: 'Bearer', expires_in: 3600 });
    }
    if (req.path === `/v1/tracks/${ID}`) return sendJson(res, 200, trackJson);
    sendJson(res, 404, { error: { status: 404, message: 'Not found' } });
  });
});
afterEach(() => server.close());

describe('fetchTrackMetadata with credentials (Web API)', () => {
  it('gets a client-credentials token and maps the track', async () => {
    const t = await fetchTrackMetadata(ID, opts());
    expect(t).toEqual({
      spotifyId: ID,
      title: 'Never Gonna Give You Up',
      artist: 'Rick Astley',
      artists: ['Rick Astley'],
      album: 'Whenever You Need Somebody',
      albumArtUrl: 'https://i.scdn.co/big',
      durationSeconds: 213.6,
      isrc: 'GBARL9300135',
      url: `https://open.spotify.com/track/${ID}`,
      source: 'api',
    });
    const tokenReq = server.requests.find((r) => r.path === '/api/token')!;
    expect(tokenReq.headers.authorization).toBe(`Basic ${Buffer.from('client-id:s3cret-value').toString('base64')}`);
    expect(tokenReq.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(tokenReq.body).toBe('grant_type=client_credentials');
    expect(server.requests.find((r) => r.path.startsWith('/v1/'))!.headers.authorization).toBe('Bearer tok1');
  });

  it('caches the token until expiry', async () => {
    await fetchTrackMetadata(ID, opts());
    await fetchTrackMetadata(ID, opts());
    expect(tokens).toBe(1);
  });

  it('refreshes the token once on 401', async () => {
    let calls = 0;
    server.setHandler((req, res) => {
      if (req.path === '/api/token') return sendJson(res, 200, { access_token: `tok${++tokens}`, expires_in: 3600 });
      calls++;
      if (req.headers.authorization === 'Bearer tok1') return sendJson(res, 401, { error: { status: 401, message: 'expired' } });
      sendJson(res, 200, trackJson);
    });
    const t = await fetchTrackMetadata(ID, opts());
    expect(t.title).toBe('Never Gonna Give You Up');
    expect(tokens).toBe(2);
    expect(calls).toBe(2);
  });

  it('gives up after one refresh when 401 persists', async () => {
    server.setHandler((req, res) => {
      if (req.path === '/api/token') return sendJson(res, 200, { access_token: `tok${++tokens}`, expires_in: 3600 });
      sendJson(res, 401, {});
    });
    await expect(fetchTrackMetadata(ID, opts())).rejects.toMatchObject({ code: 'spotify_auth' });
    expect(tokens).toBe(2);
  });

  it('says which track does not exist on 404', async () => {
    const err = await fetchTrackMetadata('0000000000000000000000', opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpotifyError);
    expect((err as SpotifyError).code).toBe('spotify_not_found');
    expect((err as SpotifyError).userMessage).toContain('Spotify has no track with id 0000000000000000000000');
  });

  it('honours a short Retry-After on 429', async () => {
    let n = 0;
    server.setHandler((req, res) => {
      if (req.path === '/api/token') return sendJson(res, 200, { access_token: 'tok', expires_in: 3600 });
      if (++n === 1) return sendJson(res, 429, {}, { 'retry-after': '1' });
      sendJson(res, 200, trackJson);
    });
    const started = Date.now();
    const t = await fetchTrackMetadata(ID, opts());
    expect(t.title).toBe('Never Gonna Give You Up');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('fails at once when Retry-After exceeds the cap', async () => {
    server.setHandler((req, res) => {
      if (req.path === '/api/token') return sendJson(res, 200, { access_token: 'tok', expires_in: 3600 });
      sendJson(res, 429, {}, { 'retry-after': '3600' });
    });
    const started = Date.now();
    const err = (await fetchTrackMetadata(ID, opts({ maxRetryAfterSeconds: 5 })).catch((e: unknown) => e)) as SpotifyError;
    expect(err.code).toBe('spotify_rate_limited');
    expect(err.userMessage).toMatch(/try again in 3600 s/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports rejected credentials without leaking the secret', async () => {
    server.setHandler((req, res) => sendJson(res, 400, { error: 'invalid_client' }));
    const err = (await fetchTrackMetadata(ID, opts()).catch((e: unknown) => e)) as SpotifyError;
    expect(err.code).toBe('spotify_auth');
    expect(err.userMessage).toMatch(/SPOTIFY_CLIENT_ID/);
    expect(`${err.message} ${err.userMessage} ${err.stack}`).not.toContain('s3cret-value');
  });

  it('rejects ids that are not Spotify ids before any request', async () => {
    await expect(fetchTrackMetadata('../../me', opts())).rejects.toMatchObject({ code: 'invalid_input' });
    expect(server.requests).toHaveLength(0);
  });

  it('fails fast and clearly when Spotify is unreachable', async () => {
    const dead = await closedPortUrl();
    const started = Date.now();
    const err = (await fetchTrackMetadata(ID, opts({ apiBase: `${dead}/v1`, accountsBase: dead })).catch((e: unknown) => e)) as SpotifyError;
    expect(err.code).toBe('spotify_unreachable');
    expect(err.userMessage).toMatch(/^Could not reach Spotify \(127\.0\.0\.1:\d+\): connection refused/);
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out on a server that never answers', async () => {
    server.setHandler(() => new Promise(() => undefined));
    const started = Date.now();
    const err = (await fetchTrackMetadata(ID, opts({ timeoutMs: 300 })).catch((e: unknown) => e)) as SpotifyError;
    expect(err.code).toBe('spotify_unreachable');
    expect(err.userMessage).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('maps DNS failures (ENOTFOUND) through an injected fetch', async () => {
    const fetchImpl = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND accounts.spotify.com'), { code: 'ENOTFOUND' }) });
    }) as typeof fetch;
    const err = (await fetchTrackMetadata(ID, opts({ accountsBase: 'https://accounts.spotify.com', fetchImpl })).catch((e: unknown) => e)) as SpotifyError;
    expect(err.userMessage).toMatch(/^Could not reach Spotify \(accounts\.spotify\.com\): host name not found/);
  });
});

describe('fetchTrackMetadata without credentials (oEmbed)', () => {
  it('uses oEmbed and leaves unknown fields null', async () => {
    server.setHandler((req, res) => {
      if (req.path === '/oembed') {
        return sendJson(res, 200, { html: '<iframe></iframe>', type: 'rich', version: '1.0', provider_name: 'Spotify', title: 'Never Gonna Give You Up', thumbnail_url: 'https://image-cdn/x.jpg', thumbnail_width: 300 });
      }
      sendJson(res, 404, {});
    });
    const t = await fetchTrackMetadata(ID, opts({ clientId: undefined, clientSecret: undefined, oembedBase: server.baseUrl }));
    expect(t).toEqual({
      spotifyId: ID,
      title: 'Never Gonna Give You Up',
      artist: null,
      artists: [],
      album: null,
      albumArtUrl: 'https://image-cdn/x.jpg',
      durationSeconds: null,
      isrc: null,
      url: `https://open.spotify.com/track/${ID}`,
      source: 'oembed',
    });
    expect(server.requests[0]!.query.get('url')).toBe(`https://open.spotify.com/track/${ID}`);
  });

  it('404 from oEmbed means no such track', async () => {
    server.setHandler((req, res) => sendJson(res, 404, {}));
    await expect(fetchTrackMetadata(ID, opts({ clientId: undefined, oembedBase: server.baseUrl }))).rejects.toMatchObject({ code: 'spotify_not_found' });
  });

  it('unreachable oEmbed host fails fast', async () => {
    const dead = await closedPortUrl();
    await expect(fetchTrackMetadata(ID, opts({ clientId: undefined, oembedBase: dead }))).rejects.toMatchObject({ code: 'spotify_unreachable' });
  });
});
