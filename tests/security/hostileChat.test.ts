/**
 * Hostile chat members against the real bot process (role all: bot and
 * workers) through the fake Discord: links to private addresses, a Spotify
 * track whose title and artist (from the fake Spotify API) carry markdown,
 * masked links, mentions and zero-width characters, and one user's parallel
 * commands racing the per-user limit. Each case checks what the user sees,
 * that nothing was queued for a refusal, and that the bot still answers.
 */
import { randomBytes } from 'node:crypto';
import { MessageFlags } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tooManyRequests } from '../../src/commands/requestFlow.ts';
import { COLORS } from '../../src/domain/messages.ts';
import { PRIVATE_ADDRESS_MESSAGE } from '../../src/jobs/download/addressGuard.ts';
import { sendJson, startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import type { InteractionHandle, StoredMessage } from '../support/fakeDiscord/index.ts';
import { until } from '../support/wait.ts';
import { useBot } from '../discord/harness.ts';
import { distinctSong, requestsOf } from '../discord/reactionsHelpers.ts';

const ZW = '\u200b';
const SPOTIFY_ID = Array.from(randomBytes(22), (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 62]).join('');
const HOSTILE_TITLE = `[Verify your account](https://evil.example/login) @everyone <@123456789012345678> **now**${ZW}\u202e`;
const HOSTILE_ARTIST = `@here [DJ](http://evil.example) __x__`;

let spotify: FakeHttp;
beforeAll(async () => {
  spotify = await startFakeHttp((req, res) => {
    if (req.method === 'POST' && req.path === '/api/token') return sendJson(res, 200, { access_token: 'tok', expires_in: 3600 });
    if (req.path === `/v1/tracks/${SPOTIFY_ID}`) {
      return sendJson(res, 200, {
        id: SPOTIFY_ID,
        name: HOSTILE_TITLE,
        duration_ms: 3000,
        artists: [{ name: HOSTILE_ARTIST }],
        album: { name: 'Album\n# heading', images: [] },
        external_ids: {},
      });
    }
    return sendJson(res, 404, { error: 'not found' });
  });
});
afterAll(() => spotify?.close());

const suite = useBot(async () => ({
  role: 'all',
  env: {
    SFA_USER_CONCURRENCY: '1',
    SPOTIFY_CLIENT_ID: 'client',
    SPOTIFY_CLIENT_SECRET: 'secret',
    SPOTIFY_API_BASE: `${spotify.baseUrl}/v1`,
    SPOTIFY_ACCOUNTS_BASE: spotify.baseUrl,
  },
  readyTimeoutMs: 120_000,
}));

const isEphemeral = (m: StoredMessage) => (m.flags & MessageFlags.Ephemeral) !== 0;

/** The private answer given after the (public) defer: the deferred reply is deleted, the user alone is answered. */
function privateFollowup(handle: InteractionHandle): Promise<StoredMessage> {
  return suite.bot.fake.waitUntil('the private answer', () => handle.followups()[0], 30_000);
}

async function tracksWithSource(url: string): Promise<number> {
  const rows = await suite.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from tracks where source_url = ?`, [url]);
  return Number(rows[0]!.n);
}

async function stillAnswers(): Promise<void> {
  const user = suite.bot.fake.createUser(`checker${randomBytes(3).toString('hex')}`);
  const reply = await suite.bot.fake.interact({ user, command: 'help' }).reply(30_000);
  expect(reply.content).toContain('/separate');
}

describe('links to private addresses, through the bot', () => {
  it.each([
    'http://[::127.0.0.1]/song.mp3',
    'http://[64:ff9b::7f00:1]/song.mp3',
    'http://[fec0::1]/song.mp3',
    'http://[fe90::1]/song.mp3',
    'http://localhost./song.mp3',
    'http://198.18.0.1/song.mp3',
    'http://224.0.0.1/song.mp3',
    'http://2130706433/song.mp3',
    'http://0x7f.1/song.mp3',
    'http://127.1/song.mp3',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:10.0.0.1]/song.mp3',
  ])('%s is refused privately, nothing is queued, the bot answers the next command', async (url) => {
    const user = suite.bot.fake.createUser(`prober${randomBytes(3).toString('hex')}`);
    const handle = suite.bot.fake.interact({ user, command: 'analyze', options: { url } });
    await handle.acknowledged();
    const reply = await privateFollowup(handle);
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toBe(PRIVATE_ADDRESS_MESSAGE);
    expect(await requestsOf(suite.orm, user.id)).toEqual([]);
    expect(await tracksWithSource(new URL(url).href)).toBe(0);
    await until('the slot to be given back', async () => (await suite.orm.em.fork().execute(`select 1 from request_slots where requester_id = ?`, [user.id])).length === 0);
    expect(suite.bot.fake.violations).toEqual([]);
    await stillAnswers();
  }, 60_000);
});

describe('one user racing the per-user limit (SFA_USER_CONCURRENCY=1)', () => {
  it('three parallel /analyze with attachments: exactly one request, two private refusals', async () => {
    const user = suite.bot.fake.createUser('racer');
    const handles = [0, 1, 2].map(() =>
      suite.bot.fake.interact({ user, command: 'analyze', attachments: { file: { filename: 'song.wav', data: distinctSong(2), contentType: 'audio/wav' } } }),
    );
    await Promise.all(handles.map((h) => h.acknowledged()));
    const refused = await suite.bot.fake.waitUntil(
      'two refusals',
      () => {
        const answers = handles.map((h) => h.followups()[0]).filter((m): m is StoredMessage => !!m);
        return answers.length >= 2 ? answers : undefined;
      },
      60_000,
    );
    expect(refused.map((m) => m.content)).toEqual([tooManyRequests(1, 1), tooManyRequests(1, 1)]);
    expect(refused.every(isEphemeral)).toBe(true);
    const rows = await until('the one request row', async () => {
      const found = await requestsOf(suite.orm, user.id);
      return found.length > 0 ? found : undefined;
    });
    await new Promise((r) => setTimeout(r, 500)); // a late third row would show up now
    expect(await requestsOf(suite.orm, user.id)).toHaveLength(1);
    expect(rows).toHaveLength(1);
    await until('the slots to be given back', async () => (await suite.orm.em.fork().execute(`select 1 from request_slots where requester_id = ?`, [user.id])).length === 0);
    await stillAnswers();
  }, 120_000);
});

describe('a Spotify title and artist with markdown, mentions and zero-width characters', () => {
  it('render as inert text in the request message and in /status, and the failure reason too', async () => {
    const user = suite.bot.fake.createUser('markdown-fan');
    const handle = suite.bot.fake.interact({ user, command: 'analyze', options: { url: `https://open.spotify.com/track/${SPOTIFY_ID}` } });
    const reply = await handle.reply(30_000);
    // The download fails (no YouTube here), after the metadata came in.
    const final = await suite.bot.fake.waitUntil(
      'the failed render with the Spotify title',
      () => {
        const m = suite.bot.fake.message(reply.id);
        return m?.embeds[0]?.color === COLORS.failed && m.embeds[0].title?.includes('Verify') ? m : undefined;
      },
      120_000,
    );
    const embed = final.embeds[0]!;
    const shown = `${embed.title}\n${embed.description}`;
    expect(embed.title).toBe(`\\[Verify your account\\]\\(https:${ZW}//evil.example/login\\) @${ZW}everyone \\<@123456789012345678\\> \\*\\*now\\*\\*`);
    expect(embed.description).toContain(`by **@${ZW}here \\[DJ\\]\\(http:${ZW}//evil.example\\) \\_\\_x\\_\\_**`);
    expect(embed.description).toContain('*Album \\# heading*');
    expect(embed.description).toMatch(/❌ \*\*Download\*\* — failed: /);
    // Nothing clickable, no mention, no hidden characters anywhere in what is shown.
    expect(shown).not.toMatch(/(^|[^\\])\[[^\]]*\]\(/);
    expect(shown).not.toMatch(/https?:\/\//);
    expect(shown).not.toMatch(/@everyone|@here/);
    // The one real mention is the requester's own ("Requested by").
    expect([...shown.matchAll(/(?:^|[^\\])<@!?&?(\d+)>/g)].map((m) => m[1])).toEqual([user.id]);
    expect(shown).not.toContain('\u202e');
    expect(final.content ?? '').not.toMatch(/@everyone/);

    const status = await suite.bot.fake.interact({ user, command: 'status' }).reply(30_000);
    expect(isEphemeral(status)).toBe(true);
    expect(status.content).toContain(`**\\[Verify your account\\]\\(https:${ZW}//evil.example/login\\) @${ZW}everyone`);
    expect(status.content).not.toMatch(/https?:\/\//);
    expect(status.content).not.toMatch(/@everyone/);
    expect(suite.bot.fake.violations).toEqual([]);
    await stillAnswers();
  }, 180_000);
});
