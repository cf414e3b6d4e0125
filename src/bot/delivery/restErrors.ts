/**
 * Reading errors from @discordjs/rest without relying on `instanceof` (the
 * bot and discord.js may load different copies of the package):
 * DiscordAPIError has `status` and Discord's `code`; HTTPError (an answer that
 * was not Discord's JSON, e.g. a proxy's 413 page) has only `status`.
 */

export interface RestFailure {
  status: number | undefined;
  code: number | string | undefined;
  /** One line for logs and stored outcomes; never contains a token (the URL is left out). */
  text: string;
  aborted: boolean;
}

export function restFailure(error: unknown): RestFailure {
  const e = (error ?? {}) as { status?: unknown; code?: unknown; message?: unknown; name?: unknown; rawError?: unknown };
  const status = typeof e.status === 'number' ? e.status : undefined;
  // Node's own errors also have a string `code` (ECONNREFUSED); keep it, it says what happened.
  const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : undefined;
  const aborted = e.name === 'AbortError';
  const raw = (e.rawError ?? {}) as { message?: unknown };
  const message = typeof raw.message === 'string' ? raw.message : typeof e.message === 'string' ? e.message : String(error);
  const prefix = [status, code].filter((p) => p !== undefined).join(' / ');
  // Webhook routes carry the interaction token in their URL; make sure no message repeats one.
  const clean = message.replace(/\/webhooks\/\d+\/[^/\s]+/g, '/webhooks/<id>/<token>').replace(/\s+/g, ' ').trim().slice(0, 300);
  return { status, code, text: aborted ? 'cancelled' : prefix ? `${prefix}: ${clean}` : clean, aborted };
}

/** 413 / 40005: a file is larger than the upload limit (also a 413 without Discord's JSON body). */
export function isTooLarge(failure: RestFailure): boolean {
  return failure.status === 413 || failure.code === 40005;
}

/** 401 / 50027: the interaction token expired or was refused; the bot token has to take over. */
export function isTokenRefused(failure: Pick<RestFailure, 'status' | 'code'>): boolean {
  return failure.status === 401 || failure.code === 50027;
}

/** 403 / 50007: the user does not accept DMs from the bot. */
export function isDmsClosed(failure: RestFailure): boolean {
  return failure.status === 403 && failure.code === 50007;
}
