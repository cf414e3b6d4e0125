import { describe, expect, it } from 'vitest';
import {
  BACKOFF_MAX_MS,
  MAX_CONSECUTIVE_FAILURES,
  MAX_RETRY_AFTER_MS,
  MIN_EDIT_INTERVAL_MS,
  OLD_MESSAGE_AGE_MS,
  OLD_MESSAGE_MARGIN_MS,
  TOKEN_LIFETIME_MS,
  backoffMs,
  initialDeliveryState,
  step,
  tokenSwitchAt,
  type DeliveryAction,
  type DeliveryEvent,
  type ProgressDeliveryState,
} from '../../src/domain/deliveryPolicy.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;
const fresh = () => initialDeliveryState({ interactionExpiresAt: T0 + TOKEN_LIFETIME_MS, postedAt: T0 });
const INTERACTION = { via: 'interaction' } as const;

/** Feeds events in order; returns the final state and each step's actions. */
function run(start: ProgressDeliveryState, events: [number, DeliveryEvent][]) {
  let state = start;
  const log: DeliveryAction[][] = [];
  for (const [at, event] of events) {
    const result = step(state, event, at);
    state = result.state;
    log.push(result.actions);
  }
  return { state, log, last: log.at(-1) ?? [] };
}
const render = (hash: string, final = false): DeliveryEvent => ({ type: 'render', hash, final });
const edited: DeliveryEvent = { type: 'edited' };
const tick: DeliveryEvent = { type: 'tick' };

describe('constants', () => {
  it('switch off the token at 13 of its 15 minutes', () => {
    expect(tokenSwitchAt(fresh()) - T0).toBe(13 * MIN);
  });
});

describe('coalescing and the edit interval', () => {
  it('edits at once the first time, through the interaction token', () => {
    const { state, last } = run(fresh(), [[T0, render('h1')]]);
    expect(last).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h1' }]);
    expect(state).toMatchObject({ inFlight: { op: 'edit', hash: 'h1' }, lastEditAt: T0 });
  });

  it('sends nothing while an edit is in flight, then waits out the interval', () => {
    const { log } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, render('h2')],
      [T0 + 500, edited],
      [T0 + MIN_EDIT_INTERVAL_MS - 1, tick],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(log[1]).toEqual([]);
    expect(log[2]).toEqual([{ type: 'wake', at: T0 + MIN_EDIT_INTERVAL_MS }]);
    expect(log[3]).toEqual([{ type: 'wake', at: T0 + MIN_EDIT_INTERVAL_MS }]);
    expect(log[4]).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h2' }]);
  });

  it('keeps only the latest state (latest wins)', () => {
    const { log, state } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 10, render('h2')],
      [T0 + 20, render('h3')],
      [T0 + 30, edited],
      [T0 + 40, render('h4')],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(log.flat().filter((a) => a.type === 'edit').map((a) => (a as { hash: string }).hash)).toEqual(['h1', 'h4']);
    expect(state.deliveredHash).toBe('h1');
  });

  it('does not edit when the state is what the user already sees', () => {
    const { log, state } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 10, edited],
      [T0 + 3000, render('h1')],
    ]);
    expect(log[2]!.filter((a) => a.type === 'edit')).toEqual([]);
    expect(state.wanted).toBeNull();
  });

  it('drops a waiting state when the next render returns to what is on screen', () => {
    const { log } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 10, edited],
      [T0 + 100, render('h2')],
      [T0 + 200, render('h1')],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(log[4]!.filter((a) => a.type === 'edit')).toEqual([]);
  });

  it('edits back when the state changes again while an edit is in flight', () => {
    const { log } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 10, edited],
      [T0 + 2000, render('h2')], // edit h2 starts
      [T0 + 2100, render('h1')], // h1 is on screen, but h2 is about to replace it
      [T0 + 2200, edited],
      [T0 + 4000, tick],
    ]);
    expect(log[5]).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h1' }]);
  });

  it('measures the interval from the start of the previous edit', () => {
    const { last } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 1900, edited], // a slow edit
      [T0 + 1950, render('h2')],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(last).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h2' }]);
  });

  it('does nothing (no wake-up either) before anything was rendered', () => {
    expect(run(fresh(), [[T0, tick]]).last).toEqual([]);
  });
});

describe('the final state', () => {
  it('is delivered after the interval and ends the machine', () => {
    const { log, state } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, render('final', true)],
      [T0 + 200, edited],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
      [T0 + MIN_EDIT_INTERVAL_MS + 100, edited],
    ]);
    expect(log[3]).toEqual([{ type: 'edit', target: INTERACTION, hash: 'final' }]);
    expect(state.phase).toBe('done');
    expect(state.deliveredHash).toBe('final');
  });

  it('is not replaced by a late progress render', () => {
    const { log, state } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, render('final', true)],
      [T0 + 150, render('h2-late')],
      [T0 + 200, edited],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(log[4]).toEqual([{ type: 'edit', target: INTERACTION, hash: 'final' }]);
    expect(state.wanted).toEqual({ hash: 'final', final: true });
  });

  it('may be replaced by a newer final state', () => {
    const { last } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, render('final-a', true)],
      [T0 + 150, render('final-b', true)],
      [T0 + 200, edited],
      [T0 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(last).toEqual([{ type: 'edit', target: INTERACTION, hash: 'final-b' }]);
  });

  it('ends at once when it is already on screen', () => {
    const { state, last } = run(fresh(), [
      [T0, render('done')],
      [T0 + 10, edited],
      [T0 + 20, render('done', true)],
    ]);
    expect(last).toEqual([]);
    expect(state.phase).toBe('done');
  });

  it('stays undone until the final edit is confirmed, and ignores everything after', () => {
    const done = run(fresh(), [
      [T0, render('final', true)],
      [T0 + 10, edited],
    ]).state;
    expect(done.phase).toBe('done');
    for (const event of [render('x'), render('y', true), tick, edited, { type: 'gone' } as const]) {
      expect(step(done, event, T0 + 20 * MIN)).toEqual({ state: done, actions: [] });
    }
  });
});

describe('failures', () => {
  it('waits Retry-After on 429, counts it, and resets the streak on success', () => {
    const { log, state } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, { type: 'rate_limited', retryAfterMs: 5000 }],
      [T0 + 5099, tick],
      [T0 + 5100, tick],
    ]);
    expect(log[1]).toEqual([{ type: 'wake', at: T0 + 5100 }]);
    expect(log[2]).toEqual([{ type: 'wake', at: T0 + 5100 }]);
    expect(log[3]).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h1' }]);
    expect(state).toMatchObject({ failures: 1, totalFailures: 1 });
    const after = step(state, edited, T0 + 5200).state;
    expect(after).toMatchObject({ failures: 0, totalFailures: 1, deliveredHash: 'h1' });
  });

  it('keeps the latest state across a 429', () => {
    const { last } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 50, render('h2')],
      [T0 + 100, { type: 'rate_limited', retryAfterMs: 3000 }],
      [T0 + 3100, tick],
    ]);
    expect(last).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h2' }]);
  });

  it.each([
    [Number.NaN, 2000],
    [-1, 2000],
    [Number.POSITIVE_INFINITY, 2000],
    [0, 0],
    [10 * 3_600_000, MAX_RETRY_AFTER_MS],
  ])('uses a sane wait for Retry-After %s', (retryAfterMs, wait) => {
    const { last } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, { type: 'rate_limited', retryAfterMs }],
    ]);
    // A zero wait retries at once (after the interval from the failed attempt).
    const expected = wait === 0 ? [{ type: 'wake', at: T0 + MIN_EDIT_INTERVAL_MS }] : [{ type: 'wake', at: T0 + 100 + wait }];
    expect(last).toEqual(expected);
  });

  it('backs off 2, 4, 8, 16 s on transient errors and abandons on the fifth in a row', () => {
    let state = run(fresh(), [[T0, render('h1')]]).state;
    let now = T0;
    const waits: number[] = [];
    for (let i = 1; i <= MAX_CONSECUTIVE_FAILURES; i += 1) {
      now += 100;
      const result = step(state, { type: 'failed' }, now);
      state = result.state;
      if (i < MAX_CONSECUTIVE_FAILURES) {
        const wake = result.actions[0] as { type: 'wake'; at: number };
        waits.push(wake.at - now);
        now = wake.at;
        const retry = step(state, tick, now);
        expect(retry.actions).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h1' }]);
        state = retry.state;
      } else {
        expect(result.actions).toEqual([{ type: 'abandon', reason: 'too_many_failures' }]);
      }
    }
    expect(waits).toEqual([2000, 4000, 8000, 16000]);
    expect(state).toMatchObject({ phase: 'abandoned', failures: 5, totalFailures: 5 });
    expect(step(state, render('h9'), now + MIN).actions).toEqual([]);
  });

  it('caps the backoff at a minute', () => {
    // 2 s x 2^5 = 64 s is the first one past the cap.
    expect([1, 2, 3, 5, 6, 30].map((n) => backoffMs(n))).toEqual([2000, 4000, 8000, 32000, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
    expect(backoffMs(0)).toBe(2000);
  });

  it('abandons when the message or channel is gone', () => {
    const { state, last } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, { type: 'gone' }],
    ]);
    expect(last).toEqual([{ type: 'abandon', reason: 'gone' }]);
    expect(state.phase).toBe('abandoned');
  });

  it.each([edited, { type: 'posted', messageId: '9' }, { type: 'rate_limited', retryAfterMs: 1 }, { type: 'failed' }] as DeliveryEvent[])(
    'ignores a stray %o with nothing in flight',
    (event) => {
      const state = run(fresh(), [
        [T0, render('h1')],
        [T0 + 10, edited],
      ]).state;
      expect(step(state, event, T0 + 20)).toEqual({ state, actions: [] });
    },
  );

  it('ignores a post result while an edit is in flight', () => {
    const state = run(fresh(), [[T0, render('h1')]]).state;
    expect(step(state, { type: 'posted', messageId: '9' }, T0 + 5)).toEqual({ state, actions: [] });
  });
});

describe('leaving the interaction token', () => {
  const SWITCH = T0 + 13 * MIN;

  it('edits through the token until 1 ms before the switch, and posts a channel message at it', () => {
    const before = run(fresh(), [[SWITCH - 1, render('h1')]]);
    expect(before.last).toEqual([{ type: 'edit', target: INTERACTION, hash: 'h1' }]);
    const at = run(fresh(), [[SWITCH, render('h1')]]);
    expect(at.last).toEqual([{ type: 'post', hash: 'h1', reason: 'token_expiring' }]);
  });

  it('after posting, retires the old reply and edits the new message, with the interval', () => {
    const { log, state } = run(fresh(), [
      [SWITCH, render('h1')],
      [SWITCH + 300, { type: 'posted', messageId: '777' }],
      [SWITCH + 400, render('h2')],
      [SWITCH + 300 + MIN_EDIT_INTERVAL_MS, tick],
    ]);
    expect(log[1]).toEqual([{ type: 'retire', target: INTERACTION }]);
    expect(log[2]).toEqual([{ type: 'wake', at: SWITCH + 300 + MIN_EDIT_INTERVAL_MS }]);
    expect(log[3]).toEqual([{ type: 'edit', target: { via: 'channel', messageId: '777' }, hash: 'h2' }]);
    expect(state).toMatchObject({ target: { via: 'channel', messageId: '777' }, postedAt: SWITCH + 300 });
  });

  it('moves on its own at the switch time when nothing new happened', () => {
    const { log } = run(fresh(), [
      [T0, render('h1')],
      [T0 + 100, edited],
      [SWITCH, tick],
    ]);
    expect(log[1]).toEqual([{ type: 'wake', at: SWITCH }]);
    expect(log[2]).toEqual([{ type: 'post', hash: 'h1', reason: 'token_expiring' }]);
  });

  it('does not wake for the switch once on a channel message', () => {
    const { last } = run(fresh(), [
      [SWITCH, render('h1')],
      [SWITCH + 10, { type: 'posted', messageId: '777' }],
    ]);
    expect(last).toEqual([{ type: 'retire', target: INTERACTION }]);
  });

  it('posts at once when the token turns out dead (401), and does not try to retire the old reply', () => {
    const { log } = run(fresh(), [
      [T0 + 5 * MIN, render('h1')],
      [T0 + 5 * MIN + 100, { type: 'token_expired' }],
      [T0 + 5 * MIN + 200, { type: 'posted', messageId: '888' }],
    ]);
    expect(log[1]).toEqual([{ type: 'post', hash: 'h1', reason: 'token_expired' }]);
    expect(log[2]).toEqual([]);
  });

  it('does not retire when the post completes after the token expired', () => {
    const expiry = T0 + TOKEN_LIFETIME_MS;
    const { last } = run(fresh(), [
      [SWITCH, render('h1')],
      [expiry, { type: 'posted', messageId: '999' }],
    ]);
    expect(last).toEqual([]);
  });

  it('ignores token_expired once on a channel message', () => {
    const state = run(fresh(), [
      [SWITCH, render('h1')],
      [SWITCH + 10, { type: 'posted', messageId: '777' }],
    ]).state;
    expect(step(state, { type: 'token_expired' }, SWITCH + 20)).toEqual({ state, actions: [] });
  });

  it('retries a failed post and still moves', () => {
    const { log } = run(fresh(), [
      [SWITCH, render('h1')],
      [SWITCH + 10, { type: 'failed' }],
      [SWITCH + 10 + 2000, tick],
    ]);
    expect(log[2]).toEqual([{ type: 'post', hash: 'h1', reason: 'token_expiring' }]);
  });

  it('delivers a final state by posting when it comes after the switch', () => {
    const { state, log } = run(fresh(), [
      [SWITCH + 5, render('final', true)],
      [SWITCH + 50, { type: 'posted', messageId: '1' }],
    ]);
    expect(log[0]).toEqual([{ type: 'post', hash: 'final', reason: 'token_expiring' }]);
    expect(state.phase).toBe('done');
  });
});

describe('messages older than an hour', () => {
  const channelState = (postedAt: number) =>
    initialDeliveryState({ interactionExpiresAt: T0 + TOKEN_LIFETIME_MS, postedAt, channelMessageId: '555', deliveredHash: 'h0' });
  const MOVE_AT = T0 + OLD_MESSAGE_AGE_MS - OLD_MESSAGE_MARGIN_MS;

  it('edits until 59 minutes and posts a fresh message from then on', () => {
    expect(run(channelState(T0), [[MOVE_AT - 1, render('h1')]]).last).toEqual([
      { type: 'edit', target: { via: 'channel', messageId: '555' }, hash: 'h1' },
    ]);
    expect(run(channelState(T0), [[MOVE_AT, render('h1')]]).last).toEqual([{ type: 'post', hash: 'h1', reason: 'message_too_old' }]);
  });

  it('does not post a fresh message just because time passed', () => {
    expect(run(channelState(T0), [[T0 + 3 * OLD_MESSAGE_AGE_MS, tick]]).last).toEqual([]);
  });

  it('posts a fresh message when Discord refuses the edit (30046) and retires the old one', () => {
    const { log } = run(channelState(T0), [
      [T0 + 20 * MIN, render('h1')],
      [T0 + 20 * MIN + 100, { type: 'too_old' }],
      [T0 + 20 * MIN + 200, { type: 'posted', messageId: '556' }],
    ]);
    expect(log[1]).toEqual([{ type: 'post', hash: 'h1', reason: 'message_too_old' }]);
    expect(log[2]).toEqual([{ type: 'retire', target: { via: 'channel', messageId: '555' } }]);
  });
});

describe('resuming after a restart', () => {
  it('goes on editing the channel message it had moved to', () => {
    const state = initialDeliveryState({
      interactionExpiresAt: T0 + TOKEN_LIFETIME_MS,
      postedAt: T0 + 14 * MIN,
      channelMessageId: '4242',
      deliveredHash: 'h5',
      lastEditAt: T0 + 20 * MIN,
    });
    expect(state).toMatchObject({ target: { via: 'channel', messageId: '4242' }, phase: 'active', wanted: null });
    // The same state again: nothing to send; a new one waits out the interval from the last edit.
    expect(step(state, render('h5'), T0 + 20 * MIN + 500).actions).toEqual([]);
    expect(step(state, render('h6'), T0 + 20 * MIN + 500).actions).toEqual([{ type: 'wake', at: T0 + 20 * MIN + 2000 }]);
  });

  it('defaults to the interaction reply with nothing delivered', () => {
    expect(initialDeliveryState({ interactionExpiresAt: 1, postedAt: 0 })).toMatchObject({
      target: { via: 'interaction' },
      deliveredHash: null,
      lastEditAt: null,
      failures: 0,
    });
  });
});

describe('a simulated 30-minute job against a Discord that sometimes says 429', () => {
  it('never edits a message twice within the interval, keeps one request in flight, and ends on the final state', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let state = fresh();
    const timers: number[] = [];
    const requests: { at: number; action: DeliveryAction }[] = [];
    // Boxed: TypeScript does not see the closure below assign it.
    const discord: { pending: { at: number; event: DeliveryEvent } | null } = { pending: null };
    const apply = (event: DeliveryEvent, now: number) => {
      const result = step(state, event, now);
      state = result.state;
      for (const action of result.actions) {
        if (action.type === 'wake') timers.push(action.at);
        if (action.type === 'edit' || action.type === 'post') {
          expect(discord.pending).toBeNull(); // one request in flight
          requests.push({ at: now, action });
          const r = random();
          const done = now + 100 + Math.floor(r * 400);
          discord.pending =
            r < 0.1
              ? { at: done, event: { type: 'rate_limited', retryAfterMs: 1500 } }
              : action.type === 'post'
                ? { at: done, event: { type: 'posted', messageId: `m${requests.length}` } }
                : { at: done, event: { type: 'edited' } };
        }
      }
    };
    const end = T0 + 30 * MIN;
    for (let now = T0; now <= end + MIN; now += 50) {
      const reply = discord.pending;
      if (reply && reply.at <= now) {
        const { event } = reply;
        discord.pending = null;
        apply(event, now);
      }
      while (timers.length && timers[0]! <= now) {
        timers.shift();
        apply(tick, now);
      }
      if (now <= end && now % 250 === 0) apply(render(`p${now}`, now === end), now);
    }
    expect(state.phase).toBe('done');
    expect(state.deliveredHash).toBe(`p${end}`);
    const edits = requests.filter((r) => r.action.type === 'edit');
    const byTarget = new Map<string, number[]>();
    for (const r of edits) {
      const key = JSON.stringify((r.action as { target: unknown }).target);
      byTarget.set(key, [...(byTarget.get(key) ?? []), r.at]);
    }
    for (const times of byTarget.values()) {
      for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(MIN_EDIT_INTERVAL_MS);
    }
    // Edits through the interaction token stop before the switch; exactly one move to a channel message.
    expect(Math.max(...(byTarget.get(JSON.stringify(INTERACTION)) ?? [0]))).toBeLessThan(T0 + 13 * MIN);
    expect(byTarget.size).toBe(2); // the interaction reply, then one channel message
    expect(state.target).toMatchObject({ via: 'channel' });
    expect(edits.length).toBeGreaterThan(100);
  });
});
