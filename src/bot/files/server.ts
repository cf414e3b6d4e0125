/**
 * The bot's file server (node:http): `GET|HEAD /files/<stem id>?exp=&sig=`
 * serves a stem too large to attach, through the signed, expiring links the
 * stems message lists (src/domain/signedLink.ts).
 *
 * The link is checked before anything else (403 for a bad or expired one);
 * the file's path comes from the Stem row, never from the URL, and must lie
 * in the data folder's stems/ once symlinks are resolved (404 otherwise, or
 * when the file is gone).
 * Single byte ranges are served (206) so downloads resume; a path prefix of
 * PUBLIC_BASE_URL (a reverse proxy's `/sfa/files/...`) is accepted too.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { verify } from '../../domain/signedLink.ts';
import { contentDisposition, downloadFileName } from './names.ts';
import type { StemLookup } from './lookup.ts';
import { decideRange } from './range.ts';
import type { Logger } from '../../log.ts';


export interface FileServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The link signing secret (SFA_LINK_SECRET or the generated one). */
  secret: string;
  lookup: StemLookup;
  /** SFA_DATA_DIR: only files under its stems/ are served. */
  dataDir: string;
  /** PUBLIC_BASE_URL, for its path prefix. */
  publicBaseUrl?: string;
  log: Logger;
  /** Epoch ms, for link expiry. */
  now?: () => number;
  /**
   * More routes (the stem player, src/bot/files/player/routes.ts), asked for
   * any path that is not `/files/<id>`; true when it answered.
   */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
}

export interface FileServer {
  /** `http://<host>:<port>` as bound (not PUBLIC_BASE_URL). */
  url: string;
  port: number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
};

export const TEXT = {
  notFound: 'Not found.',
  invalid: 'This link is not valid.',
  expired: 'This link has expired. Ask the bot for the stems again.',
  noSuchFile: 'This file is not available (any more).',
  unavailable: 'The file server cannot look this file up right now. Try again in a minute.',
  method: 'Only GET and HEAD are supported here.',
  rangeNotSatisfiable: 'The requested range is outside the file.',
} as const;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function pathPattern(publicBaseUrl: string | undefined): RegExp {
  let prefix = '';
  if (publicBaseUrl) {
    try {
      prefix = new URL(publicBaseUrl).pathname.replace(/\/+$/, '');
    } catch {
      prefix = '';
    }
  }
  return new RegExp(`^(?:${escapeRegExp(prefix)})?/files/([^/]+)$`);
}

function text(res: ServerResponse, method: string | undefined, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  const data = Buffer.from(`${body}\n`);
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': data.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(method === 'HEAD' ? undefined : data);
}

function insideDir(dir: string, file: string): boolean {
  return file.startsWith(dir + path.sep);
}

export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  const now = options.now ?? Date.now;
  const pattern = pathPattern(options.publicBaseUrl);
  const stemsRoot = path.resolve(options.dataDir, 'stems');

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method;
    const url = new URL(req.url ?? '/', 'http://file-server.invalid');
    const match = pattern.exec(url.pathname);
    if (!match) {
      if (options.routes && (await options.routes(req, res, url))) return;
      return text(res, method, 404, TEXT.notFound);
    }
    if (method !== 'GET' && method !== 'HEAD') return text(res, method, 405, TEXT.method, { allow: 'GET, HEAD' });

    // The path matched above, so the link's stem id is the same path segment.
    const verdict = verify(options.secret, url.href, now());
    if (!verdict.ok) return text(res, method, 403, verdict.reason === 'expired' ? TEXT.expired : TEXT.invalid);

    let stem;
    try {
      stem = await options.lookup(verdict.stemId);
    } catch (error) {
      options.log.error(`file server: looking up stem ${verdict.stemId} failed: ${(error as Error).message}`);
      return text(res, method, 503, TEXT.unavailable, { 'retry-after': '60' });
    }
    if (!stem) return text(res, method, 404, TEXT.noSuchFile);
    // Symlinks resolved on both sides: a link planted under stems/ must not lead out of it.
    const file = await realpath(path.resolve(stem.filePath)).catch(() => undefined);
    const root = await realpath(stemsRoot).catch(() => stemsRoot);
    if (file === undefined) return text(res, method, 404, TEXT.noSuchFile);
    if (!insideDir(root, file)) {
      options.log.error(`file server: stem ${stem.id}'s file is outside ${stemsRoot}; not served`);
      return text(res, method, 404, TEXT.noSuchFile);
    }

    let fh: FileHandle;
    try {
      // O_NOFOLLOW: the resolved name must not have become a link since (a swap between the check and the open).
      fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return text(res, method, 404, TEXT.noSuchFile);
    }
    let streaming = false;
    try {
      // Size and date from the open file, so the headers describe the bytes that are sent.
      const info = await fh.stat();
      if (!info.isFile()) return text(res, method, 404, TEXT.noSuchFile);
      const ext = path.extname(file).toLowerCase();
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      const lastModified = new Date(info.mtimeMs).toUTCString();
      let range = decideRange(req.headers.range, info.size);
      // If-Range: resume only the same version of the file; otherwise send it whole.
      const ifRange = req.headers['if-range'];
      if (ifRange && range.kind !== 'full' && ifRange !== etag && ifRange !== lastModified) range = { kind: 'full' };
      const headers: OutgoingHttpHeaders = {
        'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
        'content-disposition': contentDisposition(downloadFileName(stem.trackTitle, stem.stemType, ext.slice(1))),
        'accept-ranges': 'bytes',
        etag,
        'last-modified': lastModified,
        'cache-control': 'private, no-cache',
        'x-content-type-options': 'nosniff',
      };
      if (range.kind === 'unsatisfiable') {
        return text(res, method, 416, TEXT.rangeNotSatisfiable, { 'content-range': `bytes */${info.size}`, 'accept-ranges': 'bytes' });
      }
      const [status, start, end] = range.kind === 'partial' ? [206, range.start, range.end] : [200, 0, info.size - 1];
      headers['content-length'] = Math.max(0, end - start + 1);
      if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
      res.writeHead(status, headers);
      if (method === 'HEAD' || info.size === 0) {
        res.end();
        return;
      }
      streaming = true;
      // The stream owns the handle from here and closes it when done or destroyed.
      await pipeline(fh.createReadStream({ start, end, autoClose: true }), res).catch(() => {
        // The client went away mid-download; nothing to tell anyone.
      });
    } finally {
      if (!streaming) await fh.close().catch(() => undefined);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log.error(`file server: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) text(res, req.method, 500, 'Internal error.');
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `The file server could not listen on ${options.host}:${options.port} (${error.code ?? error.message}). ` +
            'Set SFA_HTTP_PORT to a free port (0 picks one) or SFA_HTTP_HOST to an address of this machine.',
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => options.log.error(`file server: ${error.message}`));
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
