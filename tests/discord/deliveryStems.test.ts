/**
 * deliverStems against the fake Discord (real HTTP, multipart uploads, 413 for
 * a file over the limit, 10 files per message) through the real
 * @discordjs/rest client, with the real ffmpeg and, for links, the real file
 * server on the per-run PostgreSQL database. Short generated stems and small
 * upload limits force each path.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import type { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StemEncoder, encodedPath } from '../../src/bot/delivery/encode.ts';
import { deliverStems, NO_FILE_SERVER_REASON, type DeliverStemsOptions } from '../../src/bot/delivery/stems.ts';
import { startFileServer, type FileServer } from '../../src/bot/files/server.ts';
import { stemLookup } from '../../src/bot/files/lookup.ts';
import type { Orm } from '../../src/db/orm.ts';
import { NO_FILE_SERVER } from '../../src/domain/messages.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { FakeDiscord, type StoredMessage } from '../support/fakeDiscord/index.ts';
import { openTestOrm } from '../support/db.ts';
import { tempDir } from '../engine/helpers.ts';
import { deferredInteraction, makeStemRows, makeStems, restFor } from './deliveryHelpers.ts';

const GUILD_LIMIT = 600_000;
const SECRET = 'delivery-test-secret-0123456789';
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const description = (m: StoredMessage) => m.embeds[0]?.description ?? '';
const CHANNEL_POST = '/channels/:channel_id/messages';

describe('deliverStems', () => {
  let fake: FakeDiscord;
  let rest: REST;
  let dataDir: string;
  let paths: StoragePaths;
  let encoder: StemEncoder;
  let orm: Orm;
  let files: FileServer;
  const log = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };

  beforeAll(async () => {
    fake = await FakeDiscord.start({ guilds: [{ name: 'Test Server', uploadLimitBytes: GUILD_LIMIT }] });
    rest = restFor(fake);
    dataDir = tempDir('deliver');
    paths = new StoragePaths(dataDir);
    encoder = new StemEncoder({ paths });
    orm = await openTestOrm();
    files = await startFileServer({ host: '127.0.0.1', port: 0, secret: SECRET, lookup: stemLookup(orm), dataDir, log });
  });
  afterAll(async () => {
    await files?.close();
    await orm?.close();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const base = (overrides: Partial<DeliverStemsOptions>): DeliverStemsOptions => ({
    rest,
    target: { via: 'channel', channelId: fake.channelId },
    requesterId: '100000000000000077',
    track: { title: 'Ünïcode Song', artist: 'Test Artist' },
    model: 'htdemucs',
    stems: [],
    encoder,
    ...overrides,
  });
  const postsSince = (count: number) => fake.requestsTo('POST', CHANNEL_POST).slice(count);

  it('encodes a long stem down to fit a small upload limit and attaches it, with the full-quality file as a link', async () => {
    const stems = await makeStems(dataDir, [{ name: 'vocals', seconds: 30 }]);
    const result = await deliverStems(base({ stems, limitBytes: GUILD_LIMIT, links: { publicBaseUrl: files.url, secret: SECRET } }));

    expect(result.state).toBe('delivered');
    expect(result.failures).toEqual([]);
    const [outcome] = result.outcomes;
    expect(outcome).toMatchObject({ status: 'attached', encoding: 'mp3_128', fileName: 'vocals.mp3', messageId: result.messageIds[0] });
    expect(outcome?.status === 'attached' && outcome.fullQualityUrl).toMatch(new RegExp(`^${files.url}/files/${stems[0]!.id}\\?exp=\\d+&sig=[0-9a-f]{64}$`));

    const message = fake.message(result.messageIds[0]!)!;
    expect(message.attachments.map((a) => a.filename)).toEqual(['vocals.mp3']);
    // What arrived is the encoded copy, byte for byte.
    expect(sha(message.attachments[0]!.data)).toBe(sha(await readFile(encodedPath(paths, stems[0]!.id, 'mp3_128'))));
    expect(message.attachments[0]!.size).toBeLessThanOrEqual(GUILD_LIMIT);
    expect(message.content).toBe('<@100000000000000077> your stems are ready (`htdemucs`).');
    expect(description(message)).toContain('**vocals** — attached (MP3 128 kb/s) · [full quality WAV](');
    expect(fake.violations).toEqual([]);
  });

  it('after a 413 steps the too-large file down and sends the message again; a smaller file in it is kept as is', async () => {
    const stems = await makeStems(dataDir, [
      { name: 'vocals', seconds: 30 },
      { name: 'bass', seconds: 1 },
    ]);
    const before = fake.requestsTo('POST', CHANNEL_POST).length;
    // Planned with a larger limit than the server really has: MP3 320 (~1.2 MB) is refused, then MP3 192, then MP3 128 fits.
    const result = await deliverStems(base({ stems, limitBytes: 1_300_000 }));

    const attempts = postsSince(before);
    expect(attempts.map((r) => r.status)).toEqual([413, 413, 200]);
    expect(attempts.map((r) => r.files.map((f) => f.filename))).toEqual([
      ['vocals.mp3', 'bass.wav'],
      ['vocals.mp3', 'bass.wav'],
      ['vocals.mp3', 'bass.wav'],
    ]);
    const vocalSizes = attempts.map((r) => r.files[0]!.size);
    expect(vocalSizes[0]).toBeGreaterThan(vocalSizes[1]!);
    expect(vocalSizes[1]).toBeGreaterThan(vocalSizes[2]!);
    expect(vocalSizes[2]).toBeLessThanOrEqual(GUILD_LIMIT);

    expect(result.state).toBe('delivered');
    expect(result.failures).toEqual([]);
    expect(result.outcomes.map((o) => o.status === 'attached' && [o.name, o.encoding])).toEqual([
      ['vocals', 'mp3_128'],
      ['bass', 'original'],
    ]);
    const message = fake.message(result.messageIds[0]!)!;
    expect(description(message)).toContain('**vocals** — attached (MP3 128 kb/s)');
    expect(description(message)).toContain('**bass** — attached (WAV)');
    expect(fake.violations).toEqual([]);
  });

  it('steps a stem down by its real size before uploading when it is longer than its recorded duration', async () => {
    const [stem] = await makeStems(dataDir, [{ name: 'vocals', seconds: 30 }]);
    const before = fake.requestsTo('POST', CHANNEL_POST).length;
    // The track's metadata says 5 s: MP3 320 is planned, but the real file is 30 s long.
    const result = await deliverStems(base({ stems: [{ ...stem!, durationSeconds: 5 }], limitBytes: GUILD_LIMIT }));

    expect(result.outcomes[0]).toMatchObject({ status: 'attached', encoding: 'mp3_128' });
    const attempts = postsSince(before);
    expect(attempts.map((r) => r.status)).toEqual([200]);
    expect(attempts[0]!.files[0]!.size).toBeLessThanOrEqual(GUILD_LIMIT);
  });

  it('does nothing but report every stem cancelled when the signal has aborted', async () => {
    const stems = await makeStems(dataDir, [{ name: 'vocals', seconds: 1 }]);
    const requests = fake.requests.length;
    const controller = new AbortController();
    controller.abort();
    const result = await deliverStems(base({ stems, signal: controller.signal }));
    expect(result).toEqual({
      state: 'failed',
      outcomes: [{ stemId: stems[0]!.id, name: 'vocals', status: 'failed', reason: 'cancelled' }],
      messageIds: [],
      failures: [],
    });
    expect(fake.requests).toHaveLength(requests);
  });

  it('a stem too long for any encoding becomes a signed link to the file server, which serves its exact bytes', async () => {
    const { stems } = await makeStemRows(orm.em.fork(), dataDir, 'Linked Song', [
      { name: 'vocals', seconds: 30 },
      { name: 'drums', seconds: 1 },
    ]);
    const result = await deliverStems(base({ stems, limitBytes: 100_000, links: { publicBaseUrl: files.url, secret: SECRET, ttlSeconds: 3600 } }));

    expect(result.state).toBe('delivered');
    const [vocals, drums] = result.outcomes;
    expect(vocals).toMatchObject({ status: 'linked', reason: 'too_large' });
    expect(drums).toMatchObject({ status: 'attached', encoding: 'mp3_320' });
    const url = vocals?.status === 'linked' ? vocals.url : '';
    expect(vocals?.status === 'linked' && vocals.expiresAt).toBeGreaterThan(Date.now() + 3500_000);

    const message = fake.message(result.messageIds[0]!)!;
    expect(message.attachments.map((a) => a.filename)).toEqual(['drums.mp3']);
    expect(description(message)).toContain(`**vocals** — [download WAV](${url}) (too long to attach)`);
    expect(description(message)).toMatch(/Links expire <t:\d+:R>\./);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="linked-song-vocals.wav"; filename*=UTF-8''linked-song-vocals.wav`);
    expect(sha(Buffer.from(await response.arrayBuffer()))).toBe(sha(await readFile(stems[0]!.filePath)));

    const tampered = url.replace(/sig=([0-9a-f]+)$/, (_, sig: string) => `sig=${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`);
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('This link is not valid.\n');
  });

  it('splits 11 stems over two messages through the interaction: the original response, then a followup', async () => {
    const { handle } = await deferredInteraction(fake, rest);
    const stems = await makeStems(
      dataDir,
      Array.from({ length: 11 }, (_, i) => ({ name: `part${i + 1}`, seconds: 1 })),
    );
    const result = await deliverStems(
      base({ stems, target: { via: 'interaction', applicationId: fake.applicationId, token: handle.token, first: 'edit_original' } }),
    );

    expect(result.state).toBe('delivered');
    const original = handle.original()!;
    const [followup] = handle.followups();
    expect(result.messageIds).toEqual([original.id, followup!.id]);
    expect(original.attachments.map((a) => a.filename)).toEqual(stems.slice(0, 10).map((s) => `${s.name}.wav`));
    expect(followup!.attachments.map((a) => a.filename)).toEqual(['part11.wav']);
    expect(followup!.content).toBe('Stems 2/2');
    // The first message lists all eleven.
    expect(description(original).split('\n').filter((l) => l.startsWith('• '))).toHaveLength(11);
    expect(original.embeds[0]?.footer?.text).toBe('htdemucs · part 1/2');
    expect(sha(followup!.attachments[0]!.data)).toBe(sha(await readFile(stems[10]!.filePath)));
    expect(result.outcomes.map((o) => o.status === 'attached' && o.messageId)).toEqual([...Array(10).fill(original.id), followup!.id]);
    // Webhook calls carry no bot token: the interaction token is the credential.
    expect(fake.requests.filter((r) => r.path.startsWith(`/webhooks/${fake.applicationId}/`)).every((r) => r.auth === 'none')).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it('corrects the first message\'s list when a 413 on a later message changed a stem', async () => {
    const stems = await makeStems(dataDir, [
      ...Array.from({ length: 10 }, (_, i) => ({ name: `short${i + 1}`, seconds: 1 })),
      { name: 'long', seconds: 30 },
    ]);
    const result = await deliverStems(base({ stems, limitBytes: 1_300_000 }));

    expect(result.state).toBe('delivered');
    expect(result.outcomes[10]).toMatchObject({ status: 'attached', encoding: 'mp3_128', messageId: result.messageIds[1] });
    const first = fake.message(result.messageIds[0]!)!;
    expect(first.history).toHaveLength(2);
    expect(first.history[0]!.embeds[0]?.description).toContain('**long** — attached (MP3 320 kb/s)');
    expect(description(first)).toContain('**long** — attached (MP3 128 kb/s)');
    // The edit changed the text only: the ten files are still there.
    expect(first.attachments).toHaveLength(10);
    expect(fake.message(result.messageIds[1]!)!.attachments.map((a) => a.filename)).toEqual(['long.mp3']);
  });

  it('without a file server, a stem that cannot be attached is reported as failed and said so in the message', async () => {
    const stems = await makeStems(dataDir, [
      { name: 'vocals', seconds: 30 },
      { name: 'drums', seconds: 1 },
    ]);
    const result = await deliverStems(base({ stems, limitBytes: 100_000 }));

    expect(result.state).toBe('partial');
    expect(result.outcomes[0]).toEqual({ stemId: stems[0]!.id, name: 'vocals', status: 'failed', reason: NO_FILE_SERVER_REASON });
    expect(result.outcomes[1]).toMatchObject({ status: 'attached' });
    expect(description(fake.message(result.messageIds[0]!)!)).toContain(`**vocals** — ${NO_FILE_SERVER}`);
  });

  it('lists a stem whose file is missing as not delivered, and delivers the others', async () => {
    const stems = await makeStems(dataDir, [
      { name: 'vocals', seconds: 1 },
      { name: 'bass', seconds: 1 },
    ]);
    await rm(stems[1]!.filePath);
    const result = await deliverStems(base({ stems }));

    expect(result.state).toBe('partial');
    expect(result.outcomes[1]).toEqual({ stemId: stems[1]!.id, name: 'bass', status: 'failed', reason: 'the stem file is missing' });
    const message = fake.message(result.messageIds[0]!)!;
    expect(message.attachments.map((a) => a.filename)).toEqual(['vocals.wav']);
    expect(description(message)).toContain('**bass** — not delivered: the stem file is missing');
  });

  it('when Discord refuses the message, every stem is failed with Discord\'s reason', async () => {
    const stems = await makeStems(dataDir, [{ name: 'vocals', seconds: 1 }]);
    const result = await deliverStems(base({ stems, target: { via: 'channel', channelId: '399999999999999999' } }));

    expect(result.state).toBe('failed');
    expect(result.messageIds).toEqual([]);
    expect(result.failures).toEqual([{ message: 1, status: 404, code: 10003, text: '404 / 10003: Unknown Channel' }]);
    expect(result.outcomes).toEqual([
      { stemId: stems[0]!.id, name: 'vocals', status: 'failed', reason: 'the stems message could not be sent (404 / 10003: Unknown Channel)' },
    ]);
  });

  it('reports an expired interaction token (401 / 50027) so the caller can use the channel instead', async () => {
    const { handle } = await deferredInteraction(fake, rest);
    handle.record.expiresAt = Date.now() - 1;
    const stems = await makeStems(dataDir, [{ name: 'vocals', seconds: 1 }]);
    const result = await deliverStems(
      base({ stems, target: { via: 'interaction', applicationId: fake.applicationId, token: handle.token, first: 'edit_original' } }),
    );
    expect(result.state).toBe('failed');
    expect(result.failures).toMatchObject([{ message: 1, status: 401, code: 50027 }]);
    // The token never appears in what the caller stores.
    expect(JSON.stringify(result)).not.toContain(handle.token);
  });
});
