/**
 * Reactions on a request's message (pure). Each catalog model has one emoji
 * (catalog/models.json, unique by its schema); the bot offers them in catalog
 * order. `decideReaction` turns one reaction event into what to do:
 *
 * - ignore: the bot's own reaction (Discord echoes them), an emoji that names
 *   no model, someone other than the requester inside the choice window, the
 *   model already chosen or already running, or a user over their limits
 *   (then with the message to show them);
 * - choose: the requester picks (or changes) the model of the first
 *   separation, inside the window and before that separation started;
 * - reprocess: anyone, after the window or once the first separation started,
 *   asks for another model's stems;
 * - from_cache: that model's stems already exist; send them again.
 *
 * Times are epoch milliseconds passed in by the caller.
 */
import { MODELS, type ModelName } from './modelCatalog.ts';

export const HOUR_MS = 3_600_000;

export interface UserLimits {
  /** Separations one user may have queued or running (SFA_USER_CONCURRENCY). */
  maxInFlight: number;
  /** Requests (re-processing or cached answers) one user may make per rolling hour. */
  maxPerHour: number;
}
export const DEFAULT_USER_LIMITS: Readonly<UserLimits> = { maxInFlight: 2, maxPerHour: 10 };

/** U+FE0F asks for emoji presentation; Discord sends some emoji with it and some without. */
const normalizeEmoji = (text: string) => text.replace(/\uFE0F/g, '');

export interface ReactionOption {
  model: ModelName;
  emoji: string;
}

/** The reactions the bot adds to a request message, in catalog order. */
export const REACTION_OPTIONS: readonly ReactionOption[] = Object.freeze(
  MODELS.map((m) => Object.freeze({ model: m.name, emoji: m.emoji })),
);

const BY_EMOJI = new Map(REACTION_OPTIONS.map((o) => [normalizeEmoji(o.emoji), o.model]));

export function emojiForModel(model: ModelName): string | undefined {
  return REACTION_OPTIONS.find((o) => o.model === model)?.emoji;
}

/** A reaction's emoji as Discord reports it: unicode emoji have a name and no id; custom ones have an id. */
export interface ReactionEmoji {
  name: string | null;
  id?: string | null;
}

/** The model an emoji stands for; custom (server) emoji never name one. */
export function modelForEmoji(emoji: ReactionEmoji | string): ModelName | undefined {
  const { name, id } = typeof emoji === 'string' ? { name: emoji, id: null } : emoji;
  if (id || !name) return undefined;
  return BY_EMOJI.get(normalizeEmoji(name));
}

export interface ReactionRequestState {
  requesterId: string;
  /** When the model-choice window closes (as stored on the request); null when the model: option was given. */
  windowEndsAt: number | null;
  /** The first separation's model; null while still open to choice. */
  model: ModelName | null;
  /** The first separation is running (or done): from then on a reaction asks for more. */
  firstSeparationStarted: boolean;
  /** Models whose stems for this track are stored. */
  cachedModels: readonly ModelName[];
  /** Models queued or running for this message. */
  runningModels: readonly ModelName[];
}

export interface ReactorUsage {
  /** The reactor's requests in progress (src/requests/slots.ts: the one count of SFA_USER_CONCURRENCY). */
  inFlight: number;
  /** When the reactor's recent requests were made (any order; older ones are ignored). */
  recentRequestTimes: readonly number[];
}

export interface ReactionInput {
  request: ReactionRequestState;
  reactorId: string;
  botUserId: string;
  emoji: ReactionEmoji | string;
  now: number;
  limits?: UserLimits;
  usage: ReactorUsage;
}

export type IgnoreReason = 'own_reaction' | 'unknown_emoji' | 'not_requester' | 'already_chosen' | 'in_progress';

export type ReactionDecision =
  | { action: 'ignore'; reason: IgnoreReason }
  | { action: 'ignore'; reason: 'over_limit'; message: string }
  | { action: 'choose'; model: ModelName }
  | { action: 'reprocess'; model: ModelName }
  | { action: 'from_cache'; model: ModelName };

/** Whether the requester may still pick the first separation's model. */
export function windowIsOpen(request: ReactionRequestState, now: number): boolean {
  if (request.windowEndsAt === null || request.firstSeparationStarted) return false;
  return now < request.windowEndsAt;
}

/** The over-limit message, or undefined when the reactor may make one more request. */
export function limitMessage(usage: ReactorUsage, limits: UserLimits, now: number, countInFlight: boolean): string | undefined {
  if (countInFlight && usage.inFlight >= limits.maxInFlight) {
    const plural = usage.inFlight === 1 ? 'request' : 'requests';
    return `You already have ${usage.inFlight} ${plural} in progress (the limit is ${limits.maxInFlight}). React again when one has finished.`;
  }
  const recent = usage.recentRequestTimes.filter((t) => t > now - HOUR_MS && t <= now).sort((a, b) => a - b);
  if (recent.length >= limits.maxPerHour) {
    // The count drops below the limit when the (count - limit + 1) oldest requests are an hour old.
    const freeAt = recent[recent.length - limits.maxPerHour]! + HOUR_MS;
    return `You've made ${recent.length} ${recent.length === 1 ? 'request' : 'requests'} in the last hour (the limit is ${limits.maxPerHour}). You can ask again <t:${Math.ceil(freeAt / 1000)}:R>.`;
  }
  return undefined;
}

export function decideReaction(input: ReactionInput): ReactionDecision {
  const { request, reactorId, now } = input;
  const limits = input.limits ?? DEFAULT_USER_LIMITS;
  if (reactorId === input.botUserId) return { action: 'ignore', reason: 'own_reaction' };
  const model = modelForEmoji(input.emoji);
  if (model === undefined) return { action: 'ignore', reason: 'unknown_emoji' };

  if (windowIsOpen(request, now)) {
    // Only the requester chooses; their request already counts against their limits.
    if (reactorId !== request.requesterId) return { action: 'ignore', reason: 'not_requester' };
    if (model === request.model) return { action: 'ignore', reason: 'already_chosen' };
    return { action: 'choose', model };
  }

  if (request.cachedModels.includes(model)) {
    const message = limitMessage(input.usage, limits, now, false);
    return message ? { action: 'ignore', reason: 'over_limit', message } : { action: 'from_cache', model };
  }
  // Its stems and progress already come to this message.
  if (request.runningModels.includes(model) || (model === request.model && !request.firstSeparationStarted)) {
    return { action: 'ignore', reason: 'in_progress' };
  }
  const message = limitMessage(input.usage, limits, now, true);
  return message ? { action: 'ignore', reason: 'over_limit', message } : { action: 'reprocess', model };
}

/**
 * Whether a user over their limit gets the channel notice: not when they were already told within the
 * last hour (the window the hourly limit counts in). `previousNotices`: when earlier notices went out (ms).
 */
export function shouldSendLimitNotice(previousNotices: readonly number[], now: number, windowMs = HOUR_MS): boolean {
  return !previousNotices.some((t) => t > now - windowMs);
}
