import { describe, expect, it } from 'vitest';
import { MODELS } from '../../src/domain/modelCatalog.ts';
import {
  CATCH_UP_LIMITS,
  USERS_PAGE_SIZE,
  afterReadFailure,
  messagesToScan,
  missedReactions,
  nextPageSize,
  reactionsToList,
  type KnownReaction,
  type ListedReaction,
  type RequestMessages,
} from '../../src/domain/reactionCatchUp.ts';

const BOT = '900000000000000009';
const ANA = '100000000000000001';
const BEN = '100000000000000002';

const emojiOf = (model: string) => MODELS.find((m) => m.name === model)!.emoji;
const unicode = (name: string) => ({ name, id: null });
/** 🎛️ is U+1F39B U+FE0F in the catalog; Discord may send it without the variation selector. */
const MIXER = emojiOf('htdemucs');
const MIXER_BARE = MIXER.replace(/\uFE0F/g, '');
const GEM = emojiOf('htdemucs_ft');

function request(id: string, messageId: string | null, channelMessageId: string | null = null): RequestMessages {
  return { requestId: id, channelId: 'c1', messageId, channelMessageId };
}

describe('messagesToScan', () => {
  it("takes each request's reply, then the channel message that replaced it, in the order given", () => {
    expect(messagesToScan([request('r1', 'm1', 'm1c'), request('r2', 'm2')], 10)).toEqual([
      { requestId: 'r1', channelId: 'c1', messageId: 'm1' },
      { requestId: 'r1', channelId: 'c1', messageId: 'm1c' },
      { requestId: 'r2', channelId: 'c1', messageId: 'm2' },
    ]);
  });

  it('skips missing messages (a re-process has only its channel message) and reads a message once', () => {
    expect(messagesToScan([request('r1', null, 'm1c'), request('r2', null, null), request('r3', 'm1c')], 10)).toEqual([
      { requestId: 'r1', channelId: 'c1', messageId: 'm1c' },
    ]);
  });

  it('stops at the bound, also between the two messages of one request', () => {
    const requests = [request('r1', 'm1', 'm1c'), request('r2', 'm2', 'm2c')];
    expect(messagesToScan(requests, 3).map((m) => m.messageId)).toEqual(['m1', 'm1c', 'm2']);
    expect(messagesToScan(requests, 1).map((m) => m.messageId)).toEqual(['m1']);
    expect(messagesToScan(requests, 0)).toEqual([]);
    expect(messagesToScan([], 5)).toEqual([]);
  });
});

describe('reactionsToList', () => {
  it('lists model reactions someone besides the bot made', () => {
    expect(
      reactionsToList([
        { emoji: unicode(MIXER), count: 1, me: true },
        { emoji: unicode(GEM), count: 2, me: true },
        { emoji: unicode(emojiOf('mdx_extra')), count: 1, me: false },
      ]),
    ).toEqual([unicode(GEM), unicode(emojiOf('mdx_extra'))]);
  });

  it("skips the bot's own reaction alone, empty counts, emoji that name no model and custom emoji", () => {
    expect(
      reactionsToList([
        { emoji: unicode(MIXER), count: 1, me: true },
        { emoji: unicode(GEM), count: 0, me: false },
        { emoji: unicode('👍'), count: 5, me: false },
        { emoji: { name: GEM, id: '123456789012345678' }, count: 3, me: false },
        { emoji: { name: null, id: null }, count: 3, me: false },
      ]),
    ).toEqual([]);
  });

  it('takes both spellings of an emoji with a variation selector', () => {
    expect(reactionsToList([{ emoji: unicode(MIXER_BARE), count: 1, me: false }])).toEqual([unicode(MIXER_BARE)]);
  });
});

describe('nextPageSize', () => {
  const max = CATCH_UP_LIMITS.maxUsersPerReaction;

  it('asks for full pages until a short page or the bound', () => {
    expect(nextPageSize(0, undefined, max)).toBe(Math.min(USERS_PAGE_SIZE, max));
    expect(nextPageSize(100, 100, 250)).toBe(100);
    expect(nextPageSize(200, 100, 250)).toBe(50);
    expect(nextPageSize(250, 50, 250)).toBe(0);
    expect(nextPageSize(130, 30, 250)).toBe(0);
    expect(nextPageSize(0, 0, 250)).toBe(0);
  });

  it('asks for at most the bound, and nothing with a bound of 0', () => {
    expect(nextPageSize(0, undefined, 7)).toBe(7);
    expect(nextPageSize(0, undefined, 0)).toBe(0);
  });

  it('keeps the documented bounds', () => {
    expect(CATCH_UP_LIMITS.maxMessages).toBeGreaterThan(0);
    expect(CATCH_UP_LIMITS.maxUsersPerReaction).toBeGreaterThanOrEqual(USERS_PAGE_SIZE);
    expect(USERS_PAGE_SIZE).toBe(100);
  });
});

describe('missedReactions', () => {
  const listed = (emoji: string, ...userIds: string[]): ListedReaction => ({ emoji: unicode(emoji), userIds });

  it('records each reactor not known yet, with the emoji as Discord named it, in listing order', () => {
    expect(missedReactions({ botUserId: BOT, reactions: [listed(GEM, BEN, ANA), listed(MIXER_BARE, ANA)], known: [] })).toEqual([
      { userId: BEN, emoji: GEM, model: 'htdemucs_ft' },
      { userId: ANA, emoji: GEM, model: 'htdemucs_ft' },
      { userId: ANA, emoji: MIXER_BARE, model: 'htdemucs' },
    ]);
  });

  it("never records the bot's own reaction", () => {
    expect(missedReactions({ botUserId: BOT, reactions: [listed(MIXER, BOT), listed(GEM, BOT, ANA)], known: [] })).toEqual([
      { userId: ANA, emoji: GEM, model: 'htdemucs_ft' },
    ]);
  });

  it('skips what a row (or a live event) already accounts for: same user and same model only', () => {
    const known: KnownReaction[] = [
      { userId: ANA, model: 'htdemucs_ft' },
      { userId: BEN, model: 'htdemucs' },
    ];
    expect(missedReactions({ botUserId: BOT, reactions: [listed(GEM, ANA, BEN), listed(MIXER, ANA, BEN)], known })).toEqual([
      { userId: BEN, emoji: GEM, model: 'htdemucs_ft' },
      { userId: ANA, emoji: MIXER, model: 'htdemucs' },
    ]);
  });

  it('records a user listed under both spellings of one emoji once', () => {
    expect(missedReactions({ botUserId: BOT, reactions: [listed(MIXER, ANA), listed(MIXER_BARE, ANA, BEN)], known: [] })).toEqual([
      { userId: ANA, emoji: MIXER, model: 'htdemucs' },
      { userId: BEN, emoji: MIXER_BARE, model: 'htdemucs' },
    ]);
  });

  it('ignores emoji that name no model and custom emoji', () => {
    const custom: ListedReaction = { emoji: { name: GEM, id: '123456789012345678' }, userIds: [ANA] };
    expect(missedReactions({ botUserId: BOT, reactions: [listed('👍', ANA), custom, { emoji: { name: null }, userIds: [ANA] }], known: [] })).toEqual([]);
  });

  it('for every combination of known rows, records exactly the listed (user, model) pairs not known and not the bot', () => {
    const users = [ANA, BEN, BOT];
    const models = ['htdemucs', 'htdemucs_ft'] as const;
    const pairs = users.flatMap((userId) => models.map((model) => ({ userId, model })));
    const reactions = [listed(MIXER, ...users), listed(GEM, ...users), listed(MIXER_BARE, ...users)];
    for (let mask = 0; mask < 1 << pairs.length; mask++) {
      const known = pairs.filter((_, i) => mask & (1 << i));
      const got = missedReactions({ botUserId: BOT, reactions, known }).map((m) => `${m.userId}/${m.model}`);
      const want = pairs.filter((p) => p.userId !== BOT && !known.includes(p)).map((p) => `${p.userId}/${p.model}`);
      expect(got.sort()).toEqual(want.sort());
    }
  });
});

describe('afterReadFailure', () => {
  it('skips a message Discord refuses (deleted 404 / 10008, no access 403 / 50001, bad request)', () => {
    for (const status of [400, 403, 404]) expect(afterReadFailure(status)).toBe('skip_message');
  });

  it('stops the pass on what would fail for every message: network, 5xx, rate limit given up on, aborted', () => {
    for (const status of [undefined, 429, 500, 502, 503]) expect(afterReadFailure(status)).toBe('stop_pass');
  });
});
