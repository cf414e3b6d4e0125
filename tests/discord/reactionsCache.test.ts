/**
 * Re-processing by reaction with real work: the real bot process with its
 * workers (role all) and tiny generated models. A member's reaction after
 * the requester's stems arrived separates the same download with another
 * model and delivers those stems; a reaction naming a model whose stems
 * already exist is answered from them, without a new separation.
 */
import { describe, expect, it } from 'vitest';
import { useBot } from './harness.ts';
import { delivered, downloadRows, emojiOf, processingRows, reactionRows, separate, stemFilesPosted, stemsOf } from './reactionsHelpers.ts';

describe('re-processing by reaction, end to end', () => {
  const suite = useBot({ role: 'all', models: ['htdemucs', 'htdemucs_6s'], readyTimeoutMs: 120_000 });

  it('separates the same download with the reacted model, then answers a finished model from its stems', async () => {
    const { fake } = suite.bot;
    const requester = fake.createUser('original-asker');
    const sent = await separate(suite.bot, suite.orm, requester, { model: 'htdemucs' });
    await delivered(suite.orm, requester.id);
    const before = new Set(fake.messages().map((m) => m.id));

    const member = fake.createUser('remixer');
    fake.react(member, fake.channelId, sent.reply.id, emojiOf('htdemucs_6s'));
    const remix = await delivered(suite.orm, member.id);
    expect(remix).toMatchObject({ model: 'htdemucs_6s', model_source: 'reaction', track_id: sent.request.track_id });
    const processing = await processingRows(suite.orm, sent.request.track_id);
    expect(processing.map((p) => [p.model, p.status])).toEqual([
      ['htdemucs', 'completed'],
      ['htdemucs_6s', 'completed'],
    ]);
    expect(remix.processing_job_id).toBe(processing[1]!.id);
    expect(await downloadRows(suite.orm, sent.request.track_id)).toHaveLength(1);
    const afterRemix = fake.messages().filter((m) => !before.has(m.id));
    expect(stemFilesPosted(afterRemix, stemsOf('htdemucs_6s'))).toBe(true);

    // htdemucs is finished for this track: its stems come back without a new separation.
    const seen = new Set(fake.messages().map((m) => m.id));
    const encore = fake.createUser('encore');
    fake.react(encore, fake.channelId, sent.reply.id, emojiOf('htdemucs'));
    const cached = await delivered(suite.orm, encore.id);
    expect(cached).toMatchObject({ model: 'htdemucs', processing_job_id: processing[0]!.id });
    expect(await processingRows(suite.orm, sent.request.track_id)).toHaveLength(2);
    const afterEncore = fake.messages().filter((m) => !seen.has(m.id));
    expect(stemFilesPosted(afterEncore, stemsOf('htdemucs'))).toBe(true);
    // The original reply was left alone by both.
    expect(fake.message(sent.reply.id)!.content + JSON.stringify(fake.message(sent.reply.id)!.embeds)).not.toContain(member.id);

    expect((await reactionRows(suite.orm, sent.request.id)).map((r) => [r.user_id, r.state, r.outcome?.split(':')[0]])).toEqual([
      [member.id, 'handled', 'reprocess'],
      [encore.id, 'handled', 'from_cache'],
    ]);
    expect(fake.violations).toEqual([]);
  }, 600_000);
});
