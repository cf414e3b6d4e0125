/**
 * The stem player's routes on the bot's file server (src/bot/files/server.ts
 * hands over every path that is not /files/<id>):
 *
 *   /player/<set id>?exp&sig              the page (static HTML, strict CSP)
 *   /player/<set id>/data.json?exp&sig    track card, analysis, stems, peaks
 *   /player/<set id>/art?exp&sig          the cover, fetched once from Spotify's image CDN and cached (404 without)
 *   /player/<set id>/segment/<stem>/<n>.flac?exp&sig   10 s of one stem
 *   /player/<set id>/zip?format=stored|flac|mp3&exp&sig   all stems, one streamed zip
 *   /player/<set id>/mix?format=wav|flac|mp3&v=<stem>:<vol>,..&exp&sig   the mix, rendered by ffmpeg
 *   /player-assets/<file>                 the page's script, style and the SoundTouch worklet
 *
 * Every /player/<set id> path checks the link first (403 when tampered,
 * expired, or signed for another set). The zip and the mix are limited per link.
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { artSource } from '../../../domain/albumArt.ts';
import { verifyPlayer } from '../../../domain/playerLink.ts';
import { parseMixQuery, parseZipFormat, rateDecision } from '../../../domain/playerMix.ts';
import { stemStyle } from '../../../domain/stemStyle.ts';
import type { StoragePaths } from '../../../jobs/storage/paths.ts';
import type { StemEncoder } from '../../delivery/encode.ts';
import { contentDisposition, downloadFileName } from '../names.ts';
import { loadArt } from './art.ts';
import { flacCopy, loadPeaks, renderMix, segment, SEGMENT_SECONDS, setDir } from './audio.ts';
import type { StemSetLookup } from './stemSet.ts';

export interface PlayerRoutesOptions {
  secret: string;
  lookup: StemSetLookup;
  paths: StoragePaths;
  encoder: StemEncoder;
  publicBaseUrl?: string;
  log: { warn(message: string): void; error(message: string): void };
  now?: () => number;
  /** Downloads (zip + mix) per link per window; default 20 per 10 minutes. */
  rateLimit?: { max: number; windowMs: number };
  /** Tests only: album-art URLs under this base are fetched too (a local fake art server). */
  artTestBase?: string;
}

export const PLAYER_TEXT = {
  invalid: 'This player link is not valid.',
  expired: 'This player link has expired. Ask the bot for the stems again.',
  gone: 'These stems are not available (any more).',
  tooMany: 'Too many downloads from this link; try again later.',
} as const;

/** Nothing from elsewhere: scripts, styles, images (the cover too), audio and requests only from this server. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "media-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOUNDTOUCH = path.resolve(HERE, '../../../../node_modules/@soundtouchjs/audio-worklet/.dist');
/** The only files /player-assets/ serves: name -> (file, type). */
const ASSETS: Record<string, [string, string]> = {
  'player.js': [path.join(HERE, 'assets/player.js'), 'text/javascript; charset=utf-8'],
  'engine.js': [path.join(HERE, 'assets/engine.js'), 'text/javascript; charset=utf-8'],
  'player.css': [path.join(HERE, 'assets/player.css'), 'text/css; charset=utf-8'],
  'icon.svg': [path.join(HERE, 'assets/icon.svg'), 'image/svg+xml'],
  'soundtouch/SoundTouchNode.js': [path.join(SOUNDTOUCH, 'SoundTouchNode.js'), 'text/javascript; charset=utf-8'],
  'soundtouch/constants.js': [path.join(SOUNDTOUCH, 'constants.js'), 'text/javascript; charset=utf-8'],
  'soundtouch/soundtouch-processor.js': [path.join(SOUNDTOUCH, 'soundtouch-processor.js'), 'text/javascript; charset=utf-8'],
};
const PAGE = path.join(HERE, 'assets/index.html');

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function send(res: ServerResponse, method: string | undefined, status: number, body: string | Uint8Array, headers: OutgoingHttpHeaders): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-length': data.length, ...headers });
  res.end(method === 'HEAD' ? undefined : data);
}

const plain = (res: ServerResponse, method: string | undefined, status: number, message: string, headers: OutgoingHttpHeaders = {}) =>
  send(res, method, status, `${message}\n`, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });

export function playerRoutes(options: PlayerRoutesOptions) {
  const now = options.now ?? Date.now;
  const limit = options.rateLimit ?? { max: 20, windowMs: 10 * 60_000 };
  let prefix = '';
  if (options.publicBaseUrl) {
    try {
      prefix = new URL(options.publicBaseUrl).pathname.replace(/\/+$/, '');
    } catch {
      prefix = '';
    }
  }
  const pattern = new RegExp(`^(?:${escapeRegExp(prefix)})?/(player-assets|player)/(.+)$`);
  const downloads = new Map<string, number[]>();

  const allowDownload = (key: string): number => {
    const decision = rateDecision(downloads.get(key) ?? [], now(), limit.max, limit.windowMs);
    downloads.set(key, decision.history);
    if (downloads.size > 10_000) for (const [k, h] of downloads) if (!h.some((t) => now() - t < limit.windowMs)) downloads.delete(k);
    return decision.allowed ? 0 : decision.retryAfterSeconds;
  };

  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const match = pattern.exec(url.pathname);
    if (!match) return false;
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      plain(res, method, 405, 'Only GET and HEAD are supported here.', { allow: 'GET, HEAD' });
      return true;
    }
    const [, area, rest = ''] = match;
    if (area === 'player-assets') {
      const asset = Object.hasOwn(ASSETS, rest) ? ASSETS[rest] : undefined;
      if (!asset) return plain(res, method, 404, 'Not found.'), true;
      send(res, method, 200, await readFile(asset[0]), { 'content-type': asset[1], 'cache-control': 'public, max-age=300' });
      return true;
    }

    const [setId = '', ...sub] = rest.split('/');
    const verdict = verifyPlayer(options.secret, setId, url.searchParams, now());
    if (!verdict.ok) {
      plain(res, method, 403, verdict.reason === 'expired' ? PLAYER_TEXT.expired : PLAYER_TEXT.invalid);
      return true;
    }
    const set = await options.lookup(setId);
    if (!set || set.stems.length === 0) return plain(res, method, 404, PLAYER_TEXT.gone), true;
    const stemsRoot = path.join(options.paths.root, 'stems') + path.sep;
    if (!set.stems.every((s) => path.resolve(s.filePath).startsWith(stemsRoot)) || !setDir(set).startsWith(stemsRoot)) {
      options.log.error(`player: stem set ${set.id} has files outside ${stemsRoot}; not served`);
      return plain(res, method, 404, PLAYER_TEXT.gone), true;
    }
    // Every file must exist and really be inside stems/ (a symlink out of it is refused too).
    const realRoot = await realpath(stemsRoot).catch(() => stemsRoot);
    const real = await Promise.all(set.stems.map((s) => realpath(s.filePath).then((p) => stat(p).then((st) => st.isFile() && p.startsWith(realRoot.replace(/\/?$/, path.sep))), () => false)));
    if (!real.every(Boolean)) return plain(res, method, 404, PLAYER_TEXT.gone), true;
    const linkKey = `${setId}:${url.searchParams.get('sig')}`;
    const route = sub.join('/');

    if (route === '') {
      send(res, method, 200, await readFile(PAGE), { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return true;
    }
    if (route === 'data.json') {
      const peaks = await loadPeaks(set);
      const { artUrl, ...card } = set.track;
      const body = {
        // The page asks /art only when there is a cover it may have; the outside URL is not sent.
        track: { ...card, art: artSource(artUrl, options.artTestBase) !== undefined },
        analysis: set.analysis,
        model: set.model,
        durationSeconds: peaks.durationSeconds,
        sampleRate: peaks.sampleRate,
        segmentSeconds: SEGMENT_SECONDS,
        expiresAt: verdict.expiresAt * 1000,
        stems: set.stems.map((s) => ({ name: s.name, ...stemStyle(s.name), peaks: peaks.stems[s.name] })),
      };
      send(res, method, 200, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'private, max-age=60' });
      return true;
    }
    if (route === 'art') {
      const source = artSource(set.track.artUrl, options.artTestBase);
      const art = source && (await loadArt(set, source, (m) => options.log.warn(m)));
      if (!art) return plain(res, method, 404, 'No cover.'), true;
      send(res, method, 200, art.bytes, { 'content-type': art.type, 'cache-control': 'private, max-age=3600' });
      return true;
    }
    const seg = /^segment\/([a-z][a-z0-9_]{0,31})\/(0|[1-9][0-9]{0,5})\.flac$/.exec(route);
    if (seg) {
      const stem = set.stems.find((s) => s.name === seg[1]);
      if (!stem) return plain(res, method, 404, 'No such stem.'), true;
      send(res, method, 200, await segment(stem.filePath, Number(seg[2])), { 'content-type': 'audio/flac', 'cache-control': 'private, max-age=3600' });
      return true;
    }
    const title = set.track.title;
    const refusedDownload = (error: string | undefined): boolean => {
      if (error !== undefined) return plain(res, method, 400, error), true;
      const wait = allowDownload(linkKey);
      if (wait > 0) return plain(res, method, 429, PLAYER_TEXT.tooMany, { 'retry-after': String(wait) }), true;
      return false;
    };
    if (route === 'mix') {
      const parsed = parseMixQuery(url.searchParams, set.stems.map((s) => s.name));
      if (refusedDownload(parsed.ok ? undefined : parsed.error) || !parsed.ok) return true;
      const spec = parsed.value;
      const { file } = await renderMix(options.paths, set, spec);
      const info = await stat(file);
      const label = spec.stems.every((s) => s.volume === 1) ? 'mix' : `mix-${spec.stems.filter((s) => s.volume > 0).map((s) => s.name).join('-')}`;
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': { wav: 'audio/wav', flac: 'audio/flac', mp3: 'audio/mpeg' }[spec.format],
        'content-length': info.size,
        'content-disposition': contentDisposition(downloadFileName(title, label, spec.format)),
        'cache-control': 'private, no-cache',
      });
      if (method === 'HEAD') res.end();
      else await pipeline(createReadStream(file), res).catch(() => undefined);
      return true;
    }
    if (route === 'zip') {
      const parsed = parseZipFormat(url.searchParams);
      if (refusedDownload(parsed.ok ? undefined : parsed.error) || !parsed.ok) return true;
      const format = parsed.value;
      // Each entry is made (a FLAC or MP3 copy, cached) only when the zip reaches it, so the
      // download starts at once and streams while the rest is encoded.
      const entryFile = (stem: (typeof set.stems)[number]): Promise<string> =>
        format === 'stored'
          ? Promise.resolve(stem.filePath)
          : format === 'flac'
            ? flacCopy(options.paths, set.id, stem)
            : options.encoder.encode({ stemId: stem.id, filePath: stem.filePath, encoding: 'mp3_320' }).then((e) => e.path);
      const zip = new yazl.ZipFile();
      for (const stem of set.stems) {
        const ext = format === 'stored' ? path.extname(stem.filePath).slice(1) : format;
        // Audio does not shrink under deflate: stored entries stream at disk speed.
        zip.addReadStreamLazy(downloadFileName(title, stem.name, ext).ascii, { compress: false }, (cb) => {
          entryFile(stem).then(
            (file) => cb(null, createReadStream(file)),
            (error: unknown) => cb(error as Error, undefined as never),
          );
        });
      }
      zip.end();
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'application/zip',
        'content-disposition': contentDisposition(downloadFileName(title, 'stems', 'zip')),
        'cache-control': 'private, no-store',
      });
      if (method === 'HEAD') {
        res.end();
        return true;
      }
      zip.on('error', (error: Error) => {
        options.log.warn(`player: zip of stem set ${set.id} failed: ${error.message}`);
        res.destroy(error);
      });
      await pipeline(zip.outputStream, res).catch(() => undefined);
      return true;
    }
    plain(res, method, 404, 'Not found.');
    return true;
  };
}
