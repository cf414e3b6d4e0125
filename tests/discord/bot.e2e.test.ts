/**
 * The real bot process (`npm start -- --role bot`) against the fake Discord:
 * what a user sees when they use its slash commands, and how the process
 * behaves when started, misconfigured or stopped.
 */
import { randomBytes } from 'node:crypto';
import { MessageFlags } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_MODEL, MODELS, MODEL_NAMES } from '../../src/domain/modelCatalog.ts';
import { createDatabase, dropDatabase, uniqueDatabaseName, withDatabase } from '../support/db.ts';
import { FakeDiscord, type InteractionHandle, type StoredMessage } from '../support/fakeDiscord/index.ts';
import { runSfa, runStart, startBotHarness, type BotHarness } from './harness.ts';

const TRACK = 'https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC';
const COMMAND_NAMES = ['separate', 'analyze', 'status', 'cancel', 'models', 'help'];

/** Waits for the answer and checks what every answer must satisfy: acknowledged in time, nothing Discord would refuse. */
async function answer(bot: BotHarness, handle: InteractionHandle): Promise<StoredMessage> {
  // acknowledged() rejects if the fake's 3 s deadline passed first.
  await handle.acknowledged();
  const reply = await handle.reply();
  expect(bot.fake.violations).toEqual([]);
  return reply;
}

const isEphemeral = (m: StoredMessage) => (m.flags & MessageFlags.Ephemeral) !== 0;

describe('the bot against the fake Discord', () => {
  let bot: BotHarness;

  beforeAll(async () => {
    bot = await startBotHarness({ role: 'bot' });
  }, 120_000);

  afterAll(async () => {
    await bot?.close();
  }, 30_000);

  it('logs in with only the intents it needs and registers its commands in DISCORD_GUILD_ID on start', () => {
    const { fake } = bot;
    // Guilds | GuildMessageReactions | DirectMessageReactions: nothing privileged.
    expect(fake.gatewayStats.identifies.map((i) => i.intents)).toEqual([(1 << 0) | (1 << 10) | (1 << 13)]);
    const commands = fake.commands(fake.guild.id);
    expect(commands.map((c) => c.name)).toEqual(COMMAND_NAMES);
    expect(fake.commands()).toEqual([]); // not globally
    const separate = commands.find((c) => c.name === 'separate')!;
    const options = Object.fromEntries((separate.options ?? []).map((o) => [o.name, o]));
    expect(Object.keys(options)).toEqual(['url', 'file', 'tracks', 'model', 'format']);
    expect(options.model && 'choices' in options.model ? options.model.choices?.map((c) => c.value) : undefined).toEqual([...MODEL_NAMES]);
    expect(options.format && 'choices' in options.format ? options.format.choices?.map((c) => c.value) : undefined).toEqual(['wav', 'flac', 'mp3']);
    expect(bot.output()).toContain(`6 commands registered in guild ${fake.guild.id}`);
  });

  it('answers /help privately, in time, with what each command does', async () => {
    const user = bot.fake.createUser('helpseeker');
    const handle = bot.fake.interact({ user, command: 'help' });
    const reply = await answer(bot, handle);
    expect(isEphemeral(reply)).toBe(true);
    for (const name of COMMAND_NAMES) expect(reply.content).toContain(`/${name}`);
    expect(reply.content).toContain('Spotify track link');
    expect(reply.content).toContain('Spotify album or playlist link');
    // Deferred first, then edited: the defer is the first thing the bot does.
    expect(reply.history[0]!.flags & MessageFlags.Loading).toBe(MessageFlags.Loading);
  });

  it('answers /models with every catalog model: stems, quality and speed', async () => {
    const user = bot.fake.createUser('modelfan');
    const reply = await answer(bot, bot.fake.interact({ user, command: 'models' }));
    expect(reply.content).toContain(`(default \`${DEFAULT_MODEL}\`)`);
    for (const model of MODELS) {
      expect(reply.content).toContain(`${model.emoji} \`${model.name}\``);
      expect(reply.content).toContain(`stems: ${model.stems.join(', ')}`);
    }
    expect(reply.content).toMatch(/`htdemucs`: .*\nstems: drums, bass, other, vocals · quality: 9\.0 dB SDR · speed: fastest/);
    expect(reply.content).toMatch(/`htdemucs_ft`: .*\n.*speed: about 4x the time of the fastest/);
    expect(reply.content).toMatch(/`htdemucs_6s`: .*\nstems: drums, bass, other, vocals, guitar, piano · quality: no published SDR/);
    // What separations run on here: nothing has been separated in this bot's database yet.
    expect(reply.content).toContain('No separation has run here yet; on a CPU they run on OpenVINO, in bf16 where the CPU has it natively.');
  });

  it('answers a bad link privately with what is wrong and what to do', async () => {
    const user = bot.fake.createUser('badlinks');
    const album = await answer(bot, bot.fake.interact({ user, command: 'separate', options: { url: 'https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy' } }));
    expect(isEphemeral(album)).toBe(true);
    // Albums need the Spotify Web API; this bot has no credentials, and says which settings enable it.
    expect(album.content).toMatch(/^Albums and playlists need the Spotify Web API, which needs app credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/);

    const ftp = await answer(bot, bot.fake.interact({ user, command: 'analyze', options: { url: 'ftp://example.com/song.mp3' } }));
    expect(isEphemeral(ftp)).toBe(true);
    expect(ftp.content).toMatch(/^Only http\(s\) links are accepted\./);

    const nothing = await answer(bot, bot.fake.interact({ user, command: 'separate', options: { format: 'flac' } }));
    expect(nothing.content).toBe('Give me a song: `url:` with a Spotify track, album or playlist link or a direct link to an audio file, or attach an audio file with `file:`.');
    // Nothing public was posted for any of them.
    expect(bot.fake.messages()).toEqual([]);
  });

  it('answers an attachment that is not audio privately', async () => {
    const user = bot.fake.createUser('pngsender');
    const reply = await answer(
      bot,
      bot.fake.interact({ user, command: 'separate', attachments: { file: { filename: 'cover.png', data: randomBytes(100), contentType: 'image/png' } } }),
    );
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toBe('"cover.png" is not an audio file (image/png). Attach an audio file (MP3, WAV, FLAC, OGG, M4A, ...), or give a link with `url:`.');
  });

  it('answers /status and /cancel privately when the user has no request', async () => {
    const user = bot.fake.createUser('newcomer');
    const status = await answer(bot, bot.fake.interact({ user, command: 'status' }));
    expect(isEphemeral(status)).toBe(true);
    expect(status.content).toBe('You have no requests yet. `/separate` splits a song into stems, `/analyze` measures its tempo and key.');
    const cancel = await answer(bot, bot.fake.interact({ user, command: 'cancel' }));
    expect(isEphemeral(cancel)).toBe(true);
    expect(cancel.content).toBe('You have no request that is still running. `/status` lists your requests.');
  });

  it('answers a model it does not know (commands registered by another version) with the valid ones', async () => {
    const { fake } = bot;
    const current = fake.commands(fake.guild.id);
    // An older or newer bot registered a model choice this version does not have.
    const stale = current.map(({ name, description, options }) =>
      name !== 'separate'
        ? { name, description, options }
        : {
            name,
            description,
            options: options?.map((o) => (o.name === 'model' && 'choices' in o ? { ...o, choices: [...(o.choices ?? []), { name: 'demucs_v9', value: 'demucs_v9' }] } : o)),
          },
    );
    const put = await fetch(`${fake.apiBase}/v10/applications/${fake.applicationId}/guilds/${fake.guild.id}/commands`, {
      method: 'PUT',
      headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(stale),
    });
    expect(put.status).toBe(200);

    const user = fake.createUser('stale');
    const reply = await answer(bot, fake.interact({ user, command: 'separate', options: { url: TRACK, model: 'demucs_v9' } }));
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toBe(`Unknown model "demucs_v9". Valid models: ${MODEL_NAMES.join(', ')} (default ${DEFAULT_MODEL}). \`/models\` describes them.`);
  });

  it('resumes after the gateway drops and keeps answering', async () => {
    const { fake } = bot;
    fake.disconnect();
    await fake.waitUntil('the bot to resume', () => fake.gatewayStats.resumes.length > 0 && fake.connectedSessions > 0, 30_000);
    const user = fake.createUser('afterdrop');
    const reply = await answer(bot, fake.interact({ user, command: 'help' }));
    expect(reply.content).toContain('/separate');
    expect(fake.gatewayStats.identifies).toHaveLength(1);
    expect(bot.output()).toContain('[bot] gateway connection lost; reconnecting');
  }, 40_000);

  it('never prints its token, and stops cleanly on SIGTERM', async () => {
    expect(bot.output()).not.toContain(bot.fake.token);
    expect(await bot.stop()).toBe(0);
    expect(bot.output()).not.toContain(bot.fake.token);
    // Its own shutdown is not reported as a lost connection.
    expect(bot.output().trimEnd().split('\n').at(-1)).toBe('stopping...');
  }, 30_000);
});

describe('starting the bot', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });
  afterAll(async () => fake?.close());

  it.for(['bot', 'all'])('--role %s without DISCORD_TOKEN exits 2 and says what to set', async (role) => {
    const result = await runStart(role, { DISCORD_API_BASE: fake.apiBase });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('DISCORD_TOKEN is not set.');
    expect(result.stderr).toContain('--role worker');
    expect(fake.requests).toEqual([]);
  });

  it('with a token Discord rejects, exits 1 saying so without printing the token', async () => {
    const token = `wrong.${randomBytes(12).toString('hex')}`;
    const result = await runStart('bot', { DISCORD_TOKEN: token, DISCORD_API_BASE: fake.apiBase });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Discord rejected DISCORD_TOKEN (401 Unauthorized)');
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('`sfa discord register` registers the commands in DISCORD_GUILD_ID (or globally) and exits 0', async () => {
    const env = { DISCORD_TOKEN: fake.token, DISCORD_API_BASE: fake.apiBase, DISCORD_GUILD_ID: fake.guild.id };
    const inGuild = await runSfa(['discord', 'register'], env);
    expect(inGuild, inGuild.stderr).toMatchObject({ exitCode: 0 });
    expect(inGuild.stdout).toBe(`6 commands registered in guild ${fake.guild.id}: ${COMMAND_NAMES.map((n) => `/${n}`).join(' ')}`);
    expect(fake.commands(fake.guild.id).map((c) => c.name)).toEqual(COMMAND_NAMES);
    expect(fake.gatewayStats.connections).toBe(0); // registered over REST only, never went online

    const global = await runSfa(['discord', 'register', '--global'], env);
    expect(global, global.stderr).toMatchObject({ exitCode: 0 });
    expect(global.stdout).toContain('6 commands registered globally');
    expect(fake.commands().map((c) => c.name)).toEqual(COMMAND_NAMES);

    const noToken = await runSfa(['discord', 'register'], { DISCORD_API_BASE: fake.apiBase });
    expect(noToken.exitCode).toBe(2);
    expect(noToken.stderr).toContain('DISCORD_TOKEN is not set.');
  });
});

describe('npm start -- --role all', () => {
  const admin = inject('adminDatabaseUrl');
  // A database of its own: its workers must not pick up other tests' jobs.
  const name = uniqueDatabaseName('sfa_test_all');
  let bot: BotHarness | undefined;

  beforeAll(async () => {
    await createDatabase(admin, name);
  });
  afterAll(async () => {
    await bot?.close();
    await dropDatabase(admin, name);
  }, 30_000);

  it('runs the bot and the workers in one process', async () => {
    bot = await startBotHarness({ role: 'all', databaseUrl: withDatabase(admin, name) });
    expect(bot.output()).toContain('workers started (download, separate, analyze)');
    const user = bot.fake.createUser('allinone');
    const reply = await answer(bot, bot.fake.interact({ user, command: 'help' }));
    expect(reply.content).toContain('/separate');
    expect(await bot.stop()).toBe(0);
  }, 120_000);
});
