/**
 * Reactions on request messages: the model choice inside the window and
 * re-processing with another model afterwards.
 *
 * - One global `messageReactionAdd` listener (collectors live in memory and
 *   die with the process). Only ids are needed (message, channel, user, emoji),
 *   and discord.js gives those even for partial messages/reactions, so nothing
 *   is fetched: reactions on messages from before a restart work the same.
 * - Every reaction that names a model on a request message becomes a
 *   `reaction_choices` row (pending) BEFORE anything is decided; handling
 *   claims the row (`FOR UPDATE SKIP LOCKED`, so two bot processes never both
 *   act on it) and leaves it handled/ignored with its outcome. A crash in
 *   between leaves it pending and `drainPendingReactionChoices` finishes it on
 *   start.
 * - Reactions made while no bot process was connected never arrive as events
 *   (a new process identifies afresh; only a RESUME replays): the start-up
 *   catch-up (./catchUp.ts) reads them through REST and records them the same
 *   way, taken as arriving then.
 * - The decision is src/domain/reactionChoice.ts. The reaction's time is when
 *   it was recorded, so one drained after a restart is judged by when the user
 *   made it.
 * - choose → `applyModelChoice(..., 'reaction')` (first choice wins).
 *   reprocess / from_cache → a new request row for the reactor (same track,
 *   channel and format, model already chosen, no DM, no interaction token of
 *   its own, so its progress and stems go to channel messages of its own) then `startSeparation`, which
 *   reuses the download and, for a finished model, the stems: the delivery
 *   path then answers at once. The new request is the choice's
 *   `spawned_request_id`, which is how "models running for this message" is known.
 * - Over a user's limit → a short channel reply to the request message that
 *   pings only that user. Not a DM: DMs may be closed (403 / 50007) and the
 *   reactor is looking at that channel; allowed_mentions keeps anyone else
 *   from being pinged.
 */
import { randomUUID } from 'node:crypto';
import { RESTEvents, type REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { Events, type Client, type MessageReaction, type PartialMessageReaction, type PartialUser, type User } from 'discord.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isModelName, type ModelName } from '../../domain/modelCatalog.ts';
import {
  HOUR_MS,
  shouldSendLimitNotice,
  REACTION_OPTIONS,
  decideReaction,
  modelForEmoji,
  type ReactionDecision,
  type UserLimits,
} from '../../domain/reactionChoice.ts';
import { requestsInProgress } from '../../requests/slots.ts';
import { insertReprocessRequest, lockRequest, requestTimesOfLastHour, runningModelsOfMessage, separationOfMessage } from '../../requests/store.ts';
import type { BotDeps } from '../deps.ts';
import { applyModelChoice, startSeparation } from '../requests/chooseModel.ts';
import { reactionKey, sightings } from './sightings.ts';

/** How long to wait once for a request row whose message id is not stored yet (the reply was just posted). */
const LOOKUP_RETRY_MS = 1_000;

export function userLimits(deps: BotDeps): UserLimits {
  return { maxInFlight: deps.config.limits.userConcurrency, maxPerHour: deps.config.limits.userRequestsPerHour };
}

/** Registers the listener (for the client's life); call before anything can post a request message. */
export function attachReactionHandling(client: Client, deps: BotDeps): void {
  const handler = (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
    void recordReaction(deps, {
      messageId: reaction.message.id,
      userId: user.id,
      emojiName: reaction.emoji.name,
      emojiId: reaction.emoji.id,
    }).catch((error: unknown) => deps.log.error(`reaction on ${reaction.message.id}: ${(error as Error).message}`));
  };
  client.on(Events.MessageReactionAdd, handler);
}

export interface ReactionEvent {
  messageId: string;
  userId: string;
  emojiName: string | null;
  emojiId: string | null;
}

/** Records a reaction that names a model on a request message, then handles it. */
export async function recordReaction(deps: BotDeps, event: ReactionEvent): Promise<void> {
  // Discord echoes the bot's own reactions; unknown and custom emoji name no model.
  if (event.userId === deps.botUserId) return;
  const model = modelForEmoji({ name: event.emojiName, id: event.emojiId });
  if (model === undefined) return;
  // The start-up catch-up may have just recorded this very reaction through REST (./sightings.ts).
  if (!sightings.noteLive(reactionKey(event.messageId, event.userId, model))) return;
  let requestId = await requestForMessage(deps, event.messageId);
  if (!requestId) {
    await new Promise((resolve) => setTimeout(resolve, LOOKUP_RETRY_MS));
    requestId = await requestForMessage(deps, event.messageId);
  }
  if (!requestId) return;
  const rows = await deps.orm.em.getConnection().execute<{ id: string }[]>(
    `insert into reaction_choices (id, request_id, message_id, user_id, emoji, model) values (?, ?, ?, ?, ?, ?) returning id`,
    [randomUUID(), requestId, event.messageId, event.userId, event.emojiName ?? '', model],
  );
  await handleSerially(deps, rows[0]!.id);
}

function requestForMessage(deps: BotDeps, messageId: string): Promise<string | undefined> {
  return separationOfMessage(deps.orm, messageId);
}

/** Pending reactions (recorded, never handled: the process stopped in between), oldest first. */
export async function drainPendingReactionChoices(deps: BotDeps): Promise<number> {
  const rows = await deps.orm.em
    .getConnection()
    .execute<{ id: string }[]>(`select id from reaction_choices where state = 'pending' order by inserted_at, id`);
  let handled = 0;
  for (const row of rows) if (await handleSerially(deps, row.id)) handled += 1;
  return handled;
}

// One at a time per process, so a user's limit counts the request their previous reaction made.
let queue: Promise<unknown> = Promise.resolve();
/** Handles a recorded (pending) choice after those already queued; false when it was not this process's to handle. */
export function handleSerially(deps: BotDeps, choiceId: string): Promise<boolean> {
  const run = queue.then(() => handleChoice(deps, choiceId));
  queue = run.catch((error: unknown) => deps.log.error(`reaction ${choiceId}: ${(error as Error).stack ?? String(error)}`));
  return run;
}

interface ChoiceRow {
  id: string;
  request_id: string;
  user_id: string;
  model: string;
  emoji: string;
  inserted_at: Date | string;
}

interface RequestRow {
  requester_id: string;
  guild_id: string | null;
  channel_id: string;
  message_id: string | null;
  channel_message_id: string | null;
  application_id: string;
  interaction_token: string;
  model: string | null;
  format: string | null;
  track_id: string;
  reaction_window_ends_at: Date | string | null;
  processing_job_id: string | null;
  attachment_size_limit: string | number | null;
}

type Followup = { kind: 'choose'; model: ModelName } | { kind: 'separate'; requestId: string } | { kind: 'notice'; text: string; request: RequestRow; userId: string };

/** Handles one pending choice; false when another process has it or it was already handled. */
async function handleChoice(deps: BotDeps, choiceId: string): Promise<boolean> {
  let followup: Followup | undefined;
  let requestId = '';
  const claimed = await deps.orm.em.fork().transactional(async (em) => {
    const choice = (
      await em.execute<ChoiceRow[]>(
        `select id, request_id, user_id, model, emoji, inserted_at from reaction_choices where id = ? and state = 'pending' for update skip locked`,
        [choiceId],
      )
    )[0];
    if (!choice) return false;
    requestId = choice.request_id;
    // Serialises decisions on one request across processes.
    const request = await lockRequest<RequestRow>(em, choice.request_id);
    if (!request || !isModelName(choice.model)) {
      await finish(em, choice.id, 'ignored', 'request_gone');
      return true;
    }
    const decision = await decide(deps, em, choice, request);
    const outcome = await act(em, decision, choice, request);
    followup = outcome.followup;
    // A choice stays pending until applyModelChoice (after this transaction: it updates the row locked
    // here) has run, so a crash in between is finished by the next start; applying twice is harmless.
    if (followup?.kind !== 'choose') await finish(em, choice.id, outcome.state, outcome.outcome, outcome.spawned);
    return true;
  });
  if (!claimed || !followup) return claimed;
  const f: Followup = followup;
  if (f.kind === 'choose') {
    const result = await applyModelChoice(deps, requestId, f.model, 'reaction');
    // Lost the race (the window's default, or another process, came first): nothing was done.
    const [state, outcome] = result === 'already_chosen' ? ['ignored', 'already_chosen'] : ['handled', 'choose'];
    await deps.orm.em
      .getConnection()
      .execute(`update reaction_choices set state = ?, outcome = ?, handled_at = now(), updated_at = now() where id = ? and state = 'pending'`, [state, outcome, choiceId]);
    deps.log.info(`request ${requestId}: model ${f.model} by reaction: ${result}`);
  } else if (f.kind === 'separate') {
    const result = await startSeparation(deps, f.requestId);
    deps.requestChanged(f.requestId);
    deps.log.info(`request ${f.requestId} (reaction on ${requestId}): ${result}`);
  } else {
    await sendNotice(deps, f.request, f.userId, f.text);
  }
  return true;
}

async function finish(em: EntityManager, id: string, state: 'handled' | 'ignored', outcome: string, spawned: string | null = null): Promise<void> {
  await em.execute(`update reaction_choices set state = ?, outcome = ?, spawned_request_id = ?, handled_at = now(), updated_at = now() where id = ?`, [
    state,
    outcome,
    spawned,
    id,
  ]);
}

async function decide(deps: BotDeps, em: EntityManager, choice: ChoiceRow, request: RequestRow): Promise<ReactionDecision> {
  const format = request.format ?? 'wav';
  const cached = await em.execute<{ model: string }[]>(
    `select distinct model from processing_jobs where track_id = ? and status = 'completed' and coalesce(options->>'format', 'wav') = ?`,
    [request.track_id, format],
  );
  // This message's own separations still under way: the original's and those reactions asked for.
  const running = await runningModelsOfMessage(em, choice.request_id);
  // The one per-user limit (SFA_USER_CONCURRENCY); its lock is held until this transaction has written the new request.
  const inFlight = await requestsInProgress(em, choice.user_id);
  const recent = await requestTimesOfLastHour(em, choice.user_id);
  return decideReaction({
    request: {
      requesterId: request.requester_id,
      windowEndsAt: request.reaction_window_ends_at === null ? null : new Date(request.reaction_window_ends_at).getTime(),
      model: request.model,
      firstSeparationStarted: request.model !== null,
      cachedModels: cached.map((r) => r.model),
      runningModels: running,
    },
    reactorId: choice.user_id,
    botUserId: deps.botUserId,
    emoji: choice.emoji,
    now: new Date(choice.inserted_at).getTime(),
    limits: userLimits(deps),
    usage: { inFlight, recentRequestTimes: recent.filter((t) => t > Date.now() - HOUR_MS) },
  });
}

async function act(
  em: EntityManager,
  decision: ReactionDecision,
  choice: ChoiceRow,
  request: RequestRow,
): Promise<{ state: 'handled' | 'ignored'; outcome: string; spawned?: string; followup?: Followup }> {
  switch (decision.action) {
    case 'ignore':
      if (decision.reason === 'over_limit') {
        // One notice per user per window: removing and re-adding a reaction must not post it again.
        await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`sfa-limit-notice:${choice.user_id}`]);
        const told = await em.execute<{ at: Date | string }[]>(
          `select handled_at as at from reaction_choices where user_id = ? and outcome = 'over_limit' and id <> ? and handled_at is not null`,
          [choice.user_id, choice.id],
        );
        if (!shouldSendLimitNotice(told.map((r) => new Date(r.at).getTime()), new Date(choice.inserted_at).getTime())) {
          return { state: 'ignored', outcome: 'over_limit_told' };
        }
        return { state: 'ignored', outcome: 'over_limit', followup: { kind: 'notice', text: decision.message, request, userId: choice.user_id } };
      }
      return { state: 'ignored', outcome: decision.reason };
    case 'choose':
      return { state: 'handled', outcome: 'choose', followup: { kind: 'choose', model: decision.model } };
    case 'reprocess':
    case 'from_cache': {
      // Model chosen and processing row not linked yet: if the process stops before startSeparation,
      // the bot start's resumeUnlinkedChoices finishes it.
      const id = randomUUID();
      await insertReprocessRequest(em, {
        id,
        requesterId: choice.user_id,
        guildId: request.guild_id,
        channelId: request.channel_id,
        applicationId: request.application_id,
        // No interaction of its own: a placeholder that no webhook accepts, expired at once, so its
        // progress and stems go to channel messages of its own and never touch the original reply.
        interactionToken: `none:reaction:${choice.id}`,
        model: decision.model,
        format: request.format,
        trackId: request.track_id,
        attachmentSizeLimit: request.attachment_size_limit,
      });
      return { state: 'handled', outcome: decision.action, spawned: id, followup: { kind: 'separate', requestId: id } };
    }
  }
}

async function sendNotice(deps: BotDeps, request: RequestRow, userId: string, text: string): Promise<void> {
  const replyTo = request.channel_message_id ?? request.message_id;
  try {
    await deps.rest.post(Routes.channelMessages(request.channel_id), {
      body: {
        content: `<@${userId}> ${text}`,
        allowed_mentions: { users: [userId] },
        ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
      },
    });
  } catch (error) {
    deps.log.warn(`could not tell user ${userId} about their limit: ${(error as Error).message}`);
  }
}

/**
 * When the reaction route of a channel may be used again, from the rate-limit headers of the
 * bot's own last reaction request there. @discordjs/rest waits on these itself, except right after
 * it first learns a bucket: the request after the first one goes to a new, empty queue and is sent
 * at once, into the bucket the first one emptied (a 429 on Discord). The reaction bucket holds one
 * request, so the model reactions always hit that; pacing them here avoids it.
 */
const reactionReady = new WeakMap<REST, Map<string, number>>();

function reactionPacing(rest: REST): Map<string, number> {
  let byChannel = reactionReady.get(rest);
  if (!byChannel) {
    const map = new Map<string, number>();
    byChannel = map;
    reactionReady.set(rest, map);
    rest.on(RESTEvents.Response, (request, response) => {
      if (request.method.toUpperCase() !== 'PUT' || !request.path.includes('/reactions/')) return;
      const channelId = /^\/channels\/(\d+)\//.exec(request.path)?.[1];
      const remaining = response.headers.get('x-ratelimit-remaining');
      const resetAfter = Number(response.headers.get('x-ratelimit-reset-after'));
      if (channelId && remaining === '0' && Number.isFinite(resetAfter)) map.set(channelId, Date.now() + resetAfter * 1000);
    });
  }
  return byChannel;
}

/** Adds one reaction per catalog model, in catalog order. */
export async function offerModelReactions(deps: BotDeps, channelId: string, messageId: string): Promise<number> {
  const pacing = reactionPacing(deps.rest);
  let added = 0;
  for (const option of REACTION_OPTIONS) {
    const wait = (pacing.get(channelId) ?? 0) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      await deps.rest.put(Routes.channelMessageOwnReaction(channelId, messageId, encodeURIComponent(option.emoji)));
      added += 1;
    } catch (error) {
      // A deleted message or missing permission: the rest would fail the same way.
      deps.log.warn(`could not offer the model reactions on ${messageId}: ${(error as Error).message}`);
      break;
    }
  }
  return added;
}
