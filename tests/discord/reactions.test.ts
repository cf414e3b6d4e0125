/**
 * Reactions on a /separate message, end to end: the real bot process (role
 * bot: no workers, so every separation stays queued and what the reactions
 * asked for is exactly what the rows show), the fake Discord, the test
 * database. Choosing the model inside the window, the default after it,
 * re-processing by other members, per-user limits (also on /separate itself), and reactions that reach
 * the bot late (gateway RESUME replay) or were recorded by a process that
 * died before handling them.
 */
import { MessageFlags, type APIUser } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL } from '../../src/domain/modelCatalog.ts';
import { REACTION_OPTIONS } from '../../src/domain/reactionChoice.ts';
import { tooManyRequests } from '../../src/commands/requestFlow.ts';
import { insertReactionChoice } from '../support/db.ts';
import { until } from '../support/wait.ts';
import { useBot } from './harness.ts';
import { botReactions, distinctSong, downloadRows, emojiOf, processingRows, reactionRows, requestsOf, separate, type RequestRow, type SentRequest } from './reactionsHelpers.ts';

const WINDOW_SECONDS = 6;

describe('model choice and re-processing by reaction', () => {
  const suite = useBot(
    { role: 'bot', env: { SFA_REACTION_WINDOW_SECONDS: String(WINDOW_SECONDS), SFA_USER_CONCURRENCY: '1', SFA_USER_REQUESTS_PER_HOUR: '1' } },
    120_000,
  );

  /** A /separate without model: whose message carries all of the bot's model reactions. */
  async function openRequest(user: APIUser): Promise<SentRequest> {
    const sent = await separate(suite.bot, suite.orm, user);
    await suite.bot.fake.waitUntil('the model reactions', () => botReactions(suite.bot, sent.reply).length === REACTION_OPTIONS.length, 20_000);
    return sent;
  }

  const react = (user: APIUser, sent: SentRequest, model: string) => suite.bot.fake.react(user, suite.bot.fake.channelId, sent.reply.id, emojiOf(model));

  /** Waits until the user's first request has a processing job (its model is settled); returns the row. */
  const modelSettled = (user: APIUser, what: string, timeoutMs?: number): Promise<RequestRow> =>
    until(
      what,
      async () => {
        const row = (await requestsOf(suite.orm, user.id))[0]!;
        return row.processing_job_id ? row : undefined;
      },
      timeoutMs,
    );

  it('refuses a second /separate while the user already has one in progress (SFA_USER_CONCURRENCY=1)', async () => {
    const user = suite.bot.fake.createUser('eager');
    await separate(suite.bot, suite.orm, user, { model: 'htdemucs' });
    const second = suite.bot.fake.interact({
      user,
      command: 'separate',
      options: { model: 'htdemucs' },
      attachments: { file: { filename: 'song.wav', data: distinctSong(), contentType: 'audio/wav' } },
    });
    // A refusal found after the (public) defer: the deferred reply is deleted and the user alone is answered.
    const reply = await suite.bot.fake.waitUntil('the private refusal', () => second.followups()[0], 30_000);
    expect(reply.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(reply.content).toBe(tooManyRequests(1, 1));
    expect(await requestsOf(suite.orm, user.id)).toHaveLength(1);
    expect(suite.bot.fake.violations).toEqual([]);
  }, 60_000);

  it("offers one reaction per catalog model, in catalog order, and never takes its own reactions for a choice", async () => {
    const requester = suite.bot.fake.createUser('chooser');
    const sent = await openRequest(requester);
    expect(botReactions(suite.bot, sent.reply).map((e) => e.replace(/\uFE0F/g, ''))).toEqual(REACTION_OPTIONS.map((o) => o.emoji.replace(/\uFE0F/g, '')));
    // The echoes of its own four reactions chose nothing and were not even recorded.
    expect((await requestsOf(suite.orm, requester.id))[0]!.model).toBeNull();
    expect(await reactionRows(suite.orm, sent.request.id)).toEqual([]);
    expect(suite.bot.fake.violations).toEqual([]);
  }, 60_000);

  it("takes the requester's reaction inside the window as the model and ignores other members'", async () => {
    const user = suite.bot.fake.createUser('picker');
    const bystander = suite.bot.fake.createUser('bystander');
    const sent = await openRequest(user);
    react(bystander, sent, 'mdx_extra');
    await until('the bystander reaction to be decided', async () => (await reactionRows(suite.orm, sent.request.id)).find((r) => r.state !== 'pending'));
    react(user, sent, 'htdemucs_6s');
    const chosen = await modelSettled(user, 'the model choice');
    expect(chosen).toMatchObject({ model: 'htdemucs_6s', model_source: 'reaction' });
    expect((await processingRows(suite.orm, chosen.track_id)).map((p) => p.model)).toEqual(['htdemucs_6s']);
    expect(await reactionRows(suite.orm, sent.request.id)).toEqual([
      { user_id: bystander.id, model: 'mdx_extra', state: 'ignored', outcome: 'not_requester' },
      { user_id: user.id, model: 'htdemucs_6s', state: 'handled', outcome: 'choose' },
    ]);
    // The bystander made no request of their own.
    expect(await requestsOf(suite.orm, bystander.id)).toEqual([]);
  }, 60_000);

  it(`uses ${DEFAULT_MODEL} when nobody chose within the window`, async () => {
    const user = suite.bot.fake.createUser('undecided');
    const sent = await openRequest(user);
    const chosen = await modelSettled(user, 'the default model', WINDOW_SECONDS * 1000 + 20_000);
    expect(chosen).toMatchObject({ model: DEFAULT_MODEL, model_source: 'default' });
    expect((await processingRows(suite.orm, sent.request.track_id)).map((p) => p.model)).toEqual([DEFAULT_MODEL]);
  }, 60_000);

  it('re-processes the same download with the model a member reacts with after the window, within their limit', async () => {
    const user = suite.bot.fake.createUser('first-asker');
    const member = suite.bot.fake.createUser('remixer');
    const sent = await openRequest(user);
    react(user, sent, 'htdemucs');
    await modelSettled(user, 'the choice');

    react(member, sent, 'htdemucs_ft');
    const asked = await until('the member request', async () => {
      const rows = await requestsOf(suite.orm, member.id);
      return rows[0]?.processing_job_id ? rows[0] : undefined;
    });
    expect(asked).toMatchObject({ model: 'htdemucs_ft', model_source: 'reaction', track_id: sent.request.track_id });
    const processing = await processingRows(suite.orm, sent.request.track_id);
    expect(processing.map((p) => p.model)).toEqual(['htdemucs', 'htdemucs_ft']);
    expect(asked.processing_job_id).toBe(processing[1]!.id);
    expect(await downloadRows(suite.orm, sent.request.track_id)).toHaveLength(1);

    // SFA_USER_CONCURRENCY=1 and that separation is still queued: a second one is refused, with a reply that pings only them.
    const before = suite.bot.fake.requestsTo('POST', '/channels/:channel_id/messages').length;
    react(member, sent, 'mdx_extra');
    const notice = await suite.bot.fake.waitUntil('the limit notice', () =>
      suite.bot.fake.messages().find((m) => m.content.includes(`<@${member.id}>`) && m.content.includes('the limit is 1')),
    );
    expect(notice.content).toContain('React again when one has finished');
    const post = suite.bot.fake.requestsTo('POST', '/channels/:channel_id/messages').slice(before).find((r) => JSON.stringify(r.body).includes(`<@${member.id}>`));
    expect((post?.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ users: [member.id] });
    expect((await processingRows(suite.orm, sent.request.track_id)).map((p) => p.model)).toEqual(['htdemucs', 'htdemucs_ft']);
    expect(await requestsOf(suite.orm, member.id)).toHaveLength(1);
    const outcomes = (await reactionRows(suite.orm, sent.request.id)).filter((r) => r.user_id === member.id).map((r) => [r.model, r.state, r.outcome?.split(':')[0]]);
    expect(outcomes).toEqual([
      ['htdemucs_ft', 'handled', 'reprocess'],
      ['mdx_extra', 'ignored', 'over_limit'],
    ]);
    // The model already running for this message is not asked for twice.
    const other = suite.bot.fake.createUser('latecomer');
    react(other, sent, 'htdemucs_ft');
    await until('the latecomer reaction to be decided', async () => (await reactionRows(suite.orm, sent.request.id)).find((r) => r.user_id === other.id && r.state !== 'pending'));
    expect((await reactionRows(suite.orm, sent.request.id)).find((r) => r.user_id === other.id)).toMatchObject({ state: 'ignored', outcome: 'in_progress' });
    expect(suite.bot.fake.violations).toEqual([]);
  }, 90_000);

  it('refuses re-processing over the hourly limit (SFA_USER_REQUESTS_PER_HOUR=1) and says when to ask again', async () => {
    const owner = suite.bot.fake.createUser('song-owner');
    const sent = await separate(suite.bot, suite.orm, owner, { model: 'htdemucs' });
    // This hour's one request, no longer running (cancelled), so only the hourly limit applies.
    const member = suite.bot.fake.createUser('hourly');
    await separate(suite.bot, suite.orm, member, { model: 'htdemucs' });
    expect((await suite.bot.fake.interact({ user: member, command: 'cancel' }).reply(30_000)).content).toMatch(/^Cancelled/);

    react(member, sent, 'htdemucs_ft');
    const notice = await suite.bot.fake.waitUntil('the hourly limit notice', () =>
      suite.bot.fake.messages().find((m) => m.content.includes(`<@${member.id}>`) && m.content.includes('in the last hour')),
    );
    expect(notice.content).toMatch(/You've made 1 request in the last hour \(the limit is 1\)\. You can ask again <t:\d+:R>\./);
    expect(await requestsOf(suite.orm, member.id)).toHaveLength(1);
    expect((await processingRows(suite.orm, sent.request.track_id)).map((p) => p.model)).toEqual(['htdemucs']);
    expect((await reactionRows(suite.orm, sent.request.id)).map((r) => [r.user_id, r.state, r.outcome?.split(':')[0]])).toEqual([[member.id, 'ignored', 'over_limit']]);

    // Taking the reaction back and adding it again, twice, is not a new notice each time: one per user per window.
    for (const round of [1, 2]) {
      suite.bot.fake.unreact(member, suite.bot.fake.channelId, sent.reply.id, emojiOf('htdemucs_ft'));
      react(member, sent, 'htdemucs_ft');
      await until(`re-added reaction ${round} to be decided`, async () => {
        const rows = await reactionRows(suite.orm, sent.request.id);
        return rows.length === 1 + round && rows.every((r) => r.state !== 'pending') ? rows : undefined;
      });
    }
    const notices = suite.bot.fake.messages().filter((m) => m.content.includes(`<@${member.id}>`) && m.content.includes('in the last hour'));
    expect(notices).toHaveLength(1);
    expect((await reactionRows(suite.orm, sent.request.id)).map((r) => r.outcome)).toEqual(['over_limit', 'over_limit_told', 'over_limit_told']);
    expect(suite.bot.fake.violations).toEqual([]);
  }, 90_000);

  it('hears a reaction made while its gateway connection was down once Discord replays it on RESUME', async () => {
    const user = suite.bot.fake.createUser('offline-picker');
    const sent = await openRequest(user);
    const resumes = suite.bot.fake.gatewayStats.resumes.length;
    suite.bot.fake.disconnect({ resumable: true });
    react(user, sent, 'mdx_extra');
    await suite.bot.fake.waitUntil('the bot to resume', () => suite.bot.fake.gatewayStats.resumes.length > resumes && suite.bot.fake.connectedSessions > 0, 20_000);
    const chosen = await modelSettled(user, 'the replayed choice');
    expect(chosen).toMatchObject({ model: 'mdx_extra', model_source: 'reaction' });
  }, 60_000);

  it('finishes, after a restart, a reaction that was recorded but not handled when the process died', async () => {
    const user = suite.bot.fake.createUser('crash-picker');
    // A long window, so the restart happens inside it.
    const sent = await openRequest(user);
    await suite.orm.em.fork().getConnection().execute(`update requests set reaction_window_ends_at = now() + interval '10 minutes' where id = ?`, [sent.request.id]);
    await suite.bot.stop('SIGKILL');
    // What the listener writes before it decides anything, as a process killed right after it would have left it.
    await insertReactionChoice(suite.orm.em.fork(), sent.request.id, { message_id: sent.reply.id, user_id: user.id, emoji: emojiOf('htdemucs_6s'), model: 'htdemucs_6s' });
    await suite.bot.restart();
    const chosen = await modelSettled(user, 'the drained choice');
    expect(chosen).toMatchObject({ model: 'htdemucs_6s', model_source: 'reaction' });
    expect(await reactionRows(suite.orm, sent.request.id)).toEqual([{ user_id: user.id, model: 'htdemucs_6s', state: 'handled', outcome: 'choose' }]);
    expect(suite.bot.fake.violations).toEqual([]);
  }, 180_000);
});
