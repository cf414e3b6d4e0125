/**
 * What a separation request names: a Spotify track, a direct http(s) audio URL,
 * or a local file (CLI; the worker must see the same filesystem). Anything with
 * a scheme or that mentions Spotify is a link and goes through classifyInput;
 * everything else is a path.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseLink } from '../../domain/spotifyInput.ts';

export type PipelineInput =
  | { kind: 'spotify'; spotifyId: string; url: string }
  | { kind: 'url'; url: string }
  | { kind: 'file'; path: string };

export class InputError extends Error {
  readonly userMessage: string;
  override readonly name = 'InputError';
  constructor(userMessage: string) {
    super(userMessage);
    this.userMessage = userMessage;
  }
}

const LINKISH = /^(?:[a-z][a-z0-9+.-]*:|(?:www\.)?open\.spotify\.com\/|spotify\.link\/|spoti\.fi\/)/i;

export function parsePipelineInput(raw: string, cwd: string = process.cwd()): PipelineInput {
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (s === '') throw new InputError('No input given: pass a Spotify track link, a direct audio link or a file path.');
  if (/^file:\/\//i.test(s)) {
    try {
      return { kind: 'file', path: fileURLToPath(s) };
    } catch {
      throw new InputError('That file:// link is not a valid local path.');
    }
  }
  if (LINKISH.test(s) && !/^[a-z]:[\\/]/i.test(s)) {
    const link = parseLink(s);
    if (!link.ok) throw new InputError(link.reason);
    return link.kind === 'url' ? { kind: 'url', url: link.url } : { kind: 'spotify', spotifyId: link.spotifyId, url: link.url };
  }
  return { kind: 'file', path: path.resolve(cwd, s) };
}

/** file:// URL stored as a track's source_url; the fragment pins the file's identity (size, mtime). */
export function fileSourceUrl(file: string, identity?: { size: number; mtimeMs: number }): string {
  const href = pathToFileURL(file).href;
  return identity ? `${href}#size=${identity.size}&mtime=${Math.floor(identity.mtimeMs)}` : href;
}

/** The local path of a file:// source_url (fragment ignored), or undefined for other URLs. */
export function filePathOfSource(sourceUrl: string | null | undefined): string | undefined {
  if (!sourceUrl || !/^file:\/\//i.test(sourceUrl)) return undefined;
  try {
    return fileURLToPath(sourceUrl.replace(/#.*$/, ''));
  } catch {
    return undefined;
  }
}
