/**
 * The fake Discord against the real discord.js client: everything the bot
 * relies on (login, interactions, replies, uploads, errors Discord returns,
 * rate limits, reactions, DMs, reconnects) behaves as discord.js expects.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  Routes,
  type AnyThreadChannel,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type TextChannel,
  type User,
} from 'discord.js';
import { GatewayCloseCodes, GatewayOpcodes, InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeDiscord, ImpossibleInteraction } from '../support/fakeDiscord/index.ts';

const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions, GatewayIntentBits.DirectMessageReactions];
const COMMANDS = [
  { name: 'ping', description: 'Answers pong' },
  {
    name: 'upload',
    description: 'Takes a file',
    options: [
      { type: 11, name: 'file', description: 'a file', required: true },
      { type: 3, name: 'mode', description: 'how', choices: [{ name: 'fast', value: 'fast' }, { name: 'slow', value: 'slow' }] },
    ],
  },
];

function newClient(fake: FakeDiscord, intents = INTENTS): Client {
  return new Client({ intents, partials: [Partials.Message, Partials.Reaction, Partials.Channel, Partials.User], rest: { api: fake.apiBase } });
}

async function login(client: Client, token: string): Promise<void> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
}

/** The next interaction of the kind `is` accepts that the client receives, as discord.js hands it to the bot. */
function nextInteraction<T extends Interaction>(client: Client, is: (i: Interaction) => i is T): Promise<T> {
  return new Promise((resolve) => {
    const listener = (interaction: Interaction) => {
      if (!is(interaction)) return;
      client.off(Events.InteractionCreate, listener);
      resolve(interaction);
    };
    client.on(Events.InteractionCreate, listener);
  });
}

const nextCommand = (client: Client) => nextInteraction(client, (i): i is ChatInputCommandInteraction => i.isChatInputCommand());
const nextButton = (client: Client) => nextInteraction(client, (i): i is ButtonInteraction => i.isButton());

async function rejection(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiscordAPIError);
  return error as DiscordAPIError;
}

const sha256 = (data: Buffer | Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('fake Discord with the real discord.js client', () => {
  let fake: FakeDiscord;
  let client: Client;
  let channel: TextChannel;

  beforeAll(async () => {
    // Message bucket shortened from Discord's 5 per 5 s so the burst test below waits 1 s, not 5.
    fake = await FakeDiscord.start({ uploadLimitBytes: 64 * 1024, rateLimits: { routes: { 'POST /channels/:channel_id/messages': { limit: 5, windowMs: 1000 } } } });
    client = newClient(fake);
    await login(client, fake.token);
    await client.application!.commands.set(COMMANDS, fake.guild.id);
    channel = (await client.channels.fetch(fake.channelId)) as TextChannel;
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  it('logs in: ready as the fake bot, with the fake guild and its channel, after one IDENTIFY with the asked intents', () => {
    expect(client.user?.id).toBe(fake.bot.id);
    expect(client.user?.username).toBe(fake.bot.username);
    expect(client.application?.id).toBe(fake.applicationId);
    expect(client.guilds.cache.map((g) => g.id)).toEqual([fake.guild.id]);
    expect(client.guilds.cache.get(fake.guild.id)?.members.me?.id).toBe(fake.bot.id);
    expect(channel.name).toBe('general');
    expect(fake.gatewayStats.identifies.map((i) => i.intents)).toEqual([(1 << 0) | (1 << 10) | (1 << 13)]);
    expect(fake.commands(fake.guild.id).map((c) => c.name)).toEqual(['ping', 'upload']);
    expect(fake.commands()).toEqual([]);
  });

  it('delivers an interaction; deferReply + editReply are recorded as the ephemeral original and its edit', async () => {
    const user = fake.createUser('alice');
    const received = nextCommand(client);
    const handle = fake.interact({ user, command: 'ping' });
    const interaction = await received;
    expect(interaction.user.id).toBe(user.id);
    expect(interaction.guildId).toBe(fake.guild.id);
    expect(interaction.channelId).toBe(fake.channelId);
    expect(interaction.attachmentSizeLimit).toBe(64 * 1024);

    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const ack = await handle.acknowledged();
    expect(ack).toMatchObject({ type: InteractionResponseType.DeferredChannelMessageWithSource, ephemeral: true });
    expect(handle.original()?.content).toBe('');

    const edited = await interaction.editReply('pong');
    expect(edited.content).toBe('pong');
    const reply = await handle.reply();
    expect(reply.content).toBe('pong');
    expect(reply.history.map((h) => h.content)).toEqual(['', 'pong']);
    expect(reply.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    // Ephemeral: not part of the channel for anyone else.
    expect(fake.messages().map((m) => m.id)).not.toContain(reply.id);
    expect(fake.requestsTo('PATCH', '/webhooks/:application_id/:token/messages/:message_id').at(-1)?.auth).toBe('none');
    expect(fake.violations).toEqual([]);
  });

  it('passes options and an attached file the user uploaded; refuses what Discord would not send', async () => {
    const user = fake.createUser('bob');
    const data = randomBytes(3000);
    const received = nextCommand(client);
    fake.interact({ user, command: 'upload', options: { mode: 'slow' }, attachments: { file: { filename: 'song.mp3', data, contentType: 'audio/mpeg' } } });
    const interaction = await received;
    await interaction.deferReply();
    const file = interaction.options.getAttachment('file', true);
    expect(interaction.options.getString('mode')).toBe('slow');
    expect(file).toMatchObject({ name: 'song.mp3', size: 3000, contentType: 'audio/mpeg' });
    const downloaded = Buffer.from(await (await fetch(file.url)).arrayBuffer());
    expect(sha256(downloaded)).toBe(sha256(data));
    await interaction.editReply('got it');

    expect(() => fake.interact({ user, command: 'upload', options: { mode: 'medium' }, attachments: { file: { filename: 'a.mp3', data } } })).toThrow(ImpossibleInteraction);
    expect(() => fake.interact({ user, command: 'upload' })).toThrow(/required/);
    expect(() => fake.interact({ user, command: 'nope' })).toThrow(/not registered/);
  });

  it('stores an uploaded file intact and serves it back from its attachment URL', async () => {
    const user = fake.createUser('carol');
    const data = randomBytes(50 * 1024);
    const received = nextCommand(client);
    const handle = fake.interact({ user, command: 'ping' });
    const interaction = await received;
    await interaction.deferReply();
    const message = await interaction.editReply({ content: 'stems', files: [new AttachmentBuilder(data, { name: 'vocals.mp3' })] });
    expect(message.attachments.first()?.name).toBe('vocals.mp3');

    const reply = await handle.reply();
    expect(reply.attachments).toHaveLength(1);
    const [stored] = reply.attachments;
    expect(stored).toMatchObject({ filename: 'vocals.mp3', size: data.length, contentType: 'audio/mpeg' });
    expect(sha256(stored!.data)).toBe(sha256(data));
    const served = Buffer.from(await (await fetch(stored!.url)).arrayBuffer());
    expect(sha256(served)).toBe(sha256(data));
    // Public reply: it is in the channel.
    expect(fake.messages().map((m) => m.id)).toContain(reply.id);

    // An edit that lists no attachments removes them, as on Discord.
    await interaction.editReply({ content: 'no files now', attachments: [] });
    expect(handle.original()?.attachments).toEqual([]);
  });

  it('refuses a file over the upload limit with 413 / 40005, and more than 10 files with 30015', async () => {
    const user = fake.createUser('dave');
    const received = nextCommand(client);
    const handle = fake.interact({ user, command: 'ping', attachmentSizeLimit: 4096 });
    const interaction = await received;
    expect(interaction.attachmentSizeLimit).toBe(4096);
    await interaction.deferReply();
    const tooBig = await rejection(interaction.editReply({ files: [new AttachmentBuilder(randomBytes(4097), { name: 'big.wav' })] }));
    expect(tooBig).toMatchObject({ status: 413, code: 40005 });
    expect(handle.original()?.attachments).toEqual([]);

    const eleven = Array.from({ length: 11 }, (_, i) => new AttachmentBuilder(randomBytes(10), { name: `f${i}.txt` }));
    const tooMany = await rejection(channel.send({ files: eleven }));
    expect(tooMany).toMatchObject({ status: 400, code: 30015 });
  });

  it('answers 429 with Retry-After and @discordjs/rest retries until it succeeds (route and global)', async () => {
    const path = `/channels/${fake.channelId}/messages`;
    fake.injectRateLimit({ method: 'POST', path, retryAfterSeconds: 0.3 });
    const sent = await channel.send('after a route limit');
    expect(sent.content).toBe('after a route limit');
    const attempts = fake.requests.filter((r) => r.method === 'POST' && r.path === path && (r.body as { content?: string })?.content === 'after a route limit');
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(300);

    fake.injectRateLimit({ path: new RegExp(`^/channels/${fake.channelId}$`), retryAfterSeconds: 0.2, global: true, count: 2 });
    const fetched = await client.rest.get(`/channels/${fake.channelId}`);
    expect(fetched).toMatchObject({ id: fake.channelId });
    const gets = fake.requests.filter((r) => r.method === 'GET' && r.path === `/channels/${fake.channelId}`);
    expect(gets.slice(-3).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(fake.violations).toEqual([]);
  });

  it('dispatches a user reaction to messageReactionAdd, and echoes the bot\'s own reaction as Discord does', async () => {
    const user = fake.createUser('erin');
    const message = await channel.send('pick a model');
    const seen: { user: string; emoji: string | null }[] = [];
    const listener = (reaction: MessageReaction | PartialMessageReaction, reactor: User | PartialUser) => {
      if (reaction.message.id === message.id) seen.push({ user: reactor.id, emoji: reaction.emoji.name });
    };
    client.on(Events.MessageReactionAdd, listener);
    try {
      await message.react('🎛️');
      fake.react(user, fake.channelId, message.id, '💎');
      await fake.waitUntil('both reactions', () => seen.length >= 2);
      expect(seen).toEqual([
        { user: fake.bot.id, emoji: '🎛️' },
        { user: user.id, emoji: '💎' },
      ]);
      expect(fake.message(message.id)?.reactions).toEqual(
        new Map([
          ['🎛️', [fake.bot.id]],
          ['💎', [user.id]],
        ]),
      );
    } finally {
      client.off(Events.MessageReactionAdd, listener);
    }
  });

  it('shows reactions on a fetched message (count, me) and lists who reacted by user id, paged with after/limit', async () => {
    const users = [fake.createUser('kim'), fake.createUser('lee'), fake.createUser('max')];
    const message = await channel.send('who wants stems?');
    // The bot's own reaction, put there by the fake (a PUT right after the previous test's would meet discord.js's new-bucket race).
    fake.react(fake.bot.id, fake.channelId, message.id, '🎛️');
    // Reacting in reverse id order: the listing is by id all the same.
    for (const user of [...users].reverse()) fake.react(user, fake.channelId, message.id, '🎸');
    const fetched = await channel.messages.fetch({ message: message.id, force: true });
    expect(fetched.reactions.cache.map((r) => [r.emoji.name, r.count, r.me])).toEqual([
      ['🎛️', 1, true],
      ['🎸', 3, false],
    ]);
    const guitar = fetched.reactions.cache.get('🎸')!;
    const first = await guitar.users.fetch({ limit: 2 });
    const ids = users.map((u) => u.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect([...first.keys()]).toEqual(ids.slice(0, 2));
    const rest = await guitar.users.fetch({ limit: 2, after: ids[1] });
    expect([...rest.keys()]).toEqual(ids.slice(2));
    expect([...(await fetched.reactions.cache.get('🎛️')!.users.fetch()).keys()]).toEqual([fake.bot.id]);
    // An emoji nobody used lists nobody; a limit outside 1..100 is 50035; a deleted message is 10008.
    expect(await client.rest.get(`/channels/${fake.channelId}/messages/${message.id}/reactions/${encodeURIComponent('🎤')}`)).toEqual([]);
    const badLimit = await rejection(guitar.users.fetch({ limit: 101 }));
    expect([badLimit.status, badLimit.code]).toEqual([400, 50035]);
    await message.delete();
    const gone = await rejection(guitar.users.fetch());
    expect([gone.status, gone.code]).toEqual([404, 10008]);
    expect(fake.violations).toEqual([]);
  });

  it('DMs a user, and refuses with 403 / 50007 when their DMs are closed', async () => {
    const open = fake.createUser('frank');
    const closed = fake.createUser('grace', { dmsClosed: true });
    await (await client.users.fetch(open.id)).send('your analysis');
    expect(fake.dms(open.id).map((m) => m.content)).toEqual(['your analysis']);
    const refused = await rejection((await client.users.fetch(closed.id)).send('your analysis'));
    expect(refused).toMatchObject({ status: 403, code: 50007 });
    expect(fake.dms(closed.id)).toEqual([]);
  });

  it('refuses a second acknowledgement with 400 / 40060 and records it as a violation', async () => {
    const user = fake.createUser('heidi');
    const received = nextCommand(client);
    const handle = fake.interact({ user, command: 'ping' });
    const interaction = await received;
    await interaction.reply('first');
    await handle.acknowledged();
    const second = await rejection(client.rest.post(`/interactions/${interaction.id}/${interaction.token}/callback`, { body: { type: 5 }, auth: false }));
    expect(second).toMatchObject({ status: 400, code: 40060 });
    expect(fake.violations).toEqual([`/ping (interaction ${interaction.id}) was acknowledged twice`]);
    fake.core.violations.length = 0;
  });

  it('refuses edits after the interaction token expired with 401 / 50027', async () => {
    const user = fake.createUser('ivan');
    const received = nextCommand(client);
    fake.interact({ user, command: 'ping', tokenTtlMs: 400 });
    const interaction = await received;
    await interaction.deferReply();
    await new Promise((r) => setTimeout(r, 500));
    const expired = await rejection(interaction.editReply('too late'));
    expect(expired).toMatchObject({ status: 401, code: 50027 });
  });

  it('refuses invalid command registrations with 400 / 50035', async () => {
    const bad = await rejection(client.application!.commands.set([{ name: 'Separate', description: 'upper case is not allowed' }], fake.guild.id));
    expect(bad).toMatchObject({ status: 400, code: 50035 });
    const order = await rejection(
      client.application!.commands.set(
        [{ name: 'x', description: 'y', options: [{ type: 3, name: 'a', description: 'a' }, { type: 3, name: 'b', description: 'b', required: true }] }],
        fake.guild.id,
      ),
    );
    expect(order.code).toBe(50035);
    expect(fake.commands(fake.guild.id).map((c) => c.name)).toEqual(['ping', 'upload']);
  });

  it('runs a command in a DM with the bot (global commands only) and keeps the reply in the DM channel', async () => {
    await client.application!.commands.set([{ name: 'dmping', description: 'works in DMs' }]);
    const user = fake.createUser('kim');
    expect(() => fake.interact({ user, guild: null, command: 'ping' })).toThrow(/not registered/);
    const received = nextCommand(client);
    const handle = fake.interact({ user, guild: null, command: 'dmping' });
    const interaction = await received;
    expect(interaction.inGuild()).toBe(false);
    expect(interaction.channel?.isDMBased()).toBe(true);
    await interaction.reply('hi in private');
    const reply = await handle.reply();
    expect(fake.dms(user.id).map((m) => m.id)).toEqual([reply.id]);
  });

  it('delivers button clicks: update (7) edits the message, deferUpdate (6) + editReply edits it later', async () => {
    const user = fake.createUser('lena');
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('retry').setLabel('Retry').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId('later').setLabel('Later').setStyle(ButtonStyle.Secondary),
    );
    const message = await channel.send({ content: 'failed: network', components: [row] });
    expect(() => fake.click({ user, messageId: message.id, customId: 'nope' })).toThrow(ImpossibleInteraction);

    let received = nextButton(client);
    const update = fake.click({ user, messageId: message.id, customId: 'retry' });
    let click = await received;
    expect(click.customId).toBe('retry');
    expect(click.message.id).toBe(message.id);
    expect(click.user.id).toBe(user.id);
    await click.update({ content: 'retrying', components: [] });
    expect(await update.acknowledged()).toMatchObject({ type: InteractionResponseType.UpdateMessage });
    expect(fake.message(message.id)?.history.map((h) => h.content)).toEqual(['failed: network', 'retrying']);

    await channel.messages.edit(message.id, { content: 'failed again', components: [row] });
    received = nextButton(client);
    const deferred = fake.click({ user, messageId: message.id, customId: 'later' });
    click = await received;
    await click.deferUpdate();
    expect(await deferred.acknowledged()).toMatchObject({ type: InteractionResponseType.DeferredMessageUpdate });
    await click.editReply({ content: 'ok, later', components: [] });
    expect(fake.message(message.id)?.content).toBe('ok, later');
    expect(fake.messages().filter((m) => m.id === message.id)).toHaveLength(1);

    // 6 and 7 are for components only.
    const commandUser = fake.createUser('mallory');
    const command = nextCommand(client);
    fake.interact({ user: commandUser, command: 'ping' });
    const slash = await command;
    const wrong = await rejection(client.rest.post(`/interactions/${slash.id}/${slash.token}/callback`, { body: { type: 6 }, auth: false }));
    expect(wrong).toMatchObject({ status: 400, code: 50035 });
    await slash.reply('fine');
  });

  it('resumes on resume_gateway_url after a disconnect and replays what was dispatched meanwhile', async () => {
    const user = fake.createUser('judy');
    const message = await channel.send('react while I am away');
    const seen: string[] = [];
    const listener = (reaction: MessageReaction | PartialMessageReaction) => {
      if (reaction.message.id === message.id && reaction.emoji.name) seen.push(reaction.emoji.name);
    };
    client.on(Events.MessageReactionAdd, listener);
    try {
      const resumed = new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
      fake.disconnect();
      fake.react(user, fake.channelId, message.id, '🎸');
      await resumed;
      await fake.waitUntil('the replayed reaction', () => seen.includes('🎸'));
      expect(fake.gatewayStats.resumes.at(-1)).toMatchObject({ path: '/gateway-resume' });
      expect(fake.gatewayStats.identifies).toHaveLength(1);
    } finally {
      client.off(Events.MessageReactionAdd, listener);
    }
  });
  it('sends X-RateLimit headers, and a client that respects them never hits a natural 429', async () => {
    const response = await fetch(`${fake.apiBase}/v10/channels/${fake.channelId}`, { headers: { authorization: `Bot ${fake.token}` } });
    expect(response.headers.get('x-ratelimit-limit')).toBeTruthy();
    expect(response.headers.get('x-ratelimit-remaining')).toBeTruthy();
    expect(response.headers.get('x-ratelimit-bucket')).toBeTruthy();
    // A client that ignores them is refused once the bucket is empty, and that is a violation.
    const raw = async () =>
      fetch(`${fake.apiBase}/v10/channels/${fake.channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'ignoring limits' }),
      });
    const remaining: (string | null)[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 6 && !refused; i++) {
      const r = await raw();
      if (r.status === 429) refused = r;
      else remaining.push(r.headers.get('x-ratelimit-remaining'));
    }
    expect(refused?.headers.get('retry-after')).toBeTruthy();
    expect(await refused?.json()).toMatchObject({ message: 'You are being rate limited.', global: false });
    expect(remaining.at(-1)).toBe('0');
    expect(fake.violations).toEqual(['POST /channels/:channel_id/messages sent while its bucket was empty (X-RateLimit-Remaining: 0)']);
    fake.core.violations.length = 0;
    // The bucket is shared by everything using this token: let it refill before discord.js uses it.
    await new Promise((r) => setTimeout(r, Number(refused!.headers.get('retry-after')) * 1000 + 50));

    // 7 messages against a bucket of 5 per second: discord.js must wait for the reset, not be refused.
    await Promise.all(Array.from({ length: 7 }, (_, i) => channel.send(`burst ${i}`)));
    expect(fake.messages().filter((m) => m.content.startsWith('burst ')).map((m) => m.content)).toHaveLength(7);
    expect(fake.violations).toEqual([]);
  }, 20_000);


  it('had no internal errors', () => {
    expect(fake.internalErrors).toEqual([]);
  });
});

describe('threads on a message', () => {
  let fake: FakeDiscord;
  let client: Client;
  let channel: TextChannel;

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    client = newClient(fake);
    await login(client, fake.token);
    channel = (await client.channels.fetch(fake.channelId)) as TextChannel;
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  it('starts a public thread on a message (the id is the message\'s), takes messages with files, and shows it on the message', async () => {
    const created: AnyThreadChannel[] = [];
    client.on(Events.ThreadCreate, (thread, newly) => void (newly && created.push(thread)));
    const card = await channel.send('Mezzanine: 10 tracks');
    const thread = await card.startThread({ name: 'Mezzanine · stems', autoArchiveDuration: 10080 });
    expect(thread).toMatchObject({ id: card.id, name: 'Mezzanine · stems', type: ChannelType.PublicThread, parentId: channel.id, ownerId: fake.bot.id, autoArchiveDuration: 10080 });
    expect(fake.requestsTo('POST', '/channels/:channel_id/messages/:message_id/threads').map((r) => [r.path, r.body, r.status])).toEqual([
      [`/channels/${channel.id}/messages/${card.id}/threads`, expect.objectContaining({ name: 'Mezzanine · stems', auto_archive_duration: 10080 }), 200],
    ]);
    await fake.waitUntil('THREAD_CREATE', () => created.length === 1);
    expect(created[0]!.id).toBe(thread.id);

    // Multipart with a file, and plain JSON.
    const data = randomBytes(2048);
    const withFile = await thread.send({ content: '01 Angel', files: [new AttachmentBuilder(data, { name: 'vocals.mp3' })] });
    expect(withFile.channelId).toBe(thread.id);
    await client.rest.post(Routes.channelMessages(thread.id), { body: { content: '02 Risingson' } });
    const posted = fake.messages(thread.id);
    expect(posted.map((m) => m.content)).toEqual(['01 Angel', '02 Risingson']);
    expect(posted[0]!.attachments).toHaveLength(1);
    expect(sha256(posted[0]!.attachments[0]!.data)).toBe(sha256(data));
    expect(sha256(Buffer.from(await (await fetch(posted[0]!.attachments[0]!.url)).arrayBuffer()))).toBe(sha256(data));
    // The thread's messages are not the channel's.
    expect(fake.messages().map((m) => m.content)).toEqual(['Mezzanine: 10 tracks']);

    expect(fake.threads().map((t) => [t.id, t.name, t.thread?.parentId])).toEqual([[card.id, 'Mezzanine · stems', channel.id]]);
    expect(fake.threadOf(card.id)?.id).toBe(thread.id);
    expect(fake.threadOf(withFile.id)).toBeUndefined();
    const fetched = await channel.messages.fetch({ message: card.id, force: true });
    expect(fetched.thread?.id).toBe(thread.id);
    const fetchedThread = await client.channels.fetch(thread.id, { force: true });
    expect(fetchedThread).toMatchObject({ id: thread.id, type: ChannelType.PublicThread, parentId: channel.id, messageCount: 2, lastMessageId: posted[1]!.id });

    // One thread per message; the name must be 1-100 characters.
    const again = await rejection(card.startThread({ name: 'again' }));
    expect([again.status, again.code]).toEqual([400, 160004]);
    const other = await channel.send('another');
    const badName = await rejection(other.startThread({ name: 'x'.repeat(101) }));
    expect([badName.status, badName.code]).toEqual([400, 50035]);
    expect(fake.threads()).toHaveLength(1);
  });

  it('refuses with 403 / 50013 where the bot may not create threads, until allowed again', async () => {
    const card = await channel.send('no threads here');
    fake.denyThreads(channel.id);
    const denied = await rejection(card.startThread({ name: 'stems' }));
    expect([denied.status, denied.code, denied.message]).toEqual([403, 50013, 'Missing Permissions']);
    expect(fake.threadOf(card.id)).toBeUndefined();
    fake.denyThreads(channel.id, false);
    expect((await card.startThread({ name: 'stems' })).id).toBe(card.id);
  });

  it('answers 404 / 10008 for an unknown message or one in another channel, 400 / 50024 in a DM', async () => {
    const unknown = await rejection(client.rest.post(Routes.threads(channel.id, '123456789012345678'), { body: { name: 'x' } }));
    expect([unknown.status, unknown.code]).toEqual([404, 10008]);
    const card = await channel.send('in general');
    const thread = await card.startThread({ name: 'elsewhere' });
    const wrongChannel = await rejection(client.rest.post(Routes.threads(thread.id, card.id), { body: { name: 'x' } }));
    // A thread is not a channel threads can be started in.
    expect([wrongChannel.status, wrongChannel.code]).toEqual([400, 50024]);
    const user = fake.createUser('dora');
    const dm = await (await client.users.fetch(user.id)).send('your table');
    const inDm = await rejection(client.rest.post(Routes.threads(dm.channelId, dm.id), { body: { name: 'x' } }));
    expect([inDm.status, inDm.code, inDm.message]).toEqual([400, 50024, 'Cannot execute action on this channel type']);
    expect(fake.internalErrors).toEqual([]);
    expect(fake.violations).toEqual([]);
  });
});

describe('reactions made while no bot is connected', () => {
  let fake: FakeDiscord;
  const clients: Client[] = [];

  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });

  afterAll(async () => {
    for (const c of clients) await c.destroy();
    await fake?.close();
  });

  async function connect(): Promise<Client> {
    const client = newClient(fake);
    clients.push(client);
    await login(client, fake.token);
    return client;
  }

  it('are on the message for a bot that logs in afresh, but no event ever reaches it', async () => {
    const user = fake.createUser('nora');
    const first = await connect();
    const message = await ((await first.channels.fetch(fake.channelId)) as TextChannel).send('react while the bot is gone');
    expect(() => fake.reactWhileDisconnected(user, fake.channelId, message.id, '🎤')).toThrow(/connected/);
    // Stopped as the bot's SIGTERM stops it: the session ends with the socket (close 1000).
    await first.destroy();
    await fake.waitUntil('no session', () => fake.connectedSessions === 0);
    fake.reactWhileDisconnected(user, fake.channelId, message.id, '🎤');

    const second = await connect();
    const seen: string[] = [];
    second.on(Events.MessageReactionAdd, (reaction) => void seen.push(reaction.message.id));
    const fetched = await ((await second.channels.fetch(fake.channelId)) as TextChannel).messages.fetch(message.id);
    const mic = fetched.reactions.cache.get('🎤')!;
    expect([mic.count, mic.me]).toEqual([1, false]);
    expect([...(await mic.users.fetch()).keys()]).toEqual([user.id]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual([]);
    expect(fake.gatewayStats.identifies).toHaveLength(2);
    expect(fake.gatewayStats.resumes).toEqual([]);
    expect(fake.internalErrors).toEqual([]);
  });
});

describe('deadlines: heartbeats and the acknowledgement', () => {
  let fake: FakeDiscord;
  let client: Client;
  beforeAll(async () => {
    fake = await FakeDiscord.start({ ackDeadlineMs: 200, heartbeatIntervalMs: 100 });
    client = newClient(fake);
    await login(client, fake.token);
    await client.application!.commands.set(COMMANDS, fake.guild.id);
  });
  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  it('acknowledges heartbeats at the interval HELLO asked for', async () => {
    await fake.waitUntil('three heartbeats', () => fake.gatewayStats.heartbeats >= 3, 5000);
    await fake.waitUntil('a measured ping', () => client.ws.ping >= 0, 5000);
    expect(fake.connectedSessions).toBe(1);
  });

  it('forgets an interaction not acknowledged in time: 404 / 10062, and the test sees it as a violation', async () => {
    const user = fake.createUser('slowpoke');
    const received = nextCommand(client);
    const handle = fake.interact({ user, command: 'ping' });
    const interaction = await received;
    await expect(handle.acknowledged()).rejects.toThrow(/not acknowledged within the deadline/);
    const late = await rejection(interaction.deferReply());
    expect(late).toMatchObject({ status: 404, code: 10062 });
    expect(fake.violations).toEqual([`/ping (interaction ${interaction.id}) was not acknowledged within 200 ms`]);
  });
});

describe('fake Discord refusing a client', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });
  afterAll(async () => fake?.close());

  it('rejects a wrong bot token with 401 on REST (discord.js: TokenInvalid)', async () => {
    const client = newClient(fake);
    try {
      await expect(client.login('not-the-token')).rejects.toThrow(/invalid token/i);
      expect(fake.requests.at(-1)).toMatchObject({ route: '/gateway/bot', status: 401, auth: 'wrong-token' });
    } finally {
      await client.destroy();
    }
  });

  it('closes the gateway with 4004 on a wrong token in IDENTIFY', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(fake.url).port}/gateway?v=10&encoding=json`);
    const hello = await new Promise<{ op: number; d: { heartbeat_interval: number } }>((resolve) => ws.once('message', (m) => resolve(JSON.parse(String(m)))));
    expect(hello.op).toBe(GatewayOpcodes.Hello);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ op: GatewayOpcodes.Identify, d: { token: 'wrong', intents: 1, properties: { os: 'linux', browser: 't', device: 't' } } }));
    expect(await closed).toBe(GatewayCloseCodes.AuthenticationFailed);
  });

  it('closes the gateway with 4014 when a privileged intent is not enabled (discord.js login fails)', async () => {
    const client = newClient(fake, [...INTENTS, GatewayIntentBits.MessageContent]);
    try {
      await expect(client.login(fake.token)).rejects.toThrow(/disallowed intents/i);
      expect(fake.gatewayStats.closes).toContain(GatewayCloseCodes.DisallowedIntents);
    } finally {
      await client.destroy();
    }
  });
});
