/**
 * sendAnalysisDm against the fake Discord through the real @discordjs/rest
 * client: the DM with the overview picture, the channel fallback when the
 * requester's DMs are closed (pinging only them), and the dm_state to store
 * for every other outcome.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { REST } from '@discordjs/rest';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAnalysisDm, type AnalysisDmOptions } from '../../src/bot/delivery/dm.ts';
import { FakeDiscord } from '../support/fakeDiscord/index.ts';
import { tempDir } from '../engine/helpers.ts';
import { restFor } from './deliveryHelpers.ts';

const DM_LIMIT = 4096;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function png(file: string, source: string): Promise<string> {
  await execa('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', source, '-frames:v', '1', file]);
  return file;
}

describe('sendAnalysisDm', () => {
  let fake: FakeDiscord;
  let rest: REST;
  let dir: string;
  let overview: string;
  let noisy: string;

  beforeAll(async () => {
    // DMs get a small upload limit here so a large picture can be refused (413).
    fake = await FakeDiscord.start({ uploadLimitBytes: DM_LIMIT, guilds: [{ name: 'Test Server', uploadLimitBytes: 10 * 1024 * 1024 }] });
    rest = restFor(fake);
    dir = tempDir('dm');
    overview = await png(path.join(dir, 'overview.png'), 'color=c=navy:s=64x32');
    noisy = await png(path.join(dir, 'noisy.png'), 'nullsrc=s=256x256,geq=random(1)*255:128:128');
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (userId: string, overrides: Partial<AnalysisDmOptions> = {}): AnalysisDmOptions => ({
    rest,
    userId,
    analysis: {
      tempo: 128,
      key: 'A minor',
      energy: 0.8,
      spectral_centroid: 2400,
      features: { camelot: '8A', key_confidence: 0.5, tempo_alternatives: [{ bpm: 64, relation: 'half', confidence: 0.2 }] },
    },
    overviewPath: overview,
    track: { title: 'Night Drive', artist: 'The Testers' },
    fallbackChannelId: fake.channelId,
    ...overrides,
  });
  const lastPostTo = (channelId: string) => fake.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages`).at(-1);

  it('sends the analysis as a DM with the overview picture attached', async () => {
    const user = fake.createUser('dana');
    const result = await sendAnalysisDm(options(user.id));

    const [dm] = fake.dms(user.id);
    expect(result).toEqual({ dmState: 'sent', channelId: dm!.channelId, messageId: dm!.id, imageAttached: true });
    expect(dm!.content).toBe('Your analysis of **Night Drive** is ready.');
    const embed = dm!.embeds[0]!;
    expect(embed.fields?.map((f) => [f.name, f.value])).toEqual([
      ['Tempo', '**128 BPM** (or half 64)'],
      ['Key', '**A minor** · Camelot 8A'],
      ['Energy', 'high (-12 dBFS RMS)'],
      ['Brightness', 'balanced (spectral centroid 2400 Hz)'],
    ]);
    expect(dm!.attachments.map((a) => a.filename)).toEqual(['Night_Drive-analysis.png']);
    expect(embed.image?.url).toBe('attachment://Night_Drive-analysis.png');
    expect(sha(dm!.attachments[0]!.data)).toBe(sha(await readFile(overview)));
    expect((lastPostTo(dm!.channelId)?.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });
    expect(fake.messages()).not.toContainEqual(expect.objectContaining({ id: dm!.id }));
  });

  it('when the requester\'s DMs are closed, posts the analysis in the channel, pinging only them', async () => {
    const user = fake.createUser('erik', { dmsClosed: true });
    const result = await sendAnalysisDm(options(user.id));

    expect(fake.dms(user.id)).toEqual([]);
    const message = fake.messages().at(-1)!;
    expect(result).toEqual({ dmState: 'closed_fallback_sent', channelId: fake.channelId, messageId: message.id, imageAttached: true });
    expect(message.content.startsWith(`<@${user.id}> I couldn't send you a DM`)).toBe(true);
    expect(message.embeds[0]?.title).toBe('Analysis · Night Drive');
    expect(message.attachments.map((a) => a.filename)).toEqual(['Night_Drive-analysis.png']);
    expect((lastPostTo(fake.channelId)?.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [], users: [user.id] });
  });

  it('sends the DM without a picture when the overview file is missing', async () => {
    const user = fake.createUser('fay');
    const result = await sendAnalysisDm(options(user.id, { overviewPath: path.join(dir, 'gone.png') }));

    expect(result).toMatchObject({ dmState: 'sent', imageAttached: false });
    const [dm] = fake.dms(user.id);
    expect(dm!.attachments).toEqual([]);
    expect(dm!.embeds[0]?.image).toBeUndefined();
    expect(dm!.embeds[0]?.description ?? '').not.toContain('Picture attached');
  });

  it('sends the text alone when the picture is over the DM upload limit (413)', async () => {
    expect((await readFile(noisy)).length).toBeGreaterThan(DM_LIMIT);
    const user = fake.createUser('gus');
    const result = await sendAnalysisDm(options(user.id, { overviewPath: noisy }));

    expect(result).toMatchObject({ dmState: 'sent', imageAttached: false });
    const dmChannel = fake.dms(user.id)[0]!.channelId;
    expect(fake.requests.filter((r) => r.path === `/channels/${dmChannel}/messages`).map((r) => r.status)).toEqual([413, 200]);
    expect(fake.dms(user.id)[0]!.attachments).toEqual([]);
  });

  it('fails with Discord\'s reason for any other refusal, and does not post in the channel', async () => {
    const channelMessages = fake.messages().length;
    const result = await sendAnalysisDm(options('199999999999999999'));
    expect(result).toEqual({ dmState: 'failed', reason: 'the DM could not be sent: 404 / 10013: Unknown User', status: 404, code: 10013 });
    expect(fake.messages()).toHaveLength(channelMessages);
  });

  it('fails when DMs are closed and the channel message fails too', async () => {
    const user = fake.createUser('hal', { dmsClosed: true });
    const result = await sendAnalysisDm(options(user.id, { fallbackChannelId: '399999999999999999' }));
    expect(result).toEqual({
      dmState: 'failed',
      reason: 'DMs are closed (403 / 50007: Cannot send messages to this user) and the channel message failed too: 404 / 10003: Unknown Channel',
      status: 404,
      code: 10003,
    });
  });
});
