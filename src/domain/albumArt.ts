/**
 * The stem player's cover, decided without I/O: which stored album-art URLs
 * the server may fetch (https on Spotify's image hosts only: an allowlist,
 * since the URL is data from outside), and what an image body is, by its
 * magic bytes (never by the sender's Content-Type).
 */

/** Spotify's image CDN hosts; nothing else is fetched. */
export const SPOTIFY_IMAGE_HOSTS: readonly string[] = ['i.scdn.co', 'mosaic.scdn.co', 'image-cdn-ak.spotifycdn.com', 'image-cdn-fa.spotifycdn.com'];
/** Largest cover the server fetches and keeps. */
export const ART_MAX_BYTES = 5 * 1024 * 1024;
/** Whole fetch (connect, headers, body). */
export const ART_TIMEOUT_MS = 10_000;

export type ArtType = 'image/jpeg' | 'image/png' | 'image/webp';

/**
 * The URL to fetch a track's cover from, or undefined when there is none or
 * it is not allowed. `testBase` (tests only) also allows URLs under that base
 * (same origin, path below it), e.g. a local fake art server.
 */
export function artSource(stored: string | null | undefined, testBase?: string): URL | undefined {
  if (!stored) return undefined;
  let url: URL;
  try {
    url = new URL(stored);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  if (url.protocol === 'https:' && url.port === '' && SPOTIFY_IMAGE_HOSTS.includes(url.hostname)) return url;
  if (testBase) {
    const base = new URL(testBase);
    const dir = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    if (url.origin === base.origin && url.pathname.startsWith(dir)) return url;
  }
  return undefined;
}

const startsWith = (bytes: Uint8Array, at: number, sig: readonly number[]) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** JPEG, PNG or WebP by magic bytes; anything else is undefined. */
export function imageType(bytes: Uint8Array): ArtType | undefined {
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, 0, ascii('RIFF')) && startsWith(bytes, 8, ascii('WEBP'))) return 'image/webp';
  return undefined;
}
