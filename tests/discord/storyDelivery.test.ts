/**
 * Delivery when Discord gets in the way, end to end (real bot + workers in
 * one process, fake Discord, tiny model): the interaction token expires early
 * (progress moves to a channel message, stems go with the bot token), uploads
 * refused with 413 (stems step down, then come as links the file server
 * serves), closed DMs (the analysis is posted in the channel mentioning the
 * requester), two users asking for the same song at once (one download, one
 * separation, both get stems), /cancel, and bad input (private, nothing written).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MessageFlags } from 'discord-api-types/v10';
import { countRows } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { useBot } from './harness.ts';
import { delivered, distinctSong, requestsOf, separate } from './reactionsHelpers.ts';
import { probe, stemAttachments } from './storyHelpers.ts';

const SECONDS = 3;
/** The guild's real upload limit: far below a WAV stem, above nothing the plan would pick. */
const REAL_LIMIT = 20_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const isEphemeral = (flags: number) => (flags & MessageFlags.Ephemeral) !== 0;

describe('delivery against an uncooperative Discord', () => {
  let publicBase: string;
  const suite = useBot(async () => {
    const port = await freePort();
    publicBase = `http://127.0.0.1:${port}`;
    return {
      role: 'all',
      models: ['htdemucs'],
      fake: { guilds: [{ name: 'Small Server', channels: ['general', 'uploads'], uploadLimitBytes: REAL_LIMIT }] },
      env: { SFA_REACTION_WINDOW_SECONDS: '20', SFA_HTTP_PORT: String(port), PUBLIC_BASE_URL: publicBase },
    };
  });

  it('answers a bad link and an unknown model privately and writes nothing', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('typo');
    const bad = fake.interact({ user, command: 'separate', options: { url: 'ftp://example.com/song.mp3' } });
    const badReply = await bad.reply();
    expect(isEphemeral(badReply.flags)).toBe(true);
    expect(badReply.content).toMatch(/^Only http\(s\) links are accepted\./);
    const notAudio = fake.interact({ user, command: 'analyze', attachments: { file: { filename: 'notes.txt', data: Buffer.from('hello'), contentType: 'text/plain' } } });
    expect(isEphemeral((await notAudio.reply()).flags)).toBe(true);
    expect(await countRows(suite.orm.em.fork(), 'requests', 'requester_id = ?', [user.id])).toBe(0);
    expect(fake.messages()).toEqual([]);
  });

  it('posts DMs-closed analysis in the channel, mentioning only the requester', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('private', { dmsClosed: true });
    const handle = fake.interact({ user, command: 'analyze', attachments: { file: { filename: 'a.wav', data: distinctSong(SECONDS), contentType: 'audio/wav' } } });
    await handle.acknowledged();
    const fallback = await fake.waitUntil('the channel fallback', () => fake.messages().find((m) => !m.webhookId && m.content.includes(`<@${user.id}>`) && m.embeds[0]?.title?.startsWith('Analysis')), 180_000);
    expect(fallback.content).toContain("couldn't send you a DM");
    // (The picture is over this guild's 20 kB limit, so the fallback is sent as text: see the whole story for the PNG.)
    expect(fallback.embeds[0]?.fields?.map((f) => f.name)).toEqual(['Tempo', 'Key', 'Energy', 'Brightness']);
    expect(fake.dms(user.id)).toEqual([]);
    await delivered(suite.orm, user.id, 30_000);
    expect((await requestsOf(suite.orm, user.id))[0]).toMatchObject({ kind: 'analyze', dm_state: 'closed_fallback_sent' });
  }, 240_000);

  it('when uploads are refused with 413, steps down and then links the stems to the file server', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('bigfiles');
    const channel = fake.guild.channelIds[1]!;
    // The interaction claims 10 MiB, but its token dies at once, so the stems go with the bot token into a
    // guild that really takes 20 kB: the uploads get 413 and the bot steps down until only links are left.
    const handle = fake.interact({
      user,
      channel,
      command: 'separate',
      options: { model: 'htdemucs', format: 'wav' },
      attachmentSizeLimit: 10 * 1024 * 1024,
      tokenTtlMs: 1_000,
      attachments: { file: { filename: 'big.wav', data: distinctSong(SECONDS), contentType: 'audio/wav' } },
    });
    await handle.acknowledged();
    const list = await fake.waitUntil('the stems list', () => fake.messages(channel).find((m) => !m.webhookId && m.embeds[0]?.title?.startsWith('Stems')), 240_000);
    expect(fake.requests.some((r) => r.status === 413)).toBe(true);
    await delivered(suite.orm, user.id, 30_000);
    const final = fake.message(list.id)!;
    const links = [...(final.embeds[0]?.description ?? '').matchAll(/\[download WAV\]\((http[^)]+)\)/g)].map((m) => m[1]!);
    expect(links).toHaveLength(4);
    for (const link of links) {
      expect(link.startsWith(`${publicBase}/files/`)).toBe(true);
      const info = await probe(link);
      expect(Math.abs(info.duration - SECONDS)).toBeLessThan(0.2);
    }
    expect(fake.violations).toEqual([]);
  }, 300_000);

  it('moves progress to a channel message when the interaction token expires, and still delivers', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('slowtoken');
    const handle = fake.interact({
      user,
      command: 'separate',
      options: { model: 'htdemucs' },
      attachmentSizeLimit: REAL_LIMIT,
      attachments: { file: { filename: 'expiring.wav', data: distinctSong(SECONDS), contentType: 'audio/wav' } },
    });
    // The token dies once the request message is up, before the work can finish (a fixed short
    // lifetime raced the tiny model, which can finish everything within it).
    await handle.reply(30_000);
    handle.expireToken();
    const request = await until('the channel message', async () => {
      const [r] = await requestsOf(suite.orm, user.id);
      // Fail fast, with the bot's log, instead of waiting out the timeout for a state that cannot come.
      if (r?.delivery_state === 'failed') throw new Error(`the request failed: ${r.delivery_error}\n${suite.bot.output().slice(-6000)}`);
      return r?.channel_message_id && r.delivery_state === 'delivered' ? r : undefined;
    }, 240_000).catch((error: Error) => {
      throw new Error(`${error.message}\nbot log (tail):\n${suite.bot.output().slice(-6000)}`);
    });
    const moved = fake.message(request.channel_message_id!)!;
    expect(moved.webhookId).toBeUndefined(); // posted with the bot token
    await fake.waitUntil('the moved message to show Done', () => fake.message(request.channel_message_id!)!.embeds[0]?.footer?.text === 'Done', 30_000);
    // The stems went with the bot token too (the webhook refused the dead token).
    const stems = fake.messages().filter((m) => !m.webhookId && m.embeds[0]?.title?.startsWith('Stems') && m.embeds[0]?.description?.includes('download'));
    expect(stems.length).toBeGreaterThanOrEqual(1);
    expect(fake.violations).toEqual([]);
  }, 300_000);

  it('two users asking for the same song at once share one download and one separation, and both get stems', async () => {
    const { fake } = suite.bot;
    const song = distinctSong(SECONDS);
    const [a, b] = [fake.createUser('twin_a'), fake.createUser('twin_b')];
    const handles = [a, b].map((user) =>
      fake.interact({ user, command: 'separate', options: { model: 'htdemucs', format: 'mp3' }, attachmentSizeLimit: 10 * 1024 * 1024, attachments: { file: { filename: 'same.wav', data: song, contentType: 'audio/wav' } } }),
    );
    await Promise.all(handles.map((h) => h.acknowledged()));
    for (const h of handles) {
      await fake.waitUntil('stems for each user', () => (h.followups().find((m) => m.embeds[0]?.title?.startsWith('Stems')) ? true : undefined), 240_000);
    }
    const [ra] = await requestsOf(suite.orm, a.id);
    const [rb] = await requestsOf(suite.orm, b.id);
    expect(ra!.track_id).toBe(rb!.track_id);
    expect(ra!.processing_job_id).toBe(rb!.processing_job_id);
    const em = suite.orm.em.fork();
    expect(await countRows(em, 'download_jobs', 'track_id = ?', [ra!.track_id])).toBe(1);
    expect(await countRows(em, 'processing_jobs', 'track_id = ?', [ra!.track_id])).toBe(1);
    for (const h of handles) {
      const files = stemAttachments(h.followups());
      // Each stem arrives as a file, or (over the guild's 20 kB) as a link; none is missing.
      const listed = h.followups().find((m) => m.embeds[0]?.title?.startsWith('Stems'))!.embeds[0]!.description!;
      for (const stem of ['bass', 'drums', 'other', 'vocals']) expect(listed).toContain(`**${stem}**`);
      expect(listed).not.toContain('not delivered');
      expect(files.length + (listed.match(/\[download /g)?.length ?? 0)).toBeGreaterThanOrEqual(4);
    }
  }, 300_000);

  it('/cancel waits for a write holding the request row instead of saying there is nothing to cancel', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('busyrow');
    const { request } = await separate(suite.bot, suite.orm, user, { seconds: SECONDS });
    // Another transaction holds the row while /cancel runs, as a progress edit or a delivery does for a moment.
    const cancel = await suite.orm.em.fork().transactional(async (tx) => {
      await tx.execute('select id from requests where id = ? for update', [request.id]);
      const pending = fake.interact({ user, command: 'cancel' });
      await pending.acknowledged(10_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return pending;
    });
    expect((await cancel.reply(30_000)).content).toMatch(/^Cancelled your request for \*\*/);
    await until('the request to be cancelled', async () => (await requestsOf(suite.orm, user.id))[0]?.delivery_state === 'failed', 10_000);
  }, 120_000);

  it('/cancel stops the latest request, says so privately and on its message', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('changedmind');
    const { handle } = await separate(suite.bot, suite.orm, user, { seconds: SECONDS });
    // No model: the separation waits for the 20 s reaction window, so the request is still
    // unfinished when /cancel arrives (the analysis alone may already be done and DM'd).
    const dmsBefore = fake.dms(user.id).length;
    const cancel = await fake.interact({ user, command: 'cancel' }).reply(30_000);
    expect(isEphemeral(cancel.flags)).toBe(true);
    expect(cancel.content).toMatch(/^Cancelled your request for \*\*/);
    await fake.waitUntil('the message to say it was cancelled', () => handle.original()?.content === 'Cancelled at your request.', 30_000);
    const [request] = await requestsOf(suite.orm, user.id);
    expect(request).toMatchObject({ delivery_state: 'failed', delivery_error: 'cancelled by the requester' });
    // Nothing is delivered for it later.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(handle.followups()).toEqual([]);
    expect(fake.dms(user.id)).toHaveLength(dmsBefore);
  }, 120_000);
});
