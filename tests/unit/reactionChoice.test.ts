import { describe, expect, it } from 'vitest';
import { MODELS } from '../../src/domain/modelCatalog.ts';
import {
  shouldSendLimitNotice,
  DEFAULT_USER_LIMITS,
  HOUR_MS,
  REACTION_OPTIONS,
  decideReaction,
  emojiForModel,
  limitMessage,
  modelForEmoji,
  windowIsOpen,
  type ReactionInput,
  type ReactionRequestState,
} from '../../src/domain/reactionChoice.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const REQUESTER = '100000000000000001';
const OTHER = '100000000000000002';
const BOT = '900000000000000009';
/** A 30 s window opened at T0. */
const WINDOW_END = T0 + 30_000;

const emojiOf = (model: string) => MODELS.find((m) => m.name === model)!.emoji;

function request(fields: Partial<ReactionRequestState> = {}): ReactionRequestState {
  return {
    requesterId: REQUESTER,
    windowEndsAt: WINDOW_END,
    model: null,
    firstSeparationStarted: false,
    cachedModels: [],
    runningModels: [],
    ...fields,
  };
}

function decide(fields: Partial<ReactionInput> & { request?: ReactionRequestState } = {}) {
  return decideReaction({
    request: request(),
    reactorId: REQUESTER,
    botUserId: BOT,
    emoji: emojiOf('htdemucs_ft'),
    now: T0 + 1000,
    usage: { inFlight: 0, recentRequestTimes: [] },
    ...fields,
  });
}

describe('reaction options', () => {
  it('offer one distinct emoji per catalog model, in catalog order', () => {
    expect(REACTION_OPTIONS.map((o) => o.model)).toEqual(MODELS.map((m) => m.name));
    expect(REACTION_OPTIONS.map((o) => o.emoji)).toEqual(MODELS.map((m) => m.emoji));
    expect(new Set(REACTION_OPTIONS.map((o) => o.emoji)).size).toBe(MODELS.length);
  });

  it('map each emoji back to its model and each model to its emoji', () => {
    for (const { model, emoji } of REACTION_OPTIONS) {
      expect(modelForEmoji(emoji)).toBe(model);
      expect(modelForEmoji({ name: emoji, id: null })).toBe(model);
      expect(emojiForModel(model)).toBe(emoji);
    }
    expect(emojiForModel('nope')).toBeUndefined();
  });

  it('match with or without the emoji variation selector (U+FE0F)', () => {
    const withSelector = emojiOf('htdemucs');
    expect(withSelector).toContain('\uFE0F');
    expect(modelForEmoji(withSelector.replace(/\uFE0F/g, ''))).toBe('htdemucs');
    expect(modelForEmoji(`${emojiOf('htdemucs_ft')}\uFE0F`)).toBe('htdemucs_ft');
  });

  it.each([
    ['a thumbs up', '👍'],
    ['an empty name', ''],
    ['a null name', { name: null }],
    ['a custom emoji with a model emoji name', { name: '💎', id: '123456789012345678' }],
    ['a custom emoji named like a model', { name: 'htdemucs', id: '123456789012345678' }],
  ])('map %s to no model', (_label, emoji) => {
    expect(modelForEmoji(emoji)).toBeUndefined();
  });
});

describe('the choice window', () => {
  it('is open up to 1 ms before its end, closed at it', () => {
    expect(windowIsOpen(request(), WINDOW_END - 1)).toBe(true);
    expect(windowIsOpen(request(), WINDOW_END)).toBe(false);
  });

  it('is closed when the model: option was given, or once the first separation started', () => {
    expect(windowIsOpen(request({ windowEndsAt: null }), T0)).toBe(false);
    expect(windowIsOpen(request({ firstSeparationStarted: true }), T0)).toBe(false);
  });
});

describe('decideReaction', () => {
  it("ignores the bot's own reactions first, whatever the emoji", () => {
    expect(decide({ reactorId: BOT })).toEqual({ action: 'ignore', reason: 'own_reaction' });
    expect(decide({ reactorId: BOT, emoji: '👍' })).toEqual({ action: 'ignore', reason: 'own_reaction' });
  });

  it('ignores emoji that name no model', () => {
    expect(decide({ emoji: '👍' })).toEqual({ action: 'ignore', reason: 'unknown_emoji' });
    expect(decide({ emoji: { name: '💎', id: '123456789012345678' } })).toEqual({ action: 'ignore', reason: 'unknown_emoji' });
  });

  describe('inside the window', () => {
    it('lets the requester choose, up to 1 ms before the end', () => {
      expect(decide()).toEqual({ action: 'choose', model: 'htdemucs_ft' });
      expect(decide({ now: WINDOW_END - 1 })).toEqual({ action: 'choose', model: 'htdemucs_ft' });
    });

    it('ignores everyone else', () => {
      expect(decide({ reactorId: OTHER })).toEqual({ action: 'ignore', reason: 'not_requester' });
    });

    it('lets the requester change their mind, and ignores the same choice twice', () => {
      const chosen = request({ model: 'htdemucs_ft' });
      expect(decide({ request: chosen, emoji: emojiOf('htdemucs_6s') })).toEqual({ action: 'choose', model: 'htdemucs_6s' });
      expect(decide({ request: chosen })).toEqual({ action: 'ignore', reason: 'already_chosen' });
    });

    it('does not apply the user limits to the first choice (the request already counts)', () => {
      expect(decide({ usage: { inFlight: 99, recentRequestTimes: Array(99).fill(T0) } })).toEqual({
        action: 'choose',
        model: 'htdemucs_ft',
      });
    });

    it('honours a longer window', () => {
      expect(decide({ request: request({ windowEndsAt: T0 + 60_000 }), now: WINDOW_END + 1000 })).toEqual({ action: 'choose', model: 'htdemucs_ft' });
    });
  });

  describe('after the window', () => {
    const after = { now: WINDOW_END };

    it('re-processes for anyone, from exactly the end of the window', () => {
      // The requester's default (htdemucs) waits to start; another model is more work.
      const queued = request({ model: 'htdemucs' });
      expect(decide({ ...after, request: queued })).toEqual({ action: 'reprocess', model: 'htdemucs_ft' });
      expect(decide({ ...after, request: queued, reactorId: OTHER })).toEqual({ action: 'reprocess', model: 'htdemucs_ft' });
    });

    it('re-processes once the first separation started, even inside the window', () => {
      const started = request({ model: 'htdemucs', firstSeparationStarted: true });
      expect(decide({ request: started, reactorId: OTHER })).toEqual({ action: 'reprocess', model: 'htdemucs_ft' });
      expect(decide({ request: started })).toEqual({ action: 'reprocess', model: 'htdemucs_ft' });
    });

    it('re-processes at any time when the model: option was given (no window)', () => {
      const noWindow = request({ windowEndsAt: null, model: 'htdemucs' });
      expect(decide({ request: noWindow, now: T0 })).toEqual({ action: 'reprocess', model: 'htdemucs_ft' });
    });

    it('answers from the cache when those stems exist', () => {
      const cached = request({ model: 'htdemucs', firstSeparationStarted: true, cachedModels: ['htdemucs', 'htdemucs_ft'] });
      expect(decide({ ...after, request: cached, reactorId: OTHER })).toEqual({ action: 'from_cache', model: 'htdemucs_ft' });
    });

    it('ignores a model that is already running for this message', () => {
      const running = request({ model: 'htdemucs', firstSeparationStarted: true, runningModels: ['htdemucs', 'htdemucs_ft'] });
      expect(decide({ ...after, request: running, reactorId: OTHER })).toEqual({ action: 'ignore', reason: 'in_progress' });
    });

    it('ignores the chosen model while its separation waits to start', () => {
      const queued = request({ model: 'htdemucs_ft' });
      expect(decide({ ...after, request: queued })).toEqual({ action: 'ignore', reason: 'in_progress' });
    });

    it('refuses a user at their in-flight limit, and allows one below it', () => {
      const decision = decide({ ...after, reactorId: OTHER, usage: { inFlight: 2, recentRequestTimes: [] } });
      expect(decision).toEqual({
        action: 'ignore',
        reason: 'over_limit',
        message: 'You already have 2 requests in progress (the limit is 2). React again when one has finished.',
      });
      expect(decide({ ...after, reactorId: OTHER, usage: { inFlight: 1, recentRequestTimes: [] } })).toMatchObject({
        action: 'reprocess',
      });
    });

    it('answers from the cache whatever is in flight, but not past the hourly limit', () => {
      const cached = request({ model: 'htdemucs', firstSeparationStarted: true, cachedModels: ['htdemucs_ft'] });
      expect(decide({ ...after, request: cached, usage: { inFlight: 5, recentRequestTimes: [] } })).toEqual({
        action: 'from_cache',
        model: 'htdemucs_ft',
      });
      const busy = { inFlight: 0, recentRequestTimes: Array.from({ length: 10 }, (_, i) => WINDOW_END - i * 60_000) };
      expect(decide({ ...after, request: cached, usage: busy })).toMatchObject({ action: 'ignore', reason: 'over_limit' });
    });

    it('uses the limits given', () => {
      const decision = decide({ ...after, limits: { maxInFlight: 1, maxPerHour: 100 }, usage: { inFlight: 1, recentRequestTimes: [] } });
      expect(decision).toMatchObject({ message: expect.stringContaining('1 request in progress (the limit is 1)') });
    });
  });
});

describe('limitMessage (hourly)', () => {
  const NOW = T0 + 10 * HOUR_MS;
  const limits = { maxInFlight: 2, maxPerHour: 3 };

  it('allows the request below the limit', () => {
    expect(limitMessage({ inFlight: 0, recentRequestTimes: [NOW - 1, NOW - 2] }, limits, NOW, true)).toBeUndefined();
  });

  it('refuses at the limit and says when the oldest request stops counting', () => {
    const times = [NOW - 10 * 60_000, NOW - 50 * 60_000, NOW - 30 * 60_000]; // any order
    const freeAt = NOW - 50 * 60_000 + HOUR_MS;
    expect(limitMessage({ inFlight: 0, recentRequestTimes: times }, limits, NOW, true)).toBe(
      `You've made 3 requests in the last hour (the limit is 3). You can ask again <t:${freeAt / 1000}:R>.`,
    );
  });

  it('says "1 request" for a limit of one', () => {
    expect(limitMessage({ inFlight: 0, recentRequestTimes: [NOW - 1000] }, { maxInFlight: 2, maxPerHour: 1 }, NOW, true)).toMatch(
      /^You've made 1 request in the last hour \(the limit is 1\)\./,
    );
  });

  it('over the limit, waits until enough of them have aged out', () => {
    const times = [1, 2, 3, 4, 5].map((m) => NOW - m * 60_000); // 5 requests, limit 3: the 3 oldest must age out
    const freeAt = NOW - 3 * 60_000 + HOUR_MS;
    expect(limitMessage({ inFlight: 0, recentRequestTimes: times }, limits, NOW, false)).toContain(`<t:${freeAt / 1000}:R>`);
  });

  it('no longer counts a request made exactly an hour ago, nor times in the future', () => {
    const times = [NOW - HOUR_MS, NOW - 1000, NOW - 2000, NOW + 5000];
    expect(limitMessage({ inFlight: 0, recentRequestTimes: times }, limits, NOW, true)).toBeUndefined();
    expect(limitMessage({ inFlight: 0, recentRequestTimes: [NOW - HOUR_MS + 1, NOW - 1000, NOW] }, limits, NOW, true)).toContain(
      'the limit is 3',
    );
  });

  it('rounds the time it shows up to a whole second', () => {
    const times = [NOW - 1500, NOW - 1000, NOW - 500];
    expect(limitMessage({ inFlight: 0, recentRequestTimes: times }, limits, NOW, true)).toContain(
      `<t:${Math.ceil((NOW - 1500 + HOUR_MS) / 1000)}:R>`,
    );
  });

  it('reports the in-flight limit before the hourly one, only when asked to count it', () => {
    const usage = { inFlight: 2, recentRequestTimes: [NOW, NOW, NOW] };
    expect(limitMessage(usage, limits, NOW, true)).toContain('in progress');
    expect(limitMessage(usage, limits, NOW, false)).toContain('last hour');
  });

  it('has defaults of 2 in flight and 10 an hour', () => {
    expect(DEFAULT_USER_LIMITS).toEqual({ maxInFlight: 2, maxPerHour: 10 });
  });
});

describe('shouldSendLimitNotice (one notice per user per window)', () => {
  const now = 10 * HOUR_MS;
  it('tells a user the first time', () => expect(shouldSendLimitNotice([], now)).toBe(true));
  it('stays quiet while an earlier notice is inside the last hour', () => {
    expect(shouldSendLimitNotice([now - 1000], now)).toBe(false);
    expect(shouldSendLimitNotice([now - HOUR_MS + 1], now)).toBe(false);
    expect(shouldSendLimitNotice([now + 50], now)).toBe(false); // handled a moment after this reaction arrived
  });
  it('tells them again once the last notice is an hour old', () => {
    expect(shouldSendLimitNotice([now - HOUR_MS], now)).toBe(true);
    expect(shouldSendLimitNotice([now - 3 * HOUR_MS, now - 2 * HOUR_MS], now)).toBe(true);
  });
});
