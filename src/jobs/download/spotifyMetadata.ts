import { z } from 'zod';
import type { Config } from '../../config.ts';
import { SPOTIFY_ID_PATTERN } from '../../domain/spotifyInput.ts';
import { SpotifyError, describeFetchFailure, cancelledError } from './errors.ts';

export interface TrackMetadata {
  spotifyId: string;
  title: string;
  /** All artists joined with ", "; null when only oEmbed was available. */
  artist: string | null;
  /** Artists one by one (names can contain commas); empty with oEmbed. */
  artists: string[];
  album: string | null;
  albumArtUrl: string | null;
  durationSeconds: number | null;
  isrc: string | null;
  url: string;
  /** Where the fields came from: the Web API (complete) or oEmbed (title + art only). */
  source: 'api' | 'oembed';
}

export interface SpotifyMetadataOptions {
  apiBase: string;
  accountsBase: string;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** Host that serves `/oembed`; default https://open.spotify.com. */
  oembedBase?: string | undefined;
  fetchImpl?: typeof fetch;
  /** Per-request timeout. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Longest Retry-After we are willing to wait on a 429 (default 10 s). */
  maxRetryAfterSeconds?: number;
  tokenCache?: SpotifyTokenCache;
}

/** The Web API hosts and credentials of the configuration (workers' track lookups and the CLI's record lookups alike). */
export function spotifyOptionsFrom(config: Config, signal?: AbortSignal): SpotifyMetadataOptions {
  const creds = config.spotify.credentials;
  return {
    apiBase: config.spotify.apiBase,
    accountsBase: config.spotify.accountsBase,
    ...(creds ? { clientId: creds.clientId, clientSecret: creds.clientSecret.reveal() } : {}),
    timeoutMs: 15_000,
    signal,
  };
}

/** The URL of the widest image Spotify lists (album art), or null. */
export function widestImageUrl(images: readonly { url: string; width?: number | null | undefined }[]): string | null {
  return [...images].sort((a, b) => (b.width ?? 0) - (a.width ?? 0))[0]?.url ?? null;
}

/** Client-credentials tokens, cached until shortly before they expire. */
export class SpotifyTokenCache {
  private entries = new Map<string, { token: string; expiresAt: number }>();
  get(key: string, now = Date.now()): string | undefined {
    const e = this.entries.get(key);
    return e && e.expiresAt > now ? e.token : undefined;
  }
  set(key: string, token: string, expiresInSeconds: number, now = Date.now()): void {
    // refresh a minute early so a token never expires mid-request
    this.entries.set(key, { token, expiresAt: now + Math.max(0, expiresInSeconds - 60) * 1000 });
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
  clear(): void {
    this.entries.clear();
  }
}

export const defaultTokenCache = new SpotifyTokenCache();


const TokenResponse = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });
const TrackResponse = z.object({
  id: z.string(),
  name: z.string().min(1),
  duration_ms: z.number().nonnegative(),
  artists: z.array(z.object({ name: z.string() })).default([]),
  album: z
    .object({
      name: z.string().optional(),
      images: z.array(z.object({ url: z.string(), width: z.number().nullish() })).default([]),
    })
    .optional(),
  external_ids: z.object({ isrc: z.string().optional() }).partial().optional(),
  external_urls: z.object({ spotify: z.string().optional() }).partial().optional(),
});
const OEmbedResponse = z.object({ title: z.string().min(1), thumbnail_url: z.string().optional() });

export async function fetchTrackMetadata(trackId: string, opts: SpotifyMetadataOptions): Promise<TrackMetadata> {
  if (!SPOTIFY_ID_PATTERN.test(trackId)) {
    throw new SpotifyError('invalid_input', `"${trackId.slice(0, 40)}" is not a Spotify track id. Paste a link like https://open.spotify.com/track/…`);
  }
  const client = new SpotifyHttp(opts);
  if (opts.clientId && opts.clientSecret) return client.trackFromApi(trackId);
  return client.trackFromOEmbed(trackId);
}

/** Spotify's HTTP side: the client-credentials token, the Web API and oEmbed, with timeouts, cancellation and rate limits. */
export class SpotifyHttp {
  private readonly opts: SpotifyMetadataOptions;
  private readonly fetchImpl: typeof fetch;
  private readonly cache: SpotifyTokenCache;
  constructor(opts: SpotifyMetadataOptions) {
    this.opts = opts;
    this.fetchImpl = opts.fetchImpl ?? fetch;
    this.cache = opts.tokenCache ?? defaultTokenCache;
  }

  async trackFromApi(trackId: string): Promise<TrackMetadata> {
    const notFound = () =>
      new SpotifyError('spotify_not_found', `Spotify has no track with id ${trackId}. Check the link (it should be a track, not an album or playlist).`);
    const parsed = TrackResponse.safeParse(await this.apiGet(`${trimSlash(this.opts.apiBase)}/tracks/${trackId}`, { notFound, lookups: 'track lookups' }));
    if (!parsed.success) throw badResponse(this.opts.apiBase, parsed.error.message);
    const t = parsed.data;
    return {
      spotifyId: trackId,
      title: t.name,
      artist: t.artists.length ? t.artists.map((a) => a.name).join(', ') : null,
      artists: t.artists.map((a) => a.name),
      album: t.album?.name ?? null,
      albumArtUrl: widestImageUrl(t.album?.images ?? []),
      durationSeconds: Math.round(t.duration_ms / 100) / 10,
      isrc: t.external_ids?.isrc?.toUpperCase() ?? null,
      url: t.external_urls?.spotify ?? canonicalTrackUrl(trackId),
      source: 'api',
    };
  }

  /**
   * One Web API GET with the client-credentials token: a 401 fetches a new token once, a 429
   * waits its Retry-After (at most twice, each at most maxRetryAfterSeconds), 404/400 become
   * `notFound()`. Returns the parsed JSON body.
   */
  async apiGet(url: string, what: { notFound: () => SpotifyError; lookups: string }): Promise<unknown> {
    let refreshed = false;
    for (let rateLimitRetries = 0; ; ) {
      const token = await this.token(false);
      const res = await this.request(url, { headers: { authorization: `Bearer ${token}` } }, this.opts.apiBase);
      if (res.status === 401 && !refreshed) {
        // token revoked or expired early: fetch a new one, once
        refreshed = true;
        this.cache.delete(this.cacheKey());
        await res.body?.cancel();
        continue;
      }
      if (res.status === 429 && rateLimitRetries < 2) {
        rateLimitRetries++;
        await this.waitRetryAfter(res);
        continue;
      }
      if (res.status === 404 || res.status === 400) {
        await res.body?.cancel();
        throw what.notFound();
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new SpotifyError('spotify_auth', `Spotify refused our credentials for ${what.lookups}. Check SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET, or unset them to use title-only lookups.`, { detail: `HTTP ${res.status}` });
      }
      if (res.status === 429) throw rateLimited(res);
      if (!res.ok) throw await badStatus(res, this.opts.apiBase);
      return readJson(res, this.opts.apiBase);
    }
  }

  async trackFromOEmbed(trackId: string): Promise<TrackMetadata> {
    const base = trimSlash(this.opts.oembedBase ?? 'https://open.spotify.com');
    const trackUrl = canonicalTrackUrl(trackId);
    const res = await this.request(`${base}/oembed?url=${encodeURIComponent(trackUrl)}`, {}, base);
    if (res.status === 404 || res.status === 400) {
      await res.body?.cancel();
      throw new SpotifyError('spotify_not_found', `Spotify has no track with id ${trackId}. Check the link (it should be a track, not an album or playlist).`);
    }
    if (res.status === 429) throw rateLimited(res);
    if (!res.ok) throw await badStatus(res, base);
    const parsed = OEmbedResponse.safeParse(await readJson(res, base));
    if (!parsed.success) throw badResponse(base, parsed.error.message);
    // oEmbed's `title` is the track name only; artist, album, duration and ISRC
    // are not part of it, so they stay null rather than being guessed.
    return {
      spotifyId: trackId,
      title: parsed.data.title,
      artist: null,
      artists: [],
      album: null,
      albumArtUrl: parsed.data.thumbnail_url ?? null,
      durationSeconds: null,
      isrc: null,
      url: trackUrl,
      source: 'oembed',
    };
  }

  private cacheKey(): string {
    return `${trimSlash(this.opts.accountsBase)}|${this.opts.clientId}`;
  }

  private async token(force: boolean): Promise<string> {
    const key = this.cacheKey();
    const cached = force ? undefined : this.cache.get(key);
    if (cached) return cached;
    const basic = Buffer.from(`${this.opts.clientId}:${this.opts.clientSecret}`).toString('base64');
    const res = await this.request(
      `${trimSlash(this.opts.accountsBase)}/api/token`,
      {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      },
      this.opts.accountsBase,
    );
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new SpotifyError('spotify_auth', 'Spotify rejected the client credentials. Check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, or unset both to use title-only lookups.', { detail: `token endpoint HTTP ${res.status}` });
    }
    if (res.status === 429) throw rateLimited(res);
    if (!res.ok) throw await badStatus(res, this.opts.accountsBase);
    const parsed = TokenResponse.safeParse(await readJson(res, this.opts.accountsBase));
    if (!parsed.success) throw badResponse(this.opts.accountsBase, 'token response without access_token');
    this.cache.set(key, parsed.data.access_token, parsed.data.expires_in);
    return parsed.data.access_token;
  }

  private async request(url: string, init: RequestInit, base: string): Promise<Response> {
    const signals = [AbortSignal.timeout(this.opts.timeoutMs)];
    if (this.opts.signal) signals.push(this.opts.signal);
    try {
      return await this.fetchImpl(url, { ...init, signal: AbortSignal.any(signals), redirect: 'follow' });
    } catch (err) {
      if (this.opts.signal?.aborted) throw cancelledError('The Spotify lookup');
      throw new SpotifyError(
        'spotify_unreachable',
        `Could not reach Spotify (${hostOf(base)}): ${describeFetchFailure(err)}. Check the server's internet connection and try again.`,
        { retryable: true, cause: err },
      );
    }
  }

  private async waitRetryAfter(res: Response): Promise<void> {
    const seconds = retryAfterSeconds(res);
    const cap = this.opts.maxRetryAfterSeconds ?? 10;
    await res.body?.cancel();
    if (seconds > cap) throw rateLimited(res);
    await sleep(seconds * 1000, this.opts.signal);
  }
}

function retryAfterSeconds(res: Response): number {
  const raw = Number(res.headers.get('retry-after'));
  return Number.isFinite(raw) && raw >= 0 ? raw : 1;
}

function rateLimited(res: Response): SpotifyError {
  const s = Math.ceil(retryAfterSeconds(res));
  return new SpotifyError('spotify_rate_limited', `Spotify is rate-limiting the bot right now; try again in ${s} s.`, { retryable: true });
}

async function badStatus(res: Response, base: string): Promise<SpotifyError> {
  await res.body?.cancel();
  return new SpotifyError('spotify_bad_response', `Spotify (${hostOf(base)}) answered HTTP ${res.status}; try again in a few minutes.`, { retryable: res.status >= 500 });
}

export function badResponse(base: string, detail: string): SpotifyError {
  return new SpotifyError('spotify_bad_response', `Spotify (${hostOf(base)}) sent an answer we could not read; try again later.`, { detail, retryable: true });
}

async function readJson(res: Response, base: string): Promise<unknown> {
  try {
    return await res.json();
  } catch (err) {
    throw badResponse(base, err instanceof Error ? err.message : String(err));
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError('The Spotify lookup'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(cancelledError('The Spotify lookup'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function canonicalTrackUrl(trackId: string): string {
  return `https://open.spotify.com/track/${trackId}`;
}

export function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function hostOf(base: string): string {
  try {
    return new URL(base).host;
  } catch {
    return base;
  }
}
