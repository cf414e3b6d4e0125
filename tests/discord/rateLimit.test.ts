/**
 * A 429 storm while a request's progress is being edited: per-route and
 * global rate limits with Retry-After on the interaction edits, the
 * followups that carry the stems, channel messages and the DM channel. The
 * real bot process (with workers and a tiny model) must still bring the
 * message to its final state, never send into a bucket Discord said was
 * empty, and keep to at most one edit per 2 s per message.
 */
import { describe, expect, it } from 'vitest';
import { MIN_EDIT_INTERVAL_MS } from '../../src/domain/deliveryPolicy.ts';
import { COLORS } from '../../src/domain/messages.ts';
import { useBot } from './harness.ts';
import { delivered, separate } from './reactionsHelpers.ts';

const EDIT_ROUTE = '/webhooks/:application_id/:token/messages/:message_id';

describe('a 429 storm during progress edits', () => {
  const suite = useBot({ role: 'all', models: ['htdemucs'], readyTimeoutMs: 120_000 });

  it('still delivers the final state, never into an empty bucket, at most one edit per 2 s', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('stormy');
    const sent = await separate(suite.bot, suite.orm, user, { model: 'htdemucs', seconds: 8 });
    // Everything after the first reply meets the storm.
    fake.injectRateLimit({ method: 'PATCH', path: /^\/webhooks\//, count: 6, retryAfterSeconds: 1 });
    fake.injectRateLimit({ method: 'POST', path: /^\/webhooks\//, count: 3, retryAfterSeconds: 1 });
    fake.injectRateLimit({ path: /^\/channels\//, count: 4, retryAfterSeconds: 0.5, global: true });
    fake.injectRateLimit({ path: /^\/users\//, count: 2, retryAfterSeconds: 0.5 });

    const done = await delivered(suite.orm, user.id, 300_000);
    expect(done.id).toBe(sent.request.id);
    // The final state reached the message (and the stems the followups).
    const final = await fake.waitUntil('the final render', () => {
      const m = fake.message(sent.reply.id)!;
      return m.embeds[0]?.color === COLORS.completed ? m : undefined;
    });
    expect(final.embeds[0]?.description).toContain('✅');

    const edits = fake.requestsTo('PATCH', EDIT_ROUTE).filter((r) => r.path.includes(encodeURIComponent(sent.handle.token)));
    // The storm did hit the progress edits, and the bot waited it out instead of dropping them.
    expect(edits.filter((r) => r.rateLimited).length).toBeGreaterThan(0);
    expect(fake.requests.filter((r) => r.rateLimited).length).toBeGreaterThanOrEqual(6);
    expect(fake.violations).toEqual([]);

    // One edit = its first try plus the retries of a 429; the policy spaces the first tries 2 s apart
    // when it sends them. The fake sees them when they arrive, and a send can be held back by
    // @discordjs/rest (a global 429 from the storm holds every queue), so one gap may look shorter;
    // the rate over the message's life and any three edits in a row show the spacing.
    const starts: number[] = [];
    let previousSucceeded = true;
    for (const r of edits) {
      if (previousSucceeded) starts.push(r.at);
      previousSucceeded = !r.rateLimited;
    }
    const log = edits.map((r) => `${r.at - edits[0]!.at} ${r.status}`).join(', ');
    expect(starts.length).toBeGreaterThan(2);
    const span = starts.at(-1)! - starts[0]!;
    expect(starts.length, `edit arrivals (ms since the first, status): ${log}`).toBeLessThanOrEqual(1 + Math.ceil(span / MIN_EDIT_INTERVAL_MS));
    const threeInARow = starts.slice(2).map((t, i) => t - starts[i]!);
    expect(Math.min(...threeInARow), `edit arrivals (ms since the first, status): ${log}`).toBeGreaterThanOrEqual(MIN_EDIT_INTERVAL_MS);
  }, 400_000);
});
