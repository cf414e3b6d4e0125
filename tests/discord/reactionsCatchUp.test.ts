/**
 * Reactions made while the bot was down, end to end: the real bot process
 * (role all: workers and tiny generated models), the fake Discord, the test
 * database. A stopped bot has no gateway session, and a new process identifies
 * afresh, so Discord never sends it those reactions as events; on start it
 * reads them from the request messages through REST and handles them as if
 * they arrived then. Each is handled once, however often the bot restarts.
 */
import type { APIUser } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { REACTION_OPTIONS } from '../../src/domain/reactionChoice.ts';
import type { StoredMessage } from '../support/fakeDiscord/index.ts';
import { until } from '../support/wait.ts';
import { useBot } from './harness.ts';
import { botReactions, delivered, emojiOf, processingRows, reactionRows, requestsOf, separate, stemFilesPosted, stemsOf } from './reactionsHelpers.ts';

/** The log line of a finished catch-up pass. */
const PASS_LINE = /reactions made while the bot was down: (\d+) message\(s\) read, (\d+) skipped, (\d+) recorded/;

describe('reactions made while the bot was down', () => {
  // A long window, so a restart falls inside it.
  const suite = useBot({ role: 'all', models: ['htdemucs', 'htdemucs_6s'], readyTimeoutMs: 120_000, env: { SFA_REACTION_WINDOW_SECONDS: '600' } });

  /** Stops the bot; resolves once the fake has no gateway session left (so no event can reach a bot). */
  async function stopBot(): Promise<void> {
    await suite.bot.stop();
    await suite.bot.fake.waitUntil('no gateway session', () => suite.bot.fake.connectedSessions === 0, 15_000);
  }

  /** Starts the bot again and waits for its catch-up pass to finish; returns the pass's counts. */
  async function startBot(): Promise<{ read: number; skipped: number; recorded: number }> {
    await suite.bot.restart();
    const line = await until('the catch-up pass', async () => PASS_LINE.exec(suite.bot.output()), 60_000);
    return { read: Number(line[1]), skipped: Number(line[2]), recorded: Number(line[3]) };
  }

  const reactWhileDown = (user: APIUser, message: StoredMessage, emoji: string) =>
    suite.bot.fake.reactWhileDisconnected(user, suite.bot.fake.channelId, message.id, emoji);

  it("re-processes with a member's reaction made while it was down, and after another restart records and delivers nothing twice", async () => {
    const { fake } = suite.bot;
    const requester = fake.createUser('before-the-outage');
    const sent = await separate(suite.bot, suite.orm, requester, { model: 'htdemucs' });
    await delivered(suite.orm, requester.id);
    // A live reaction, handled before the outage (htdemucs is finished: answered from its stems).
    const early = fake.createUser('live-reactor');
    fake.react(early, fake.channelId, sent.reply.id, emojiOf('htdemucs'));
    await delivered(suite.orm, early.id);

    await stopBot();
    const member = fake.createUser('offline-reactor');
    reactWhileDown(member, sent.reply, emojiOf('htdemucs_6s'));
    reactWhileDown(member, sent.reply, '👍');
    const before = new Set(fake.messages().map((m) => m.id));
    expect((await startBot()).recorded).toBe(1);

    const remix = await delivered(suite.orm, member.id);
    expect(remix).toMatchObject({ model: 'htdemucs_6s', model_source: 'reaction', track_id: sent.request.track_id });
    expect((await processingRows(suite.orm, sent.request.track_id)).map((p) => [p.model, p.status])).toEqual([
      ['htdemucs', 'completed'],
      ['htdemucs_6s', 'completed'],
    ]);
    expect(stemFilesPosted(fake.messages().filter((m) => !before.has(m.id)), stemsOf('htdemucs_6s'))).toBe(true);
    const rows = async () => (await reactionRows(suite.orm, sent.request.id)).map((r) => [r.user_id, r.model, r.state, r.outcome?.split(':')[0]]);
    const handled = [
      [early.id, 'htdemucs', 'handled', 'from_cache'],
      [member.id, 'htdemucs_6s', 'handled', 'reprocess'],
    ];
    expect(await rows()).toEqual(handled);

    // Both reactions are still on the message; a further restart reads them again and takes neither for new.
    const messagesBefore = fake.messages().length;
    const postsBefore = fake.requestsTo('POST', '/channels/:channel_id/messages').length;
    const pass = await startBot();
    expect(pass).toMatchObject({ skipped: 0, recorded: 0 });
    expect(pass.read).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await rows()).toEqual(handled);
    expect(await requestsOf(suite.orm, member.id)).toHaveLength(1);
    expect(await requestsOf(suite.orm, early.id)).toHaveLength(1);
    expect(fake.messages()).toHaveLength(messagesBefore);
    expect(fake.requestsTo('POST', '/channels/:channel_id/messages')).toHaveLength(postsBefore);
    expect(fake.violations).toEqual([]);
  }, 300_000);

  it("takes the requester's reaction made while it was down as the model choice, and skips a deleted message with a warning", async () => {
    const { fake } = suite.bot;
    const chooser = fake.createUser('offline-chooser');
    const open = await separate(suite.bot, suite.orm, chooser);
    await fake.waitUntil('the model reactions', () => botReactions(suite.bot, open.reply).length === REACTION_OPTIONS.length, 20_000);
    // A request whose message was deleted since (by a moderator, say): reading it is 404 / 10008.
    const other = fake.createUser('deleted-message');
    const gone = await separate(suite.bot, suite.orm, other, { model: 'htdemucs' });
    await delivered(suite.orm, other.id);
    fake.core.deleteMessage(fake.message(gone.reply.id)!);

    await stopBot();
    reactWhileDown(chooser, open.reply, emojiOf('htdemucs_6s'));
    const pass = await startBot();
    expect(pass).toMatchObject({ skipped: 1, recorded: 1 });
    expect(suite.bot.output()).toMatch(new RegExp(`reactions on message ${gone.reply.id}: not readable \\(404 / 10008: Unknown Message\\); skipped`));

    const chosen = await delivered(suite.orm, chooser.id);
    expect(chosen).toMatchObject({ model: 'htdemucs_6s', model_source: 'reaction' });
    expect(await reactionRows(suite.orm, open.request.id)).toEqual([{ user_id: chooser.id, model: 'htdemucs_6s', state: 'handled', outcome: 'choose' }]);
    expect(stemFilesPosted(open.handle.followups(), stemsOf('htdemucs_6s'))).toBe(true);
    expect(fake.violations).toEqual([]);
  }, 300_000);
});
