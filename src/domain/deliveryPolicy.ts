/**
 * When to edit a request's progress message (pure state machine, one per
 * message): `step(state, event, now) -> { state, actions }`.
 *
 * - Latest state wins: renders only replace what is waiting; at most one
 *   request is in flight per message.
 * - At most one edit per MIN_EDIT_INTERVAL_MS per message; a `wake` action
 *   says when to call back with `tick`.
 * - The final state is always delivered (never coalesced away, never
 *   overwritten by a late progress render); the machine is `done` once it is.
 * - 429: wait Retry-After; other transient errors: exponential backoff. Both
 *   count as failures; MAX_CONSECUTIVE_FAILURES in a row abandons the message.
 * - The interaction token lives 15 minutes: TOKEN_SWITCH_MARGIN_MS before it
 *   expires, the state moves to a fresh channel message posted with the bot
 *   token (`post`), and the old reply is pointed at it (`retire`, best effort).
 *   A 401 on an edit (token already dead) does the same at once.
 * - Edits of messages older than an hour are capped by Discord (30046): the
 *   next update after OLD_MESSAGE_AGE_MS goes to a fresh message, and so does
 *   one refused with 30046.
 *
 * Times are epoch milliseconds passed in by the caller. Messages are named by
 * the hash of their rendered payload; the caller keeps the payload for the
 * latest hash. After a restart, `initialDeliveryState` rebuilds the state from
 * the request row (progress_hash, progress_edited_at, channel_message_id,
 * progress_message_posted_at, interaction_expires_at).
 */

export const MIN_EDIT_INTERVAL_MS = 2_000;
export const TOKEN_LIFETIME_MS = 15 * 60_000;
/** Move off the interaction token at 13 minutes. */
export const TOKEN_SWITCH_MARGIN_MS = 2 * 60_000;
export const OLD_MESSAGE_AGE_MS = 60 * 60_000;
/** Move a minute before the hour so the last edits are not the capped ones. */
export const OLD_MESSAGE_MARGIN_MS = 60_000;
export const MAX_CONSECUTIVE_FAILURES = 5;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_MAX_MS = 60_000;
/** A Retry-After beyond this is treated as this (Discord's are seconds; a huge one is a bug or a ban). */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

export type MessageTarget = { via: 'interaction' } | { via: 'channel'; messageId: string };
export type MoveReason = 'token_expiring' | 'token_expired' | 'message_too_old';

export interface ProgressDeliveryState {
  /** The message edits go to. */
  target: MessageTarget;
  /** When that message was posted. */
  postedAt: number;
  interactionExpiresAt: number;
  /** The latest rendered state not yet confirmed delivered. */
  wanted: { hash: string; final: boolean } | null;
  deliveredHash: string | null;
  /** When the last edit (or post) was started; the interval counts from here. */
  lastEditAt: number | null;
  inFlight: { op: 'edit' | 'post'; hash: string; final: boolean } | null;
  /** No request before this (Retry-After or backoff). */
  blockedUntil: number | null;
  /** Consecutive failures (reset by a success) and all failures (for logs and metrics). */
  failures: number;
  totalFailures: number;
  /** Discord refused an edit in a way that needs a fresh message. */
  forcedMove: Exclude<MoveReason, 'token_expiring'> | null;
  phase: 'active' | 'done' | 'abandoned';
}

export type DeliveryEvent =
  /** A newly rendered state; `final` for the completed/failed state that must reach the user. */
  | { type: 'render'; hash: string; final?: boolean }
  /** A `wake` time came. */
  | { type: 'tick' }
  /** The in-flight edit succeeded. */
  | { type: 'edited' }
  /** The in-flight post succeeded. */
  | { type: 'posted'; messageId: string }
  /** 429 with Retry-After (ms). */
  | { type: 'rate_limited'; retryAfterMs: number }
  /** A transient failure: 5xx, network error, timeout. */
  | { type: 'failed' }
  /** 401 / 50027 on an interaction edit. */
  | { type: 'token_expired' }
  /** 30046: the message is too old to edit. */
  | { type: 'too_old' }
  /** The message or channel is gone or unreachable (10008, 10003, 50001, 403). */
  | { type: 'gone' };

export type DeliveryAction =
  | { type: 'edit'; target: MessageTarget; hash: string }
  | { type: 'post'; hash: string; reason: MoveReason }
  /** Best effort, no event expected back: edit the old message to point at the new one. */
  | { type: 'retire'; target: MessageTarget }
  | { type: 'wake'; at: number }
  | { type: 'abandon'; reason: 'gone' | 'too_many_failures' };

export interface StepResult {
  state: ProgressDeliveryState;
  actions: DeliveryAction[];
}

export interface ResumeFields {
  interactionExpiresAt: number;
  /** When the message being edited was posted (the interaction reply's time if none was moved). */
  postedAt: number;
  channelMessageId?: string | null;
  deliveredHash?: string | null;
  lastEditAt?: number | null;
}

export function initialDeliveryState(fields: ResumeFields): ProgressDeliveryState {
  return {
    target: fields.channelMessageId ? { via: 'channel', messageId: fields.channelMessageId } : { via: 'interaction' },
    postedAt: fields.postedAt,
    interactionExpiresAt: fields.interactionExpiresAt,
    wanted: null,
    deliveredHash: fields.deliveredHash ?? null,
    lastEditAt: fields.lastEditAt ?? null,
    inFlight: null,
    blockedUntil: null,
    failures: 0,
    totalFailures: 0,
    forcedMove: null,
    phase: 'active',
  };
}

/** The moment edits leave the interaction token. */
export function tokenSwitchAt(state: ProgressDeliveryState): number {
  return state.interactionExpiresAt - TOKEN_SWITCH_MARGIN_MS;
}

/** Backoff after the n-th consecutive failure: 2 s, 4 s, 8 s, ... capped at a minute. */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

function moveReason(s: ProgressDeliveryState, now: number): MoveReason | null {
  if (s.forcedMove) return s.forcedMove;
  if (s.target.via === 'interaction' && now >= tokenSwitchAt(s)) return 'token_expiring';
  // Lazy: only a new state is worth a fresh message.
  if (s.wanted && now >= s.postedAt + OLD_MESSAGE_AGE_MS - OLD_MESSAGE_MARGIN_MS) return 'message_too_old';
  return null;
}

/** Whatever is due now: one request, a wake-up time, or nothing. */
function schedule(s: ProgressDeliveryState, now: number): StepResult {
  if (s.phase !== 'active' || s.inFlight) return { state: s, actions: [] };
  if (s.blockedUntil !== null && now < s.blockedUntil) return { state: s, actions: [{ type: 'wake', at: s.blockedUntil }] };
  const content = s.wanted?.hash ?? s.deliveredHash;
  const move = moveReason(s, now);
  if (move && content !== null) {
    const inFlight = { op: 'post' as const, hash: content, final: s.wanted?.final ?? false };
    return { state: { ...s, inFlight, blockedUntil: null }, actions: [{ type: 'post', hash: content, reason: move }] };
  }
  if (!s.wanted) {
    // Nothing new to show, but the reply must move while its token still works.
    const wake: DeliveryAction[] = s.target.via === 'interaction' && content !== null ? [{ type: 'wake', at: tokenSwitchAt(s) }] : [];
    return { state: s, actions: wake };
  }
  const nextAllowed = s.lastEditAt === null ? now : s.lastEditAt + MIN_EDIT_INTERVAL_MS;
  if (now < nextAllowed) return { state: s, actions: [{ type: 'wake', at: nextAllowed }] };
  const inFlight = { op: 'edit' as const, hash: s.wanted.hash, final: s.wanted.final };
  return {
    state: { ...s, inFlight, lastEditAt: now, blockedUntil: null },
    actions: [{ type: 'edit', target: s.target, hash: s.wanted.hash }],
  };
}

/** A request succeeded: record what the user now sees. */
function delivered(s: ProgressDeliveryState, inFlight: NonNullable<ProgressDeliveryState['inFlight']>): ProgressDeliveryState {
  const wanted = s.wanted?.hash === inFlight.hash ? null : s.wanted;
  const done = inFlight.final && wanted === null;
  return { ...s, inFlight: null, deliveredHash: inFlight.hash, wanted, failures: 0, phase: done ? 'done' : s.phase };
}

function failure(s: ProgressDeliveryState, now: number, waitMs: number): StepResult {
  const failures = s.failures + 1;
  const next = { ...s, inFlight: null, failures, totalFailures: s.totalFailures + 1, blockedUntil: now + waitMs };
  if (failures >= MAX_CONSECUTIVE_FAILURES) {
    return { state: { ...next, phase: 'abandoned', blockedUntil: null }, actions: [{ type: 'abandon', reason: 'too_many_failures' }] };
  }
  return schedule(next, now);
}

const unchanged = (state: ProgressDeliveryState): StepResult => ({ state, actions: [] });

export function step(state: ProgressDeliveryState, event: DeliveryEvent, now: number): StepResult {
  if (state.phase !== 'active') return unchanged(state);
  const s = state;
  switch (event.type) {
    case 'tick':
      return schedule(s, now);

    case 'render': {
      const final = event.final ?? false;
      // A progress event that arrives after the final state must not replace it.
      if (s.wanted?.final && !final) return unchanged(s);
      if (event.hash === s.deliveredHash && s.inFlight === null) {
        // Already on screen.
        return schedule({ ...s, wanted: null, phase: final ? 'done' : s.phase }, now);
      }
      return schedule({ ...s, wanted: { hash: event.hash, final } }, now);
    }

    case 'edited': {
      if (s.inFlight?.op !== 'edit') return unchanged(s);
      return schedule(delivered(s, s.inFlight), now);
    }

    case 'posted': {
      if (s.inFlight?.op !== 'post') return unchanged(s);
      const old = s.target;
      // A dead token cannot edit the old reply any more.
      const tokenDead = s.forcedMove === 'token_expired' || now >= s.interactionExpiresAt;
      const retire: DeliveryAction[] = old.via === 'interaction' && tokenDead ? [] : [{ type: 'retire', target: old }];
      const moved = {
        ...delivered(s, s.inFlight),
        target: { via: 'channel' as const, messageId: event.messageId },
        postedAt: now,
        lastEditAt: now,
        forcedMove: null,
      };
      const next = schedule(moved, now);
      return { state: next.state, actions: [...retire, ...next.actions] };
    }

    case 'rate_limited': {
      if (!s.inFlight) return unchanged(s);
      const ms = event.retryAfterMs;
      const wait = Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : backoffMs(s.failures + 1);
      return failure(s, now, wait);
    }

    case 'failed':
      if (!s.inFlight) return unchanged(s);
      return failure(s, now, backoffMs(s.failures + 1));

    case 'token_expired':
      if (s.target.via !== 'interaction') return unchanged(s);
      return schedule(
        { ...s, inFlight: null, forcedMove: 'token_expired', interactionExpiresAt: Math.min(s.interactionExpiresAt, now) },
        now,
      );

    case 'too_old':
      return schedule({ ...s, inFlight: null, forcedMove: 'message_too_old' }, now);

    case 'gone':
      return { state: { ...s, inFlight: null, phase: 'abandoned' }, actions: [{ type: 'abandon', reason: 'gone' }] };
  }
}
