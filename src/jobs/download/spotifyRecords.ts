/**
 * An album's or a playlist's track list from the Spotify Web API (client
 * credentials; oEmbed has no track lists): the record's name, artists or
 * owner and art, and every entry in Spotify's order with paging. Entries that
 * cannot run (local files, podcast episodes, removed or unplayable tracks)
 * stay in the list, with the reason, so the numbers match what the user sees
 * in Spotify. Each track is later looked up on its own by the download worker.
 *
 * Next pages are asked for by offset on the configured API base, never by
 * following the `next` address an answer names.
 */
import { z } from 'zod';
import type { RecordEntry } from '../../domain/batchPlan.ts';
import { canonicalSpotifyUrl, SPOTIFY_ID_PATTERN } from '../../domain/spotifyInput.ts';
import { MAX_TRACK_NUMBER } from '../../domain/trackSelection.ts';
import { SpotifyError } from './errors.ts';
import { badResponse, SpotifyHttp, trimSlash, widestImageUrl, type SpotifyMetadataOptions } from './spotifyMetadata.ts';

export type RecordKind = 'album' | 'playlist';

export interface RecordTrack extends RecordEntry {
  artists: string[];
  durationSeconds: number | null;
}

export interface RecordMetadata {
  kind: RecordKind;
  spotifyId: string;
  name: string;
  /** An album's artists, or a playlist's owner. */
  by: string | null;
  artUrl: string | null;
  url: string;
  tracks: RecordTrack[];
}

export const CREDENTIALS_NEEDED =
  'Albums and playlists need the Spotify Web API, which needs app credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET ' +
  '(create a free app at https://developer.spotify.com/dashboard). Links to single tracks work without them.';

export const EDITORIAL_PLAYLIST =
  'Spotify answered that this playlist does not exist. Playlists made by Spotify itself (editorial ones such as "Today\'s Top Hits" ' +
  'and personal mixes such as "Discover Weekly", "Release Radar" or a "Daily Mix") answer "not found" to apps registered since late 2024, ' +
  'and private playlists do too. Copy its tracks into a public playlist of your own (in the Spotify app: select all, Add to playlist) and use that link.';

const ALBUM_PAGE = 50;
const PLAYLIST_PAGE = 100;

const Image = z.object({ url: z.string(), width: z.number().nullish() });
const Artist = z.object({ name: z.string() });
const Track = z.object({
  id: z.string().nullish(),
  name: z.string().nullish(),
  type: z.string().nullish(),
  duration_ms: z.number().nullish(),
  artists: z.array(Artist).nullish(),
  is_local: z.boolean().nullish(),
  is_playable: z.boolean().nullish(),
  available_markets: z.array(z.string()).nullish(),
  restrictions: z.object({ reason: z.string().nullish() }).nullish(),
});
const page = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), next: z.string().nullish(), total: z.number().nullish() });
const AlbumPage = page(Track);
const PlaylistItem = z.object({ is_local: z.boolean().nullish(), track: Track.nullish() });
const PlaylistPage = page(PlaylistItem);
const Album = z.object({ name: z.string().min(1), artists: z.array(Artist).default([]), images: z.array(Image).default([]), tracks: AlbumPage });
const Playlist = z.object({
  name: z.string().min(1),
  owner: z.object({ display_name: z.string().nullish(), id: z.string().nullish() }).nullish(),
  images: z.array(Image).nullish(),
  tracks: PlaylistPage,
});

type TrackObject = z.infer<typeof Track>;

/** Throws SpotifyError: credentials missing, not found (in plain words for playlists), rate limited, unreachable. */
export async function fetchRecordMetadata(kind: RecordKind, spotifyId: string, opts: SpotifyMetadataOptions): Promise<RecordMetadata> {
  if (!opts.clientId || !opts.clientSecret) throw new SpotifyError('spotify_credentials_missing', CREDENTIALS_NEEDED);
  if (!SPOTIFY_ID_PATTERN.test(spotifyId)) throw new SpotifyError('invalid_input', `That is not a Spotify ${kind} id.`);
  const http = new SpotifyHttp(opts);
  const base = `${trimSlash(opts.apiBase)}/${kind}s/${spotifyId}`;
  const notFound = () =>
    kind === 'playlist' ? new SpotifyError('spotify_not_found', EDITORIAL_PLAYLIST) : new SpotifyError('spotify_not_found', `Spotify has no album with id ${spotifyId}. Check the link.`);
  const get = async <T extends z.ZodTypeAny>(url: string, schema: T): Promise<z.infer<T>> => {
    const parsed = schema.safeParse(await http.apiGet(url, { notFound, lookups: `${kind} lookups` }));
    if (!parsed.success) throw badResponse(opts.apiBase, parsed.error.message);
    return parsed.data;
  };

  if (kind === 'album') {
    const album = await get(base, Album);
    const objects = await allPages(album.tracks, (offset) => get(`${base}/tracks?offset=${offset}&limit=${ALBUM_PAGE}`, AlbumPage));
    return {
      kind,
      spotifyId,
      name: album.name,
      by: album.artists.length ? album.artists.map((a) => a.name).join(', ') : null,
      artUrl: widestImageUrl(album.images),
      url: canonicalSpotifyUrl(kind, spotifyId),
      tracks: objects.map((t, i) => entryOf(i + 1, t, false)),
    };
  }
  const playlist = await get(base, Playlist);
  const items = await allPages(playlist.tracks, (offset) => get(`${base}/tracks?offset=${offset}&limit=${PLAYLIST_PAGE}`, PlaylistPage));
  return {
    kind,
    spotifyId,
    name: playlist.name,
    by: playlist.owner?.display_name ?? playlist.owner?.id ?? null,
    artUrl: widestImageUrl(playlist.images ?? []),
    url: canonicalSpotifyUrl(kind, spotifyId),
    tracks: items.map((item, i) => (item.track ? entryOf(i + 1, item.track, item.is_local ?? false) : removed(i + 1))),
  };
}

/** The first page's items and those of the pages after it, asked for by offset until Spotify says there is no next page. */
async function allPages<T>(first: { items: T[]; next?: string | null | undefined }, pageAt: (offset: number) => Promise<{ items: T[]; next?: string | null | undefined }>): Promise<T[]> {
  const items = [...first.items];
  for (let next = first.next; next && items.length < MAX_TRACK_NUMBER; ) {
    const more = await pageAt(items.length);
    if (more.items.length === 0) break; // a page without items would ask for the same offset forever
    items.push(...more.items);
    next = more.next;
  }
  return items;
}

function entryOf(position: number, t: TrackObject, localItem: boolean): RecordTrack {
  const title = t.name?.trim() || (t.type === 'episode' ? 'podcast episode' : 'unknown track');
  const base = { position, title, artists: (t.artists ?? []).map((a) => a.name), durationSeconds: typeof t.duration_ms === 'number' ? Math.round(t.duration_ms / 100) / 10 : null };
  const skip = skipReason(t, localItem);
  return skip ? { ...base, skip } : { ...base, spotifyId: t.id! };
}

/** Why an entry cannot run, or undefined when it can. */
function skipReason(t: TrackObject, localItem: boolean): string | undefined {
  if (localItem || t.is_local) return 'a local file (it lives on the owner\'s computer, not on Spotify)';
  if (t.type === 'episode') return 'a podcast episode, not a song';
  if (t.is_playable === false) return `not playable on Spotify${t.restrictions?.reason ? ` (${t.restrictions.reason})` : ''}`;
  if (Array.isArray(t.available_markets) && t.available_markets.length === 0) return 'not available on Spotify in any country';
  if (!t.id || !SPOTIFY_ID_PATTERN.test(t.id)) return 'not available on Spotify (no track id)';
  return undefined;
}

function removed(position: number): RecordTrack {
  return { position, title: 'unavailable track', artists: [], durationSeconds: null, skip: 'no longer available on Spotify (removed)' };
}
