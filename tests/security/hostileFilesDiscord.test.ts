/**
 * Hostile attachments through the Discord door: the real bot process against
 * the fake Discord, one bot for the file. The bot fetches an attachment from
 * the (fake) CDN and checks it before anything is queued, so each case must
 * end in a private answer saying what is wrong, no Request or job row, nothing
 * kept in uploads/ (no stored copy, no staging folder), no public message, and
 * the bot still answering the next command.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MessageFlags } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBot } from '../discord/harness.ts';
import { count } from '../cli/helpers.ts';
import { tempDir } from '../engine/helpers.ts';
import { AUDIO_EXTENSIONS, flacHeaderBomb, indirection, longUnicodeName, mp3HeaderBomb, png, tone, truncatedFlac } from './hostileFiles.ts';

const CONTENT_TYPE: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  opus: 'audio/opus',
  webm: 'audio/webm',
  aiff: 'audio/aiff',
};

describe('hostile attachments through the Discord door', () => {
  const suite = useBot({ role: 'bot' });
  let files: string;
  let secret: string;
  let n = 0;

  beforeAll(async () => {
    files = tempDir('hostile-discord');
    // A path on the bot's machine the attacker guesses; the playlists point at it.
    secret = await tone(path.join(files, 'secret.mp3'), 3);
  });
  afterAll(() => {
    if (files) rmSync(files, { recursive: true, force: true });
  });

  /** Sends one attachment with /analyze (or /separate) and checks everything a refusal must leave. */
  async function refused(filename: string, data: Buffer, message: string | RegExp, command: 'analyze' | 'separate' = 'analyze'): Promise<void> {
    const { fake } = suite.bot;
    const user = fake.createUser(`attacker${n++}`);
    const ext = path.extname(filename).slice(1);
    const handle = fake.interact({ user, command, attachments: { file: { filename, data, contentType: CONTENT_TYPE[ext] ?? 'audio/mpeg' } } });
    await handle.acknowledged();
    const reply = await fake.waitUntil('the private answer', () => handle.followups()[0], 60_000);
    expect(reply.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    if (typeof message === 'string') expect(reply.content).toContain(message);
    else expect(reply.content).toMatch(message);
    expect(reply.content).not.toContain(files); // no server path in what the user reads
    expect(await count(suite.orm, 'select 1 from requests where requester_id = ?', [user.id])).toBe(0);
    expect(fake.messages()).toEqual([]); // nothing public
    const uploads = path.join(suite.bot.dataDir, 'uploads');
    expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
    // The bot is fine: the next command is answered.
    const help = await fake.interact({ user, command: 'help' }).reply(30_000);
    expect(help.content).toContain('/separate');
    expect(fake.violations).toEqual([]);
  }

  for (const ext of AUDIO_EXTENSIONS) {
    it(`an HLS playlist attached as .${ext} is refused privately; the file it names is never read`, async () => {
      await refused(`song.${ext}`, Buffer.from(indirection('hls', secret)), 'That file is an HLS playlist, not an audio format I accept');
    }, 120_000);
  }

  it('an ffconcat list, an SDP file and a DASH manifest are refused with what they are', async () => {
    await refused('list.wav', Buffer.from(indirection('ffconcat', secret)), 'That file is a concat list');
    await refused('session.m4a', Buffer.from(indirection('sdp', secret)), 'That file is an SDP session description');
    await refused('manifest.opus', Buffer.from(indirection('dash', secret)), 'That file is a DASH manifest');
  }, 180_000);

  it('a FLAC and an MP3 whose headers say 5 hours are refused by the duration limit', async () => {
    await refused('bomb.flac', await readFile(await flacHeaderBomb(path.join(files, 'bomb.flac'))), /^The track is 5:00:00 long; the limit is/);
    await refused('bomb.mp3', await readFile(await mp3HeaderBomb(path.join(files, 'bomb.mp3'))), /^The track is (4:59:\d\d|5:00:00) long; the limit is/);
  }, 180_000);

  it('an image, one byte and a truncated FLAC sent as audio are refused', async () => {
    await refused('cover.mp3', await readFile(await png(path.join(files, 'cover.png'))), 'That file is an image');
    await refused('one.mp3', Buffer.from('I'), /is not audio we can read/);
    await refused('cut.flac', await readFile(await truncatedFlac(path.join(files, 'cut.flac'))), /is not audio we can read/, 'separate');
  }, 180_000);

  it('hostile names (markdown, a mention, a newline, 255 bytes of unicode) change nothing', async () => {
    const playlist = Buffer.from(indirection('hls', secret));
    await refused('**@everyone** [x](https://evil.example)\n$(id).mp3', playlist, 'That file is an HLS playlist');
    await refused(longUnicodeName('wav'), playlist, 'That file is an HLS playlist');
  }, 180_000);
});
