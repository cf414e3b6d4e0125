/**
 * Re-processing by reaction with real work: the real bot process with its
 * workers (role all) and tiny generated models. A member's reaction after
 * the requester's stems arrived separates the same download with another
 * model and delivers those stems; a reaction naming a model whose stems
 * already exist is answered from them, without a new separation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orm } from '../../src/db/orm.ts';
import { MODELS } from '../../src/domain/modelCatalog.ts';
import { openFileOrm } from '../support/db.ts';
import type { StoredMessage } from '../support/fakeDiscord/index.ts';
import { startBotHarness, type BotHarness } from './harness.ts';
import { downloadRows, emojiOf, processingRows, reactionRows, requestsOf, separate, until } from './reactionsHelpers.ts';

const stemsOf = (model: string) => MODELS.find((m) => m.name === model)!.stems;

describe('re-processing by reaction, end to end', () => {
  let bot: BotHarness;
  let orm: Orm;

  beforeAll(async () => {
    orm = await openFileOrm();
    bot = await startBotHarness({ role: 'all', models: ['htdemucs', 'htdemucs_6s'], readyTimeoutMs: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await bot?.close();
    await orm?.close();
  }, 60_000);

  const delivered = (userId: string) =>
    until(
      `the request of ${userId} to be delivered`,
      async () => {
        const row = (await requestsOf(orm, userId))[0];
        if (row?.delivery_state === 'failed') throw new Error(`request ${row.id} failed`);
        return row?.delivery_state === 'delivered' ? row : undefined;
      },
      240_000,
    );

  /** Channel messages (not the reply) carrying a stem file for each of `stems`. */
  const stemFilesPosted = (messages: StoredMessage[], stems: readonly string[]) => {
    const names = messages.flatMap((m) => m.attachments.map((a) => a.filename.toLowerCase()));
    return stems.every((stem) => names.some((n) => n.includes(stem)));
  };

  it('separates the same download with the reacted model, then answers a finished model from its stems', async () => {
    const { fake } = bot;
    const requester = fake.createUser('original-asker');
    const sent = await separate(bot, orm, requester, { model: 'htdemucs' });
    await delivered(requester.id);
    const before = new Set(fake.messages().map((m) => m.id));

    const member = fake.createUser('remixer');
    fake.react(member, fake.channelId, sent.reply.id, emojiOf('htdemucs_6s'));
    const remix = await delivered(member.id);
    expect(remix).toMatchObject({ model: 'htdemucs_6s', model_source: 'reaction', track_id: sent.request.track_id });
    const processing = await processingRows(orm, sent.request.track_id);
    expect(processing.map((p) => [p.model, p.status])).toEqual([
      ['htdemucs', 'completed'],
      ['htdemucs_6s', 'completed'],
    ]);
    expect(remix.processing_job_id).toBe(processing[1]!.id);
    expect(await downloadRows(orm, sent.request.track_id)).toHaveLength(1);
    const afterRemix = fake.messages().filter((m) => !before.has(m.id));
    expect(stemFilesPosted(afterRemix, stemsOf('htdemucs_6s'))).toBe(true);

    // htdemucs is finished for this track: its stems come back without a new separation.
    const seen = new Set(fake.messages().map((m) => m.id));
    const encore = fake.createUser('encore');
    fake.react(encore, fake.channelId, sent.reply.id, emojiOf('htdemucs'));
    const cached = await delivered(encore.id);
    expect(cached).toMatchObject({ model: 'htdemucs', processing_job_id: processing[0]!.id });
    expect(await processingRows(orm, sent.request.track_id)).toHaveLength(2);
    const afterEncore = fake.messages().filter((m) => !seen.has(m.id));
    expect(stemFilesPosted(afterEncore, stemsOf('htdemucs'))).toBe(true);
    // The original reply was left alone by both.
    expect(fake.message(sent.reply.id)!.content + JSON.stringify(fake.message(sent.reply.id)!.embeds)).not.toContain(member.id);

    expect((await reactionRows(orm, sent.request.id)).map((r) => [r.user_id, r.state, r.outcome?.split(':')[0]])).toEqual([
      [member.id, 'handled', 'reprocess'],
      [encore.id, 'handled', 'from_cache'],
    ]);
    expect(fake.violations).toEqual([]);
  }, 600_000);
});
