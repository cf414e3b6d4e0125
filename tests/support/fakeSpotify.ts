/**
 * A fake Spotify Web API for tests (on fakeHttp): the client-credentials token,
 * `/v1/tracks/<id>`, and albums and playlists with their track lists served in
 * pages of `pageSize` (whatever `limit` the client asks for, so two or three
 * entries already need paging). Playlists may hold local files, podcast
 * episodes, removed (null) and unplayable tracks, as the real API reports
 * them. `rateLimitOnce(path)` answers the next request for a path 429 with a
 * Retry-After; unknown ids answer 404 as Spotify does (also for its own
 * editorial playlists).
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startFakeHttp, type FakeHttp, type RecordedRequest } from './fakeHttp.ts';

export interface FakeTrack {
  id: string;
  name: string;
  artists?: string[];
  durationMs?: number;
  isrc?: string;
  /** false: `is_playable: false` (withdrawn in the market). */
  playable?: boolean;
  /** Set: `available_markets` (an empty list: available nowhere). */
  markets?: string[];
}

export type FakePlaylistItem = { track: FakeTrack } | { local: string } | { episode: string } | { removed: true };

export interface FakeSpotify {
  http: FakeHttp;
  /** The settings that point `sfa` at this fake (with credentials). */
  env: Record<string, string>;
  apiBase: string;
  accountsBase: string;
  addTrack(track: FakeTrack): void;
  addAlbum(album: { id: string; name: string; artists: string[]; tracks: FakeTrack[] }): void;
  addPlaylist(playlist: { id: string; name: string; owner: string; items: FakePlaylistItem[] }): void;
  /** The next request whose path is `path` (e.g. `/v1/albums/<id>`) is answered 429 with `Retry-After: seconds`. */
  rateLimitOnce(path: string, seconds: number): void;
  /** Requests to the API (not the token endpoint) whose path starts with `prefix`. */
  apiRequests(prefix: string): RecordedRequest[];
  close(): Promise<void>;
}

const image = (id: string) => [
  { url: `https://i.scdn.co/image/${id}-64`, width: 64, height: 64 },
  { url: `https://i.scdn.co/image/${id}-640`, width: 640, height: 640 },
];

export async function startFakeSpotify(options: { pageSize?: number } = {}): Promise<FakeSpotify> {
  const pageSize = options.pageSize ?? 2;
  const tracks = new Map<string, FakeTrack & { album?: string }>();
  const albums = new Map<string, { id: string; name: string; artists: string[]; tracks: FakeTrack[] }>();
  const playlists = new Map<string, { id: string; name: string; owner: string; items: FakePlaylistItem[] }>();
  const limited = new Map<string, number>();
  let apiBase = '';

  const simplified = (t: FakeTrack) => ({
    id: t.id,
    name: t.name,
    type: 'track',
    is_local: false,
    duration_ms: t.durationMs ?? 2000,
    artists: (t.artists ?? ['Fake Artist']).map((name) => ({ name })),
    ...(t.playable === undefined ? {} : { is_playable: t.playable }),
    ...(t.markets ? { available_markets: t.markets } : {}),
  });
  const playlistItem = (item: FakePlaylistItem) => {
    if ('track' in item) return { is_local: false, track: simplified(item.track) };
    if ('local' in item) return { is_local: true, track: { id: null, name: item.local, type: 'track', is_local: true, duration_ms: 1000, artists: [] } };
    if ('episode' in item) return { is_local: false, track: { id: 'episode0000000000000001', name: item.episode, type: 'episode', duration_ms: 60_000 } };
    return { is_local: false, track: null };
  };
  const pageOf = <T>(all: T[], path: string, offset: number) => {
    const items = all.slice(offset, offset + pageSize);
    const next = offset + pageSize < all.length ? `${apiBase}${path.replace(/^\/v1/, '')}?offset=${offset + pageSize}&limit=${pageSize}` : null;
    return { items, next, total: all.length, offset, limit: pageSize };
  };

  const handler = (req: RecordedRequest, res: ServerResponse) => {
    if (req.method === 'POST' && req.path === '/api/token') return sendJson(res, 200, { access_token: 'fake-token', token_type: 'Bearer', expires_in: 3600 });
    if (req.headers.authorization !== 'Bearer fake-token') return sendJson(res, 401, { error: { status: 401, message: 'No token provided' } });
    const wait = limited.get(req.path);
    if (wait !== undefined) {
      limited.delete(req.path);
      return sendJson(res, 429, { error: { status: 429, message: 'API rate limit exceeded' } }, { 'retry-after': String(wait) });
    }
    const offset = Number(req.query.get('offset') ?? 0);
    let m = /^\/v1\/tracks\/([^/]+)$/.exec(req.path);
    const track = m && tracks.get(m[1]!);
    if (track) {
      return sendJson(res, 200, {
        ...simplified(track),
        album: { name: track.album ?? 'Fake Album', images: image(track.id) },
        external_ids: track.isrc ? { isrc: track.isrc } : {},
        external_urls: { spotify: `https://open.spotify.com/track/${track.id}` },
      });
    }
    m = /^\/v1\/albums\/([^/]+)(\/tracks)?$/.exec(req.path);
    const album = m && albums.get(m[1]!);
    if (m && album) {
      const list = album.tracks.map((t) => simplified({ artists: album.artists, ...t }));
      if (m[2]) return sendJson(res, 200, pageOf(list, req.path, offset));
      return sendJson(res, 200, { id: album.id, name: album.name, artists: album.artists.map((name) => ({ name })), images: image(album.id), total_tracks: list.length, tracks: pageOf(list, `${req.path}/tracks`, 0) });
    }
    m = /^\/v1\/playlists\/([^/]+)(\/tracks)?$/.exec(req.path);
    const playlist = m && playlists.get(m[1]!);
    if (m && playlist) {
      const list = playlist.items.map(playlistItem);
      if (m[2]) return sendJson(res, 200, pageOf(list, req.path, offset));
      return sendJson(res, 200, { id: playlist.id, name: playlist.name, owner: { id: playlist.owner.toLowerCase(), display_name: playlist.owner }, images: image(playlist.id), tracks: pageOf(list, `${req.path}/tracks`, 0) });
    }
    return sendJson(res, 404, { error: { status: 404, message: 'Resource not found' } });
  };

  const http = await startFakeHttp(handler);
  apiBase = `${http.baseUrl}/v1`;
  return {
    http,
    apiBase,
    accountsBase: http.baseUrl,
    env: { SPOTIFY_CLIENT_ID: 'fake-client', SPOTIFY_CLIENT_SECRET: 'fake-secret', SPOTIFY_API_BASE: apiBase, SPOTIFY_ACCOUNTS_BASE: http.baseUrl },
    addTrack: (t) => void tracks.set(t.id, t),
    addAlbum(album) {
      albums.set(album.id, album);
      for (const t of album.tracks) tracks.set(t.id, { artists: album.artists, ...t, album: album.name });
    },
    addPlaylist(playlist) {
      playlists.set(playlist.id, playlist);
      for (const item of playlist.items) if ('track' in item && !tracks.has(item.track.id)) tracks.set(item.track.id, item.track);
    },
    rateLimitOnce: (path, seconds) => void limited.set(path, seconds),
    apiRequests: (prefix) => http.requests.filter((r) => r.path.startsWith(prefix)),
    close: () => http.close(),
  };
}
