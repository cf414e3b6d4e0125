/**
 * Parsing what a user pastes as a song: a Spotify link/URI, or a direct audio URL.
 *
 * Spotify links are matched lexically against an allow-list (exact host, exact
 * path shape) rather than "parse with URL and look at hostname", so userinfo,
 * ports, look-alike hosts and odd encodings are rejected by construction. The
 * returned URL is rebuilt from the id; nothing the user typed is passed on.
 * Reasons are user-facing and never echo the input (it comes from chat).
 */

export const MAX_INPUT_LENGTH = 2048;
export const SPOTIFY_ID_PATTERN = /^[0-9A-Za-z]{22}$/;

export type SpotifyKind = 'track' | 'album' | 'playlist';
export type SpotifyRef = { ok: true; kind: SpotifyKind; id: string; url: string };
export type InputProblem = { ok: false; reason: string };
export type SpotifyInput = SpotifyRef | InputProblem;
export type DirectUrl = { ok: true; kind: 'url'; url: string };
export type ClassifiedInput = SpotifyRef | DirectUrl | InputProblem;

const EXAMPLE = 'https://open.spotify.com/track/<22-character id>';
export const EXPECTED_TRACK = `Expected a Spotify track link like ${EXAMPLE}.`;
const EXPECTED_ANY = `Expected a Spotify track link like ${EXAMPLE}, or a direct http(s) link to an audio file.`;

// Following a short link needs the network; the domain core stays offline and the user can do it in a second.
export const SHORT_LINK_REASON =
  'Short Spotify links (spotify.link) cannot be followed here. Open the link in a browser or the Spotify app, ' +
  `copy the full open.spotify.com/track/… link from there and paste that. ${EXPECTED_TRACK}`;

const SPOTIFY_HOSTS = new Set(['open.spotify.com', 'play.spotify.com']);
const SHORT_LINK_HOSTS = new Set(['spotify.link', 'spotify.app.link', 'spoti.fi']);
const KINDS = new Set<string>(['track', 'album', 'playlist']);
const OTHER_KIND_NAMES = new Map(Object.entries({
  artist: 'an artist',
  show: 'a podcast show',
  episode: 'a podcast episode',
  user: 'a user profile',
  audiobook: 'an audiobook',
  chapter: 'an audiobook chapter',
  genre: 'a genre page',
  search: 'a search',
  collection: 'a library page',
  concert: 'a concert',
  prerelease: 'a pre-release page',
}));

const fail = (reason: string): InputProblem => ({ ok: false, reason });

export function canonicalSpotifyUrl(kind: SpotifyKind, id: string): string {
  return `https://open.spotify.com/${kind}/${id}`;
}

/** Trims whitespace and one pair of Discord's `<url>` (suppress-embed) brackets. */
function unwrap(raw: string): string {
  let s = raw.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1).trim();
  return s;
}

/** Shared pre-checks; returns the cleaned input or a problem. */
function clean(raw: string, expected: string): string | InputProblem {
  if (typeof raw !== 'string') return fail(`No link given. ${expected}`);
  const s = unwrap(raw);
  if (s === '') return fail(`No link given. ${expected}`);
  if (s.length > MAX_INPUT_LENGTH) {
    return fail(`That input is too long (${s.length} characters; the limit is ${MAX_INPUT_LENGTH}). ${expected}`);
  }
  // Whitespace/control characters inside a link mean two things were pasted, or something hostile.
  if (/[\s\p{Cc}\p{Cf}]/u.test(s)) return fail(`That doesn't look like a single link (it contains spaces or invisible characters). ${expected}`);
  return s;
}

function kindProblem(segment: string): InputProblem | undefined {
  const what = OTHER_KIND_NAMES.get(segment);
  return what ? fail(`That is a Spotify link to ${what}, not a track. ${EXPECTED_TRACK}`) : undefined;
}

function refFor(kind: string, id: string): SpotifyInput {
  if (!KINDS.has(kind)) return kindProblem(kind) ?? fail(`That Spotify link is not a track link. ${EXPECTED_TRACK}`);
  if (!SPOTIFY_ID_PATTERN.test(id)) {
    return fail(`That Spotify ${kind} link has a malformed id (it must be exactly 22 letters and digits). ${EXPECTED_TRACK}`);
  }
  return { ok: true, kind: kind as SpotifyKind, id, url: canonicalSpotifyUrl(kind as SpotifyKind, id) };
}

/** `spotify:track:<id>`, plus the legacy `spotify:user:<name>:playlist:<id>`. */
function parseUri(s: string): SpotifyInput {
  const parts = s.split(':');
  if (parts.length === 5 && parts[1] === 'user' && parts[3] === 'playlist') return refFor('playlist', parts[4] ?? '');
  if (parts.length === 3) return refFor(parts[1] ?? '', parts[2] ?? '');
  if (parts.length >= 2 && OTHER_KIND_NAMES.has(parts[1] ?? '')) return kindProblem(parts[1] ?? '')!;
  return fail(`That Spotify URI is not a track URI like spotify:track:<22-character id>. ${EXPECTED_TRACK}`);
}

/** Path of an open.spotify.com link, without query/fragment. */
function parsePath(path: string): SpotifyInput {
  // A trailing slash is common in pasted links; empty segments elsewhere are not.
  const segments = (path.endsWith('/') ? path.slice(0, -1) : path).split('/').slice(1);
  if (/^intl-[a-z]{2}(?:-[a-z]{2})?$/i.test(segments[0] ?? '')) segments.shift();
  if (segments[0] === 'embed') segments.shift();
  // Legacy playlist links: /user/<name>/playlist/<id>.
  if (segments.length === 4 && segments[0] === 'user' && segments[2] === 'playlist' && /^[^%]+$/.test(segments[1] ?? '')) {
    return refFor('playlist', segments[3] ?? '');
  }
  const [kind = '', id = ''] = segments;
  if (segments.length === 2 || (segments.length === 1 && KINDS.has(kind))) return refFor(kind, id);
  return kindProblem(kind) ?? fail(`That Spotify link is not a track link. ${EXPECTED_TRACK}`);
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** Parses a Spotify link or URI; albums and playlists are recognised so a caller that takes one track can say where they go. */
export function parseSpotifyInput(raw: string): SpotifyInput {
  const s = clean(raw, EXPECTED_TRACK);
  if (typeof s !== 'string') return s;

  const scheme = SCHEME.exec(s)?.[1]?.toLowerCase();
  if (scheme === 'spotify') return parseUri(s);

  let rest: string;
  if (scheme === 'http' || scheme === 'https') {
    if (!s.slice(scheme.length + 1).startsWith('//')) return fail(EXPECTED_TRACK);
    rest = s.slice(scheme.length + 3);
  } else if (scheme !== undefined && !/^[a-z0-9.-]+:\d/i.test(s)) {
    // Any other scheme (javascript:, data:, file:, ...); "host:port" is not a scheme and falls through to the host check.
    return fail(`Only https:// links are accepted. ${EXPECTED_TRACK}`);
  } else {
    rest = s; // no scheme: "open.spotify.com/track/..."
  }

  const end = rest.search(/[/?#]/);
  const authority = (end === -1 ? rest : rest.slice(0, end)).toLowerCase();
  const afterAuthority = end === -1 ? '' : rest.slice(end);
  if (SHORT_LINK_HOSTS.has(authority)) return fail(SHORT_LINK_REASON);
  if (!SPOTIFY_HOSTS.has(authority)) {
    if (/[@:]/.test(authority)) return fail(`Links with a user name, password or port are not accepted. ${EXPECTED_TRACK}`);
    return fail(`That is not a Spotify link (the address must be open.spotify.com). ${EXPECTED_TRACK}`);
  }
  const pathEnd = afterAuthority.search(/[?#]/);
  return parsePath(pathEnd === -1 ? afterAuthority : afterAuthority.slice(0, pathEnd));
}

/**
 * Tells a Spotify link apart from a direct http(s) audio URL. Anything that
 * mentions Spotify goes through parseSpotifyInput so look-alikes are refused
 * rather than downloaded. Whether the URL's host may be fetched (private
 * addresses, SSRF) is the downloader's call; this only checks its shape.
 */
export function classifyInput(raw: string): ClassifiedInput {
  const s = clean(raw, EXPECTED_ANY);
  if (typeof s !== 'string') return s;
  const scheme = SCHEME.exec(s)?.[1]?.toLowerCase();
  if (scheme === 'spotify' || /^(?:https?:\/\/)?[^/?#]*spoti(?:fy|\.fi)/i.test(s)) return parseSpotifyInput(s);
  if (scheme !== 'http' && scheme !== 'https') {
    if (/^[a-z0-9.-]+\.[a-z]{2,}(?:[/:?#]|$)/i.test(s)) return fail(`Links must start with https:// (or http://). ${EXPECTED_ANY}`);
    return fail(scheme && !/^[a-z0-9.-]+:\d/i.test(s) ? `Only http(s) links are accepted. ${EXPECTED_ANY}` : EXPECTED_ANY);
  }
  if (!s.slice(scheme.length + 1).startsWith('//')) return fail(EXPECTED_ANY);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail(`That link is not a valid address. ${EXPECTED_ANY}`);
  }
  // Checked on the raw authority as well: URL quietly drops an empty "user:@" and turns "\" into "/".
  const authority = s.slice(scheme.length + 3).split(/[/?#\\]/, 1)[0] ?? '';
  if (url.username || url.password || authority.includes('@')) {
    return fail(`Links with a user name or password in them are not accepted. ${EXPECTED_ANY}`);
  }
  if (url.hostname === '') return fail(`That link has no host. ${EXPECTED_ANY}`);
  // Internationalised hosts are refused outright: homograph look-alikes are their main use in chat.
  if (/(?:^|\.)xn--/i.test(url.hostname) || /[^\x21-\x7e]/.test(authority)) {
    return fail(`Links with non-ASCII (internationalised) host names are not accepted. ${EXPECTED_ANY}`);
  }
  return { ok: true, kind: 'url', url: url.href };
}

export type SpotifyTrackInput = (SpotifyRef & { kind: 'track' }) | InputProblem;

/** parseSpotifyInput narrowed to tracks, so every caller that takes one track words the refusal of a record the same way. */
export function parseSpotifyTrack(raw: string): SpotifyTrackInput {
  const result = parseSpotifyInput(raw);
  if (!result.ok) return result;
  if (result.kind === 'track') return { ...result, kind: 'track' };
  return fail(`A Spotify ${result.kind} is several tracks and this takes one; \`/separate\`, \`/analyze\`, \`sfa separate\` and \`sfa analyze\` take whole ${result.kind}s. ${EXPECTED_TRACK}`);
}

export type SpotifyRecordRef = SpotifyRef & { kind: 'album' | 'playlist' };

/**
 * The album or playlist a pasted link or URI names, in every form the track parser accepts;
 * undefined for anything else (tracks, direct URLs and problems stay the track parsers' to word).
 */
export function parseSpotifyRecord(raw: string): SpotifyRecordRef | undefined {
  const classified = classifyInput(raw);
  if (!classified.ok || (classified.kind !== 'album' && classified.kind !== 'playlist')) return undefined;
  return { ...classified, kind: classified.kind };
}

export type ParsedLink = { ok: true; kind: 'spotify'; spotifyId: string; url: string } | { ok: true; kind: 'url'; url: string } | InputProblem;

/** What a pasted link names: a Spotify track (albums, playlists and look-alikes refused) or a direct http(s) URL. */
export function parseLink(raw: string): ParsedLink {
  const classified = classifyInput(raw);
  if (!classified.ok) return classified;
  if (classified.kind === 'url') return { ok: true, kind: 'url', url: classified.url };
  const track = parseSpotifyTrack(classified.url);
  if (!track.ok) return track;
  return { ok: true, kind: 'spotify', spotifyId: track.id, url: track.url };
}
