/**
 * The start-up catch-up pass: reactions made on request messages while no bot
 * process was connected. Discord sends no events for them (a new process
 * identifies afresh; only a RESUME replays), so the pass reads the bot's recent
 * request messages through REST, records a `reaction_choices` row for each
 * reaction that has none yet and hands it to the same handling as a live one
 * (judged as arriving now: Discord does not say when it was made).
 *
 * Which messages, which reactions and which users are new:
 * src/domain/reactionCatchUp.ts. Reads go one at a time through
 * @discordjs/rest, whose queue keeps to Discord's rate limits. A message
 * Discord refuses (deleted, no access) is skipped with a warning; any other
 * failure ends the pass with a warning. The bot runs either way.
 */
import { randomUUID } from 'node:crypto';
import { Routes } from 'discord-api-types/v10';
import { z } from 'zod';
import {
  CATCH_UP_LIMITS,
  afterReadFailure,
  messagesToScan,
  missedReactions,
  nextPageSize,
  reactionsToList,
  type CatchUpLimits,
  type KnownReaction,
  type ListedReaction,
  type MessageToScan,
  type MissedReaction,
  type RequestMessages,
} from '../../domain/reactionCatchUp.ts';
import type { ReactionEmoji } from '../../domain/reactionChoice.ts';
import { restFailure } from '../delivery/restErrors.ts';
import { lockRequest, recentSeparationMessages } from '../../requests/store.ts';
import type { BotDeps } from '../deps.ts';
import { handleSerially } from './index.ts';
import { reactionKey, sightings } from './sightings.ts';

export interface CatchUpResult {
  /** Messages read. */
  read: number;
  /** Rows recorded (and handed to the reaction handling). */
  recorded: number;
  /** Messages Discord refused. */
  skipped: number;
}

export interface CatchUpOptions {
  limits?: CatchUpLimits;
  /** Aborted when the bot stops: the pass ends after the current step. */
  signal?: AbortSignal;
}

/**
 * Separate requests of the last `maxAgeMs` with a message, newest first. Failed ones (also
 * cancelled: /cancel fails the request) are left out: a reaction on them would re-process a track
 * whose work failed or that its requester called off.
 */
async function recentRequestMessages(deps: BotDeps, limits: CatchUpLimits): Promise<RequestMessages[]> {
  const rows = await recentSeparationMessages(deps.orm, limits.maxAgeMs / 1000, limits.maxMessages);
  return rows.map((r) => ({ requestId: r.id, channelId: r.channel_id, messageId: r.message_id, channelMessageId: r.channel_message_id }));
}

// What the pass reads of Discord's answers (GET message, GET reaction users); the rest is not needed.
const MessageReactions = z.object({
  reactions: z
    .array(
      z.object({
        emoji: z.object({ id: z.string().nullable(), name: z.string().nullable() }),
        count: z.int(),
        count_details: z.object({ normal: z.int() }).optional(),
        me: z.boolean(),
      }),
    )
    .optional(),
});
const ReactionUsers = z.array(z.object({ id: z.string() }));

async function listReactions(deps: BotDeps, message: MessageToScan, limits: CatchUpLimits, signal: AbortSignal | undefined): Promise<ListedReaction[]> {
  const fetched = MessageReactions.parse(await deps.rest.get(Routes.channelMessage(message.channelId, message.messageId), { signal }));
  // Super reactions (count_details.burst) are left out, as discord.js lists users by default.
  const counts = (fetched.reactions ?? []).map((r) => ({ emoji: r.emoji, count: r.count_details?.normal ?? r.count, me: r.me }));
  const listed: ListedReaction[] = [];
  for (const emoji of reactionsToList(counts)) listed.push({ emoji, userIds: await listUsers(deps, message, emoji, limits, signal) });
  return listed;
}

/** Who made one reaction, page by page (Discord orders them by user id; `after` is the last one seen). */
async function listUsers(deps: BotDeps, message: MessageToScan, emoji: ReactionEmoji, limits: CatchUpLimits, signal: AbortSignal | undefined): Promise<string[]> {
  const ids: string[] = [];
  let lastPage: number | undefined;
  for (let size = nextPageSize(0, undefined, limits.maxUsersPerReaction); size > 0; size = nextPageSize(ids.length, lastPage, limits.maxUsersPerReaction)) {
    const query = new URLSearchParams({ limit: String(size) });
    if (ids.length) query.set('after', ids[ids.length - 1]!);
    const page = ReactionUsers.parse(
      await deps.rest.get(Routes.channelMessageReaction(message.channelId, message.messageId, encodeURIComponent(emoji.name ?? '')), { query, signal }),
    );
    ids.push(...page.map((u) => u.id));
    lastPage = page.length;
  }
  return ids;
}

/**
 * Records the missed reactions of one message; returns the new rows' ids. The request row is
 * locked, so a second bot process catching up at the same time waits and then sees these rows.
 */
async function recordMissed(deps: BotDeps, message: MessageToScan, reactions: ListedReaction[]): Promise<string[]> {
  let noted: string[] = [];
  try {
    return await deps.orm.em.fork().transactional(async (em) => {
      if (!(await lockRequest(em, message.requestId))) return [];
      const known = await em.execute<KnownReaction[]>(`select user_id as "userId", model from reaction_choices where message_id = ?`, [message.messageId]);
      const keyOf = (m: MissedReaction) => reactionKey(message.messageId, m.userId, m.model);
      const missed = missedReactions({ botUserId: deps.botUserId, reactions, known }).filter((m) => !sightings.seenLive(keyOf(m)));
      // In the same tick as the check above: from here on a live event for these is taken for the same reaction.
      noted = missed.map(keyOf);
      for (const key of noted) sightings.noteCaughtUp(key);
      const ids: string[] = [];
      for (const m of missed) {
        const id = randomUUID();
        await em.execute(`insert into reaction_choices (id, request_id, message_id, user_id, emoji, model) values (?, ?, ?, ?, ?, ?)`, [
          id,
          message.requestId,
          message.messageId,
          m.userId,
          m.emoji,
          m.model,
        ]);
        ids.push(id);
      }
      return ids;
    });
  } catch (error) {
    // Nothing was recorded: a live event for these must not be dropped.
    for (const key of noted) sightings.forgetCaughtUp(key);
    throw error;
  }
}

export async function catchUpReactions(deps: BotDeps, options: CatchUpOptions = {}): Promise<CatchUpResult> {
  const limits = options.limits ?? CATCH_UP_LIMITS;
  const { signal } = options;
  const result: CatchUpResult = { read: 0, recorded: 0, skipped: 0 };
  const messages = messagesToScan(await recentRequestMessages(deps, limits), limits.maxMessages);
  for (const message of messages) {
    // The bot is stopping: end after the current step.
    if (signal?.aborted) break;
    let reactions: ListedReaction[];
    try {
      reactions = await listReactions(deps, message, limits, signal);
    } catch (error) {
      const failure = restFailure(error);
      if (afterReadFailure(failure.status) === 'skip_message') {
        deps.log.warn(`reactions on message ${message.messageId}: not readable (${failure.text}); skipped`);
        result.skipped += 1;
        continue;
      }
      // A failure that would hit every message ends the pass.
      if (!failure.aborted) deps.log.warn(`reading reactions made while the bot was down stopped: ${failure.text}`);
      break;
    }
    result.read += 1;
    for (const id of await recordMissed(deps, message, reactions)) {
      result.recorded += 1;
      // One at a time with the live ones; a failure is logged by that queue.
      handleSerially(deps, id).catch(() => undefined);
    }
  }
  return result;
}
