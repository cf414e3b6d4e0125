/**
 * The REST side's plumbing: a route table matched on `/api/v10/...` paths,
 * request bodies (JSON or multipart with `files[n]` + `payload_json`), and
 * Discord-shaped error bodies.
 */
import type { IncomingMessage } from 'node:http';
import type { RESTError, RESTErrorData } from 'discord-api-types/v10';

export interface UploadedFile {
  /** The multipart field, e.g. `files[0]`; its index is what `attachments[].id` refers to. */
  field: string;
  index: number;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  /** The JSON body, or the multipart `payload_json` (undefined when there was no body). */
  json: unknown;
  files: UploadedFile[];
}

/** What the fake answers; `body` undefined means 204 No Content. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class DiscordError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors?: RESTErrorData;
  constructor(status: number, code: number, message: string, errors?: RESTErrorData) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }

  toReply(): Reply {
    const body: RESTError = { code: this.code, message: this.message, ...(this.errors ? { errors: this.errors } : {}) };
    return { status: this.status, body };
  }
}

/** 400 / 50035 "Invalid Form Body" with Discord's nested `errors` object for one field path. */
export function invalidFormBody(path: (string | number)[], code: string, message: string): DiscordError {
  let errors: RESTErrorData = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return new DiscordError(400, 50035, 'Invalid Form Body', errors);
}

export const notFound = (code: number, what: string) => new DiscordError(404, code, `Unknown ${what}`);

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: ParsedBody;
}

export type RouteHandler = (ctx: RouteContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** e.g. `/channels/:channel_id/messages/:message_id`. */
  template: string;
  /** false for interaction callbacks and webhook-with-token routes (the token is in the URL). */
  auth: boolean;
  /** Path parameter that separates rate-limit buckets (Discord's "major parameter"). */
  major?: string;
  handler: RouteHandler;
  pattern: RegExp;
  keys: string[];
}

export class Router {
  readonly routes: Route[] = [];

  add(method: string, template: string, options: { auth?: boolean; major?: string }, handler: RouteHandler): void {
    const keys: string[] = [];
    const pattern = new RegExp(
      `^${template.replace(/:([a-z_]+)/g, (_, key: string) => {
        keys.push(key);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, template, auth: options.auth ?? true, major: options.major, handler, pattern, keys });
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(m[i + 1]!);
      });
      return { route, params };
    }
    return undefined;
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const EXTENSION_TYPES: Record<string, string> = {
  wav: 'audio/x-wav',
  flac: 'audio/flac',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  m4a: 'audio/mp4',
  png: 'image/png',
  jpg: 'image/jpeg',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
};

/** Discord stores the part's type, or guesses one from the file name. */
export function contentTypeFor(filename: string, declared: string): string {
  if (declared && declared !== 'application/octet-stream') return declared;
  const ext = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase();
  return (ext && EXTENSION_TYPES[ext]) || 'application/octet-stream';
}

export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    // The WHATWG multipart parser built into Node (undici): no extra dependency, strict about the format.
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
    const files: UploadedFile[] = [];
    let json: unknown;
    for (const [field, value] of form) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = parseJson(value);
        continue;
      }
      const index = /^files\[(\d+)\]$/.exec(field)?.[1];
      if (index === undefined) throw invalidFormBody([field], 'UNKNOWN_FIELD', `Unexpected multipart field ${field}`);
      files.push({ field, index: Number(index), filename: value.name, contentType: contentTypeFor(value.name, value.type), data: Buffer.from(await value.arrayBuffer()) });
    }
    return { json, files };
  }
  return { json: parseJson(raw.toString('utf8')), files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DiscordError(400, 50109, 'The request body contains invalid JSON.');
  }
}
