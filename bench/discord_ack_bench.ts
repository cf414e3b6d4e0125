/**
 * Discord bot under a burst of commands: the fake Discord + the REAL bot
 * process (`--role all`, tiny generated htdemucs) + a throwaway database.
 * Fires N concurrent `/separate` interactions (one short attached song, so
 * the pipeline shares one download/separation and every message gets
 * progress), then measures, as the fake saw it:
 *   - acknowledgement latency (INTERACTION_CREATE dispatched -> callback received): p50, p99, max;
 *   - progress edits per message per minute, and the smallest gap between two edits of one message;
 *   - rule violations (late/double acks, requests into an empty rate-limit bucket).
 *
 *   npx tsx bench/discord_ack_bench.ts [--n 50] [--seconds 20] [--out bench/results/discord_ack.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrate } from '../src/db/migrate.ts';
import { createDatabase, dropDatabase, serverUrl, uniqueDatabaseName, withDatabase } from '../tests/support/db.ts';
import { startBotHarness } from '../tests/discord/harness.ts';
import type { InteractionHandle } from '../tests/support/fakeDiscord/index.ts';
import { distinctSong } from '../tests/discord/reactionsHelpers.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench/results/discord_ack.json' },
    'settle-seconds': { type: 'string', default: '240' },
  },
});
const N = Number(values.n);
const SONG_SECONDS = Number(values.seconds);
const SETTLE_MS = Number(values['settle-seconds']) * 1000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const adminUrl = serverUrl(process.env.DATABASE_URL);
  const dbName = uniqueDatabaseName('sfa_bench');
  await createDatabase(adminUrl, dbName);
  const databaseUrl = withDatabase(adminUrl, dbName);
  await migrate(databaseUrl);
  const loadBefore = loadavg();
  const bot = await startBotHarness({ role: 'all', databaseUrl, models: ['htdemucs'], readyTimeoutMs: 180_000 });
  try {
    const { fake } = bot;
    const song = distinctSong(SONG_SECONDS);
    const users = Array.from({ length: N }, (_, i) => fake.createUser(`bench${i}`));
    const started = Date.now();
    // All dispatched at once, yielding between them only so the fake (same process) can read and
    // time the callbacks that arrive meanwhile instead of stamping them after the whole burst.
    const handles: InteractionHandle[] = [];
    for (const user of users) {
      handles.push(
        fake.interact({ user, command: 'separate', options: { model: 'htdemucs' }, attachments: { file: { filename: 'song.wav', data: song, contentType: 'audio/wav' } } }),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    const dispatchSpreadMs = Date.now() - started;
    const acks = await Promise.all(handles.map((h) => h.acknowledged(15_000).catch((e: unknown) => e as Error)));
    const ackMs = acks.filter((a): a is Exclude<typeof a, Error> => !(a instanceof Error)).map((a) => a.elapsedMs).sort((a, b) => a - b);
    const missed = acks.filter((a) => a instanceof Error).length;
    const loadDuring = loadavg();

    // Wait until every request's message reached a final state (or the settle time ran out).
    const finalColor = 0x57f287;
    const failedColor = 0xed4245;
    const finished = () =>
      handles.every((h) => {
        const m = h.original();
        const color = m?.embeds[0]?.color;
        return color === finalColor || color === failedColor;
      });
    let settled = true;
    await fake.waitUntil('every request message to reach its final state', () => finished(), SETTLE_MS).catch(() => (settled = false));
    const elapsedMs = Date.now() - started;

    // Progress edits per message: successful PATCHes of each interaction's @original.
    const perMessage = handles.map((h) => {
      const token = h.token;
      const edits = fake.requestsTo('PATCH', '/webhooks/:application_id/:token/messages/:message_id').filter((r) => r.path.includes(encodeURIComponent(token)) && r.status === 200);
      const times = edits.map((r) => r.at).sort((a, b) => a - b);
      const spanMs = times.length > 1 ? times.at(-1)! - times[0]! : 0;
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      return { edits: times.length, spanMs, minGapMs: gaps.length ? Math.min(...gaps) : null };
    });
    const rates = perMessage.filter((m) => m.spanMs > 0).map((m) => ((m.edits - 1) / m.spanMs) * 60_000);
    const minGaps = perMessage.map((m) => m.minGapMs).filter((g): g is number => g !== null);
    const result = {
      date: new Date().toISOString(),
      command: `npx tsx bench/discord_ack_bench.ts --n ${N} --seconds ${SONG_SECONDS}`,
      machine: { cpus: cpus().length, loadavgBefore: loadBefore.map((l) => round(l, 2)), loadavgDuringBurst: loadDuring.map((l) => round(l, 2)) },
      interactions: N,
      dispatchSpreadMs,
      songSeconds: SONG_SECONDS,
      ack: { n: ackMs.length, missedDeadline: missed, p50Ms: percentile(ackMs, 50), p99Ms: percentile(ackMs, 99), maxMs: ackMs.at(-1), targetP99Ms: 300 },
      edits: {
        settled,
        elapsedSeconds: round(elapsedMs / 1000),
        totalEdits: perMessage.reduce((s, m) => s + m.edits, 0),
        perMessageMean: round(perMessage.reduce((s, m) => s + m.edits, 0) / N),
        perMessagePerMinuteMean: rates.length ? round(rates.reduce((s, r) => s + r, 0) / rates.length) : null,
        perMessagePerMinuteMax: rates.length ? round(Math.max(...rates)) : null,
        policyMaxPerMinute: 30,
        smallestGapBetweenEditsMs: minGaps.length ? Math.min(...minGaps) : null,
        rateLimited429: fake.requests.filter((r) => r.rateLimited).length,
      },
      violations: [...fake.violations],
    };
    mkdirSync(path.dirname(values.out!), { recursive: true });
    writeFileSync(values.out!, `${JSON.stringify(result, null, 2)}\n`);

    const row = (k: string, v: unknown) => `| ${k} | ${String(v)} |`;
    console.log(
      [
        `| measure (${N} concurrent /separate, ${SONG_SECONDS} s song, tiny htdemucs) | value |`,
        '|---|---|',
        row('acknowledgement p50', `${result.ack.p50Ms} ms`),
        row('acknowledgement p99 (target < 300 ms)', `${result.ack.p99Ms} ms`),
        row('acknowledgement max', `${result.ack.maxMs} ms`),
        row('missed the 3 s deadline', missed),
        row('all interactions dispatched within', `${dispatchSpreadMs} ms`),
        row('edits per message (mean)', result.edits.perMessageMean),
        row('edits per message per minute (mean / max; policy max 30)', `${result.edits.perMessagePerMinuteMean} / ${result.edits.perMessagePerMinuteMax}`),
        row('smallest gap between two edits of one message', `${result.edits.smallestGapBetweenEditsMs} ms`),
        row('429 answers / rule violations', `${result.edits.rateLimited429} / ${result.violations.length}`),
        row('all messages final', `${settled} after ${result.edits.elapsedSeconds} s`),
        row('load average (1 min) before / during burst', `${result.machine.loadavgBefore[0]} / ${result.machine.loadavgDuringBurst[0]} on ${result.machine.cpus} cores`),
      ].join('\n'),
    );
    if (!settled) console.log(`\nnot settled; bot output tail:\n${bot.output().slice(-3000)}`);
  } finally {
    await bot.close();
    await dropDatabase(adminUrl, dbName);
  }
}

await main();
