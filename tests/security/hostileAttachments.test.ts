/**
 * The bot's own fetch of an attached file (pipelineInputFor): every hop of a
 * redirect chain must stay under a trusted CDN base (SFA_DISCORD_CDN_BASES),
 * the length limit is SFA_MAX_DURATION_SECONDS, and a refusal leaves nothing
 * in uploads/. The fake CDN is named by its IP in the trusted base, the one
 * private address the admin allowed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config.ts';
import { pipelineInputFor, SourceError } from '../../src/commands/source.ts';
import { makeTone } from '../download/helpers.ts';
import { startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';

let cdn: FakeHttp;
let dataDir: string;
let config: Config;
let song: Buffer;

const NOT_DISCORD = "That attachment does not come from Discord's file server, so I will not fetch it. Attach the file again.";

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'sfa-attach-'));
  song = await readFile(await makeTone(path.join(dataDir, 'tone.mp3'), 3));
  cdn = await startFakeHttp((req, res) => {
    const to = req.query.get('to');
    if (to) {
      res.writeHead(302, { location: to.replace('PORT', String(cdn.port)) });
      return res.end();
    }
    if (req.path.endsWith('.mp3')) {
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(song.length) });
      return res.end(song);
    }
    res.writeHead(404);
    res.end();
  });
  const parsed = parseConfig({ SFA_DATA_DIR: dataDir, SFA_DISCORD_CDN_BASES: `${cdn.baseUrl}/attachments/`, SFA_MAX_DURATION_SECONDS: '2' });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  config = parsed.config;
});

afterAll(async () => {
  await cdn.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const attachment = (url: string) => ({ kind: 'file' as const, name: 'song.mp3', url, size: 1000, contentType: 'audio/mpeg' });

async function refused(url: string): Promise<string> {
  const error = await pipelineInputFor({ config }, attachment(url)).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SourceError);
  // Nothing kept: no upload, no staging folder.
  expect((await readdir(path.join(dataDir, 'uploads')).catch(() => [])).filter((n) => n !== 'kept.mp3')).toEqual([]);
  return (error as SourceError).message;
}

describe('attachments fetched by the bot', () => {
  it('uses SFA_MAX_DURATION_SECONDS (2 s here) for the length check, not a fixed 20 minutes', async () => {
    expect(await refused(`${cdn.baseUrl}/attachments/1/2/song.mp3`)).toMatch(/the limit is 0:02/);
  });

  it.each([
    ['outside the trusted base path on the same host', '/elsewhere/song.mp3'],
    ['to another host name for the same server', 'http://localhost:PORT/attachments/1/2/song.mp3'],
    ['to a private address', 'http://10.0.0.1/attachments/1/2/song.mp3'],
    ['to a public host that is not the CDN', 'https://evil.example/attachments/1/2/song.mp3'],
  ])('refuses a redirect %s', async (_what, to) => {
    const message = await refused(`${cdn.baseUrl}/attachments/1/2/redirect?to=${encodeURIComponent(to)}`);
    expect(message).toBe(NOT_DISCORD);
    expect(cdn.requests.some((r) => r.path.startsWith('/elsewhere'))).toBe(false);
  });

  it('refuses a first URL outside the trusted bases before fetching anything', async () => {
    const before = cdn.requests.length;
    expect(await refused(`${cdn.baseUrl}/other/song.mp3`)).toBe(NOT_DISCORD);
    expect(cdn.requests.length).toBe(before);
  });
});
