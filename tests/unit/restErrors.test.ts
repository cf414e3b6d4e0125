/** Reading @discordjs/rest errors: Discord's status and code, a line for logs without tokens. */
import { DiscordAPIError, HTTPError } from '@discordjs/rest';
import { describe, expect, it } from 'vitest';
import { isDmsClosed, isTooLarge, restFailure } from '../../src/bot/delivery/restErrors.ts';

const apiError = (status: number, code: number, message: string, url = 'https://discord.com/api/v10/channels/1/messages') =>
  new DiscordAPIError({ code, message }, code, status, 'POST', url, { body: undefined, files: undefined });

describe('restFailure', () => {
  it('reads status and Discord\'s code', () => {
    const failure = restFailure(apiError(403, 50007, 'Cannot send messages to this user'));
    expect(failure).toEqual({ status: 403, code: 50007, text: '403 / 50007: Cannot send messages to this user', aborted: false });
    expect(isDmsClosed(failure)).toBe(true);
    expect(isTooLarge(failure)).toBe(false);
  });

  it('takes any 413 for a file over the limit, with or without Discord\'s JSON', () => {
    expect(isTooLarge(restFailure(apiError(413, 40005, 'Request entity too large')))).toBe(true);
    const proxy = new HTTPError(413, 'Payload Too Large', 'POST', 'https://discord.com/api/v10/channels/1/messages', { body: undefined, files: undefined });
    expect(restFailure(proxy)).toMatchObject({ status: 413, code: undefined });
    expect(isTooLarge(restFailure(proxy))).toBe(true);
  });

  it('only 403 with 50007 is "DMs closed"', () => {
    expect(isDmsClosed(restFailure(apiError(403, 50001, 'Missing Access')))).toBe(false);
    expect(isDmsClosed(restFailure(apiError(400, 50007, 'odd')))).toBe(false);
  });

  it('never repeats an interaction token from a webhook URL', () => {
    const token = 'aW50ZXJhY3Rpb246MTIz:secret-token-value';
    const error = new Error(`request to /webhooks/123456789012345678/${token}/messages/@original failed`);
    const failure = restFailure(error);
    expect(failure.text).not.toContain(token);
    expect(failure.text).toBe('request to /webhooks/<id>/<token>/messages/@original failed');
  });

  it('recognises an abort and a network error', () => {
    expect(restFailure(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }))).toMatchObject({ aborted: true, text: 'cancelled' });
    expect(restFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toMatchObject({
      status: undefined,
      code: 'ECONNREFUSED',
      text: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9',
    });
    expect(restFailure('plain string')).toMatchObject({ text: 'plain string', status: undefined, code: undefined });
  });
});
