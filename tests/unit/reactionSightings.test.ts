/** The live listener and the catch-up pass never both record one reaction (src/bot/reactions/sightings.ts). */
import { describe, expect, it } from 'vitest';
import { ReactionSightings, reactionKey } from '../../src/bot/reactions/sightings.ts';

const KEY = reactionKey('m1', 'u1', 'htdemucs');
const T0 = 1_000_000;

describe('ReactionSightings', () => {
  it('tells the pass about a live event of the last minute, for that message, user and model only', () => {
    const s = new ReactionSightings();
    expect(s.seenLive(KEY, T0)).toBe(false);
    expect(s.noteLive(KEY, T0)).toBe(true);
    expect(s.seenLive(KEY, T0 + 30_000)).toBe(true);
    expect(s.seenLive(reactionKey('m1', 'u2', 'htdemucs'), T0)).toBe(false);
    expect(s.seenLive(reactionKey('m1', 'u1', 'htdemucs_ft'), T0)).toBe(false);
    expect(s.seenLive(reactionKey('m2', 'u1', 'htdemucs'), T0)).toBe(false);
    expect(s.seenLive(KEY, T0 + 61_000)).toBe(false);
  });

  it('takes a live event for what the pass recorded in the last minute for the same reaction', () => {
    const s = new ReactionSightings();
    s.noteCaughtUp(KEY, T0);
    expect(s.noteLive(KEY, T0 + 5_000)).toBe(false);
    expect(s.noteLive(reactionKey('m1', 'u1', 'htdemucs_ft'), T0 + 5_000)).toBe(true);
    expect(s.noteLive(KEY, T0 + 61_000)).toBe(true);
  });

  it('lets a live event through when the pass could not record it after all', () => {
    const s = new ReactionSightings();
    s.noteCaughtUp(KEY, T0);
    s.forgetCaughtUp(KEY);
    expect(s.noteLive(KEY, T0 + 1_000)).toBe(true);
  });

  it('drops old entries as new ones come', () => {
    const s = new ReactionSightings();
    s.noteLive(KEY, T0);
    s.noteLive(reactionKey('m9', 'u9', 'htdemucs'), T0 + 120_000);
    expect(s.seenLive(KEY, T0)).toBe(false);
  });
});
