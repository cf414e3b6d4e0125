/**
 * startBot in-process against the fake Discord, with test commands: the router
 * defers before any slow work, answers failures and unknown commands privately,
 * and start-up problems come back as clear BotStartErrors.
 */
import { SlashCommandBuilder } from 'discord.js';
import { MessageFlags, InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, BotStartError, MISSING_TOKEN, type RunningBot } from '../../src/bot/start.ts';
import { FAILED, UNKNOWN_COMMAND } from '../../src/bot/router.ts';
import type { CommandModule } from '../../src/commands/types.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { memoryLogger } from '../engine/helpers.ts';
import { FakeDiscord } from '../support/fakeDiscord/index.ts';

function configFor(env: Record<string, string>): Config {
  const parsed = parseConfig({ SFA_DATA_DIR: '/tmp/sfa-unused', ...env });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const slow: CommandModule = {
  data: new SlashCommandBuilder().setName('slow').setDescription('takes longer than the acknowledgement deadline'),
  ephemeral: false,
  async execute(interaction) {
    await sleep(1300);
    await interaction.editReply('done, slowly');
  },
};
const broken: CommandModule = {
  data: new SlashCommandBuilder().setName('broken').setDescription('throws'),
  ephemeral: false,
  async execute() {
    throw new Error('database on fire');
  },
};
const badParse: CommandModule<string> = {
  data: new SlashCommandBuilder().setName('badparse').setDescription('parse throws'),
  ephemeral: false,
  parse() {
    throw new Error('unexpected option shape');
  },
  async execute() {},
};
const picky: CommandModule<string> = {
  data: new SlashCommandBuilder().setName('picky').setDescription('refuses its input').addStringOption((o) => o.setName('word').setDescription('a word')),
  ephemeral: false,
  parse(interaction) {
    const word = interaction.options.getString('word') ?? '';
    return word === 'please' ? { ok: true, value: word } : { ok: false, message: `Say please, not "${word}".` };
  },
  async execute(interaction, word) {
    await interaction.editReply(`You said ${word}.`);
  },
};

describe('startBot with test commands', () => {
  let fake: FakeDiscord;
  let bot: RunningBot;
  const log = memoryLogger();

  beforeAll(async () => {
    // A short deadline: a command that only answered after its work would miss it.
    fake = await FakeDiscord.start({ ackDeadlineMs: 1000 });
    bot = await startBot({
      config: configFor({ DISCORD_TOKEN: fake.token, DISCORD_API_BASE: fake.apiBase }),
      log,
      commands: [slow, broken, badParse, picky] as CommandModule<unknown>[],
    });
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
  });

  it('registers globally without DISCORD_GUILD_ID and logs that it is ready', () => {
    expect(bot.registration).toEqual({ scope: 'global', names: ['slow', 'broken', 'badparse', 'picky'] });
    expect(fake.commands().map((c) => c.name)).toEqual(['slow', 'broken', 'badparse', 'picky']);
    expect(fake.commands(fake.guild.id)).toEqual([]);
    expect(log.lines).toContain(`ready as ${fake.bot.username}; 4 commands registered globally (Discord can take up to an hour to show changes): /slow /broken /badparse /picky`);
  });

  it('defers at once, so work longer than the deadline still gets its answer', async () => {
    const user = fake.createUser('patient');
    const handle = fake.interact({ user, command: 'slow' });
    const ack = await handle.acknowledged();
    expect(ack.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(ack.ephemeral).toBe(false);
    expect((await handle.reply()).content).toBe('done, slowly');
    expect(fake.violations).toEqual([]);
  });

  it('answers a command that throws with a short apology and logs the error', async () => {
    const user = fake.createUser('unlucky');
    const reply = await fake.interact({ user, command: 'broken' }).reply();
    expect(reply.content).toBe(FAILED);
    expect(log.lines.some((l) => l.startsWith('/broken failed: Error: database on fire'))).toBe(true);
  });

  it('answers privately when reading the options fails', async () => {
    const user = fake.createUser('odd');
    const reply = await fake.interact({ user, command: 'badparse' }).reply();
    expect(reply).toMatchObject({ content: FAILED });
    expect(reply.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(log.lines).toContain('/badparse: reading the options failed: unexpected option shape');
  });

  it('answers invalid input privately even for a public command, and valid input with its result', async () => {
    const user = fake.createUser('polite');
    const refused = await fake.interact({ user, command: 'picky', options: { word: 'now' } }).reply();
    expect(refused.content).toBe('Say please, not "now".');
    expect(refused.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    const accepted = await fake.interact({ user, command: 'picky', options: { word: 'please' } }).reply();
    expect(accepted.content).toBe('You said please.');
    expect(accepted.flags & MessageFlags.Ephemeral).toBe(0);
    expect(fake.messages().map((m) => m.id)).toContain(accepted.id);
  });

  it('answers a command it no longer has (a stale registration) privately', async () => {
    const response = await fetch(`${fake.apiBase}/v10/applications/${fake.applicationId}/commands`, {
      method: 'PUT',
      headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify([...fake.commands(), { name: 'retired', description: 'from an older version' }]),
    });
    expect(response.status).toBe(200);
    const user = fake.createUser('nostalgic');
    const reply = await fake.interact({ user, command: 'retired' }).reply();
    expect(reply.content).toBe(UNKNOWN_COMMAND);
    expect(reply.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  });

  it('never logs the token', () => {
    expect(log.lines.join('\n')).not.toContain(fake.token);
  });
});

describe('startBot refusing to start', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });
  afterAll(async () => fake?.close());

  it('without a token', async () => {
    await expect(startBot({ config: configFor({ DISCORD_API_BASE: fake.apiBase }), log: memoryLogger() })).rejects.toThrow(new BotStartError(MISSING_TOKEN));
  });

  it('with a token Discord rejects', async () => {
    const error = await startBot({ config: configFor({ DISCORD_TOKEN: 'not-it', DISCORD_API_BASE: fake.apiBase }), log: memoryLogger() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BotStartError);
    expect((error as Error).message).toBe('Discord rejected DISCORD_TOKEN (401 Unauthorized). Copy the current token from the developer portal (Bot -> Reset Token).');
  });

  it('when the bot is not in DISCORD_GUILD_ID', async () => {
    const error = await startBot({
      config: configFor({ DISCORD_TOKEN: fake.token, DISCORD_API_BASE: fake.apiBase, DISCORD_GUILD_ID: '123456789012345678' }),
      log: memoryLogger(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BotStartError);
    expect((error as Error).message).toMatch(/^Registering the slash commands failed: Unknown Guild\. Is the bot in guild 123456789012345678 \(DISCORD_GUILD_ID\)\?$/);
    expect(fake.connectedSessions).toBe(0); // it logged out again
  });

  it('when Discord cannot be reached', async () => {
    const error = await startBot({ config: configFor({ DISCORD_TOKEN: 'x', DISCORD_API_BASE: 'http://127.0.0.1:1/api' }), log: memoryLogger() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BotStartError);
    expect((error as Error).message).toMatch(/^Could not connect to Discord: /);
  });
});
