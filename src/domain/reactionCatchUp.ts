/**
 * Reactions made while the bot was down (pure). A new bot process identifies
 * afresh with the gateway, so Discord never replays the MESSAGE_REACTION_ADD
 * events it missed. On start the bot reads the reactions on its recent request
 * messages through the REST API instead; these functions decide which messages
 * to read, which reactions are worth listing the users of, which (user, model)
 * pairs are new, and whether a failed read skips one message or ends the pass.
 *
 * Discord does not say when a reaction was made, so a reaction found this way
 * is recorded and judged as if it arrived now.
 */
import type { ModelName } from './modelCatalog.ts';
import { HOUR_MS, modelForEmoji, type ReactionEmoji } from './reactionChoice.ts';

export interface CatchUpLimits {
  /** Request messages read per pass (newest first): one GET each, plus one per model reaction someone else made. */
  maxMessages: number;
  /** Users listed per reaction (pages of up to 100). */
  maxUsersPerReaction: number;
  /** Only requests made this recently; older messages have scrolled out of view. */
  maxAgeMs: number;
}

export const CATCH_UP_LIMITS: Readonly<CatchUpLimits> = Object.freeze({ maxMessages: 25, maxUsersPerReaction: 200, maxAgeMs: 24 * HOUR_MS });

/** Discord's largest page of GET .../reactions/{emoji}. */
export const USERS_PAGE_SIZE = 100;

/** A request that takes reactions, with the messages it has. */
export interface RequestMessages {
  requestId: string;
  channelId: string;
  /** The interaction reply. */
  messageId: string | null;
  /** The bot-token channel message that replaced it (long jobs) or that a re-process posted. */
  channelMessageId: string | null;
}

export interface MessageToScan {
  requestId: string;
  channelId: string;
  messageId: string;
}

/** The messages to read, in the order given (newest request first): each one once, at most `max`. */
export function messagesToScan(requests: readonly RequestMessages[], max: number): MessageToScan[] {
  const out: MessageToScan[] = [];
  const seen = new Set<string>();
  for (const r of requests) {
    for (const messageId of [r.messageId, r.channelMessageId]) {
      if (out.length >= max) return out;
      if (messageId === null || seen.has(messageId)) continue;
      seen.add(messageId);
      out.push({ requestId: r.requestId, channelId: r.channelId, messageId });
    }
  }
  return out;
}

/** A reaction as GET message reports it: `count` of normal (not super) reactions, `me` whether the bot's is one of them. */
export interface ReactionCount {
  emoji: ReactionEmoji;
  count: number;
  me: boolean;
}

/** The reactions whose users are worth listing: they name a model and someone besides the bot made them. */
export function reactionsToList(reactions: readonly ReactionCount[]): ReactionEmoji[] {
  return reactions.filter((r) => modelForEmoji(r.emoji) !== undefined && r.count - (r.me ? 1 : 0) > 0).map((r) => r.emoji);
}

/** How many users to ask for next, or 0 when the listing is complete or the bound is reached. */
export function nextPageSize(listed: number, lastPageSize: number | undefined, maxUsers: number): number {
  if (lastPageSize !== undefined && lastPageSize < USERS_PAGE_SIZE) return 0;
  return Math.max(0, Math.min(USERS_PAGE_SIZE, maxUsers - listed));
}

export interface ListedReaction {
  emoji: ReactionEmoji;
  userIds: readonly string[];
}

/** A reaction already accounted for: a `reaction_choices` row of the message, or an event the live listener got. */
export interface KnownReaction {
  userId: string;
  model: string;
}

export interface MissedReaction {
  userId: string;
  /** As Discord names it (what the live listener stores). */
  emoji: string;
  model: ModelName;
}

/**
 * The reactions to record: one per (user, model) that names a catalog model, is not the bot's own
 * and is not known yet, in the order listed. A user listed under two spellings of one emoji (with
 * and without U+FE0F) is one reaction.
 */
export function missedReactions(input: { botUserId: string; reactions: readonly ListedReaction[]; known: readonly KnownReaction[] }): MissedReaction[] {
  const key = (userId: string, model: string) => `${userId}\n${model}`;
  const taken = new Set(input.known.map((k) => key(k.userId, k.model)));
  const out: MissedReaction[] = [];
  for (const reaction of input.reactions) {
    const model = modelForEmoji(reaction.emoji);
    if (model === undefined || !reaction.emoji.name) continue;
    for (const userId of reaction.userIds) {
      if (userId === input.botUserId || taken.has(key(userId, model))) continue;
      taken.add(key(userId, model));
      out.push({ userId, emoji: reaction.emoji.name, model });
    }
  }
  return out;
}

/**
 * What a failed read means for the pass. Discord refused this one message (deleted: 404 / 10008,
 * no access: 403 / 50001, ...): skip it, the others may be fine. Anything else (network, Discord's
 * own 5xx, a 429 the REST queue gave up on, the bot stopping) would fail for the rest too: stop.
 */
export function afterReadFailure(status: number | undefined): 'skip_message' | 'stop_pass' {
  return status !== undefined && status >= 400 && status < 500 && status !== 429 ? 'skip_message' : 'stop_pass';
}
