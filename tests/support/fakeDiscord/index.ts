/**
 * A fake Discord for end-to-end tests: a real HTTP server (REST under
 * `/api/v10`, attachment CDN under `/attachments`) and a WebSocket gateway on
 * 127.0.0.1 with a random port, spoken to by the real discord.js client.
 *
 *   const fake = await FakeDiscord.start();
 *   // client: new Client({ rest: { api: fake.apiBase }, ... }).login(fake.token)
 *   const reply = await fake.interact({ user, command: 'help' }).reply();
 *
 * Tests drive it (interact, react, disconnect, injectRateLimit) and inspect it
 * (messages with edit history and attachment bytes, DMs, registered commands,
 * every request, violations of Discord's rules).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayDispatchEvents, Locale, type APIAttachment, type APIApplicationCommand, type APIUser } from 'discord-api-types/v10';
import { Core, DEFAULT_CORE_OPTIONS, type InteractionRecord } from './core.ts';
import { FakeGateway, GATEWAY_PATH, RESUME_PATH, type GatewayStats } from './gateway.ts';
import { DiscordError, Router, parseBody, readBody, type Reply } from './http.ts';
import { ImpossibleInteraction, buildOptions, buttonPayload, hasButton, interactionPayload, type Acknowledgement, type ClickParams, type InteractParams } from './interactions.ts';
import { RateLimiter, type InjectedRateLimit, type RateLimitOptions } from './rateLimits.ts';
import { installRoutes } from './routes.ts';
import { snowflake } from './snowflake.ts';
import { isLoading, type FakeChannel, type FakeGuild, type StoredMessage } from './world.ts';

export type { Acknowledgement, ClickParams, InteractParams } from './interactions.ts';
export type { FakeChannel, FakeThread, StoredAttachment, StoredMessage, MessageSnapshot } from './world.ts';
export type { InjectedRateLimit, RateLimitOptions } from './rateLimits.ts';
export { ImpossibleInteraction } from './interactions.ts';

export interface FakeDiscordOptions {
  /** The bot token the fake accepts (default: a random one). */
  token?: string;
  botName?: string;
  /** Default: one guild "Test Server" with one text channel "general". */
  guilds?: { name: string; channels?: string[]; uploadLimitBytes?: number }[];
  /** Per-file upload limit for DMs and guilds without their own (default 10 MiB). */
  uploadLimitBytes?: number;
  /** Interaction token lifetime (default 15 min); tests set it short to see 401 / 50027. */
  interactionTokenTtlMs?: number;
  /** Acknowledge within this or the interaction is gone (default 3000 ms). */
  ackDeadlineMs?: number;
  /** HELLO's heartbeat_interval (default 41250 ms, as Discord). */
  heartbeatIntervalMs?: number;
  /** Privileged intents enabled in the developer portal (default none: asking for one closes 4014). */
  enabledPrivilegedIntents?: number;
  rateLimits?: RateLimitOptions;
}

export interface RecordedRequest {
  at: number;
  method: string;
  /** Path without `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
  /** The matched route template, e.g. `/channels/:channel_id/messages`. */
  route: string | undefined;
  query: URLSearchParams;
  /** How it authenticated; the token itself is not recorded. */
  auth: 'bot' | 'wrong-token' | 'none';
  /** JSON body, or a multipart request's payload_json. */
  body: unknown;
  files: { field: string; filename: string; size: number; contentType: string }[];
  status: number;
  /** Answered 429 (injected, or because the client ignored the rate-limit headers). */
  rateLimited: boolean;
}

export class InteractionHandle {
  private readonly fake: FakeDiscord;
  readonly record: InteractionRecord;
  constructor(fake: FakeDiscord, record: InteractionRecord) {
    this.fake = fake;
    this.record = record;
  }

  get id(): string {
    return this.record.id;
  }

  get token(): string {
    return this.record.token;
  }

  get payload() {
    return this.record.payload;
  }

  /** Resolves when the bot acknowledged; rejects if the deadline passed first. */
  acknowledged(timeoutMs = 10_000): Promise<Acknowledgement> {
    return this.fake.waitUntil(
      `acknowledgement of ${this.record.commandName}`,
      () => {
        if (this.record.ack) return this.record.ack;
        if (this.record.missedDeadline) throw new Error(`${this.record.commandName} was not acknowledged within the deadline`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Ends the interaction token now, as if its lifetime had run out: later webhook calls get 401 / 50027. */
  expireToken(): void {
    this.record.expiresAt = Date.now() - 1;
  }

  /** The original response as it is now (undefined before the acknowledgement). */
  original(): StoredMessage | undefined {
    return this.record.originalId ? this.fake.message(this.record.originalId) : undefined;
  }

  /**
   * The original response once it has real content (a reply, or the edit after a defer). For a
   * button click answered with type 6/7 it is the button's message, in its current state.
   */
  async reply(timeoutMs = 10_000): Promise<StoredMessage> {
    await this.acknowledged(timeoutMs);
    return this.fake.waitUntil(
      `reply to ${this.record.commandName}`,
      () => {
        const original = this.original();
        return original && !isLoading(original) ? original : undefined;
      },
      timeoutMs,
    );
  }

  followups(): StoredMessage[] {
    return this.record.followupIds.map((id) => this.fake.message(id)!);
  }
}

export class FakeDiscord {
  readonly core: Core;
  readonly requests: RecordedRequest[] = [];
  /** Errors inside the fake itself (a bug in the fake, not the bot): tests should expect it empty. */
  readonly internalErrors: unknown[] = [];
  readonly token: string;
  private readonly router = new Router();
  private readonly rateLimiter: RateLimiter;
  private readonly gateway: FakeGateway;
  private readonly server: Server;
  private port = 0;

  private constructor(options: FakeDiscordOptions) {
    this.token = options.token ?? `fake.${randomBytes(18).toString('base64url')}`;
    this.core = new Core({
      ...DEFAULT_CORE_OPTIONS,
      ...(options.botName ? { botName: options.botName } : {}),
      ...(options.uploadLimitBytes ? { uploadLimitBytes: options.uploadLimitBytes } : {}),
      ...(options.ackDeadlineMs ? { ackDeadlineMs: options.ackDeadlineMs } : {}),
      ...(options.interactionTokenTtlMs !== undefined ? { interactionTokenTtlMs: options.interactionTokenTtlMs } : {}),
    });
    this.rateLimiter = new RateLimiter(options.rateLimits);
    const world = this.core.world;
    const owner = world.addUser('server-owner');
    for (const g of options.guilds ?? [{ name: 'Test Server' }]) {
      world.addGuild(g.name, { channels: g.channels ?? ['general'], uploadLimitBytes: g.uploadLimitBytes ?? this.core.options.uploadLimitBytes, ownerId: owner.id });
    }
    this.gateway = new FakeGateway({
      token: () => this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      enabledPrivilegedIntents: options.enabledPrivilegedIntents ?? 0,
      ready: (sessionId) => ({
        v: 10,
        user: world.bot,
        guilds: [...world.guilds.keys()].map((id) => ({ id, unavailable: true })),
        session_id: sessionId,
        resume_gateway_url: `ws://127.0.0.1:${this.port}${RESUME_PATH}`,
        shard: [0, 1],
        application: { id: world.applicationId, flags: world.application().flags, flags_new: world.application().flags_new },
      }),
      guildCreates: () => [...world.guilds.values()].map((g) => world.guildCreate(g)),
      onChange: () => this.core.changed(),
    });
    this.core.gateway = this.gateway;
    installRoutes(this.router, { core: this.core, gatewayUrl: () => `ws://127.0.0.1:${this.port}${GATEWAY_PATH}` });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.internalErrors.push(error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(error), code: 0 }));
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      if (!this.gateway.handleUpgrade(req, socket, head)) socket.destroy();
    });
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    fake.core.cdnBase = fake.url;
    return fake;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What DISCORD_API_BASE / `rest.api` should be: discord.js appends `/v10`. */
  get apiBase(): string {
    return `${this.url}/api`;
  }

  get bot(): APIUser {
    return this.core.world.bot;
  }

  get applicationId(): string {
    return this.core.world.applicationId;
  }

  get guilds(): FakeGuild[] {
    return [...this.core.world.guilds.values()];
  }

  /** The first guild. */
  get guild(): FakeGuild {
    return this.guilds[0]!;
  }

  /** The first guild's first text channel. */
  get channelId(): string {
    return this.guild.channelIds[0]!;
  }

  get violations(): readonly string[] {
    return this.core.violations;
  }

  get gatewayStats(): GatewayStats {
    return this.gateway.stats;
  }

  /** Identified sessions with an open socket. */
  get connectedSessions(): number {
    return this.gateway.connectedCount;
  }

  // ---- driving ----

  /** A member of every guild (so they can use commands there). */
  createUser(username = `user${Math.floor(Math.random() * 1e6)}`, options: { dmsClosed?: boolean } = {}): APIUser {
    const user = this.core.world.addUser(username, options);
    for (const guild of this.core.world.guilds.values()) guild.memberIds.add(user.id);
    return user;
  }

  /** Dispatches INTERACTION_CREATE for a registered slash command. Throws ImpossibleInteraction for what Discord would not send. */
  interact(params: InteractParams): InteractionHandle {
    const world = this.core.world;
    const user = world.user(typeof params.user === 'string' ? params.user : params.user.id).user;
    const guild = params.guild === null ? undefined : world.guild(params.guild ?? this.guild.id);
    const channel = params.channel ? world.channel(params.channel) : guild ? world.channel(guild.channelIds[0]!) : world.dmChannelFor(user.id);
    if (guild && channel.guildId !== guild.id) throw new ImpossibleInteraction(`channel ${channel.id} is not in guild ${guild.id}`);
    if (guild && !guild.memberIds.has(user.id)) throw new ImpossibleInteraction(`${user.username} is not a member of ${guild.name}`);
    const command = this.findCommand(params.command, guild?.id);
    const attachmentSizeLimit = params.attachmentSizeLimit ?? (guild ? guild.uploadLimitBytes : this.core.options.uploadLimitBytes);
    const attachments: Record<string, APIAttachment> = {};
    const byOption: Record<string, APIAttachment> = {};
    for (const [option, upload] of Object.entries(params.attachments ?? {})) {
      const stored = this.core.storeAttachment(channel.id, { filename: upload.filename, data: upload.data, contentType: upload.contentType ?? 'application/octet-stream' });
      world.attachments.set(stored.id, stored);
      const api = { ...world.attachmentObject(stored), ephemeral: true };
      attachments[stored.id] = api;
      byOption[option] = api;
    }
    const options = buildOptions(command, params.options ?? {}, byOption);
    const locale = params.locale ?? Locale.EnglishUS;
    return this.dispatchInteraction(
      { userId: user.id, guildId: guild?.id, channelId: channel.id, commandName: `/${command.name}`, componentMessageId: undefined, attachmentSizeLimit },
      params.tokenTtlMs,
      (id, token) => interactionPayload({ world, id, token, user, guild, channel, command, options, attachments, attachmentSizeLimit, locale }),
    );
  }

  /** A user clicks a button on one of the bot's messages: dispatches a MESSAGE_COMPONENT interaction. */
  click(params: ClickParams): InteractionHandle {
    const world = this.core.world;
    const user = world.user(typeof params.user === 'string' ? params.user : params.user.id).user;
    const message = world.messages.get(params.messageId);
    if (!message || message.deleted) throw new ImpossibleInteraction(`no message ${params.messageId}`);
    if (!hasButton(message.components, params.customId)) throw new ImpossibleInteraction(`message ${message.id} has no button "${params.customId}"`);
    const channel = world.channel(message.channelId);
    const guild = channel.guildId ? world.guild(channel.guildId) : undefined;
    const attachmentSizeLimit = guild ? guild.uploadLimitBytes : this.core.options.uploadLimitBytes;
    const locale = params.locale ?? Locale.EnglishUS;
    return this.dispatchInteraction(
      { userId: user.id, guildId: guild?.id, channelId: channel.id, commandName: `button:${params.customId}`, componentMessageId: message.id, attachmentSizeLimit },
      params.tokenTtlMs,
      (id, token) =>
        buttonPayload({ world, id, token, user, guild, channel, message: world.messageObject(message), customId: params.customId, attachmentSizeLimit, locale }),
    );
  }

  /** A fresh id and token, the payload built with them, the record the fake tracks, and INTERACTION_CREATE on the gateway. */
  private dispatchInteraction(
    fields: Pick<InteractionRecord, 'userId' | 'guildId' | 'channelId' | 'commandName' | 'componentMessageId' | 'attachmentSizeLimit'>,
    tokenTtlMs: number | undefined,
    payloadFor: (id: string, token: string) => InteractionRecord['payload'],
  ): InteractionHandle {
    const createdAt = Date.now();
    const id = snowflake(createdAt);
    const token = `aW50ZXJhY3Rpb246${id}:${randomBytes(32).toString('base64url')}`;
    const payload = payloadFor(id, token);
    const record: InteractionRecord = {
      ...fields,
      id,
      token,
      createdAt,
      expiresAt: createdAt + (tokenTtlMs ?? this.core.options.interactionTokenTtlMs),
      payload,
      ack: undefined,
      missedDeadline: false,
      originalId: undefined,
      followupIds: [],
    };
    this.core.registerInteraction(record);
    this.gateway.dispatch(GatewayDispatchEvents.InteractionCreate, payload);
    return new InteractionHandle(this, record);
  }

  /** A user adds a reaction: stored on the message and dispatched as MESSAGE_REACTION_ADD. */
  react(user: APIUser | string, channelId: string, messageId: string, emoji: string): void {
    const userId = typeof user === 'string' ? user : user.id;
    this.core.world.user(userId);
    this.core.addReaction(channelId, messageId, emoji, userId);
  }

  /** A user removes their reaction (MESSAGE_REACTION_REMOVE). */
  unreact(user: APIUser | string, channelId: string, messageId: string, emoji: string): void {
    this.core.removeReaction(channelId, messageId, emoji, typeof user === 'string' ? user : user.id);
  }

  /**
   * A user reacts while no bot process is connected (e.g. between `bot.stop()` and a restart): the
   * reaction is on the message (GET message and GET .../reactions/{emoji} show it) but no event
   * reaches a bot. A session that survived (its process killed) keeps it for a RESUME, as on
   * Discord; a new process identifies afresh and never gets it. Throws if a bot is connected.
   */
  reactWhileDisconnected(user: APIUser | string, channelId: string, messageId: string, emoji: string): void {
    if (this.connectedSessions > 0) throw new Error(`fake Discord: ${this.connectedSessions} gateway session(s) connected; the reaction would be delivered`);
    this.react(user, channelId, messageId, emoji);
  }

  /** Drops the gateway connection(s); see FakeGateway.disconnect. */
  disconnect(options: { resumable?: boolean } = {}): void {
    this.gateway.disconnect(options);
  }

  /** Takes away (or gives back) the bot's right to create threads in a text channel: creating one is 403 / 50013. */
  denyThreads(channelId: string = this.channelId, denied = true): void {
    if (denied) this.core.world.threadsDenied.add(channelId);
    else this.core.world.threadsDenied.delete(channelId);
  }

  /** The next `count` (default 1) matching requests get 429 with Retry-After. */
  injectRateLimit(limit: InjectedRateLimit): void {
    this.rateLimiter.inject(limit);
  }

  // ---- inspecting ----

  message(id: string): StoredMessage | undefined {
    return this.core.world.messages.get(id);
  }

  /** Messages in a channel, oldest first (deleted ones left out; ephemeral ones only if asked for). */
  messages(channelId: string = this.channelId, options: { includeEphemeral?: boolean } = {}): StoredMessage[] {
    return this.core.world.channelMessages(channelId, options);
  }

  /** The threads started in a text channel, oldest first; `messages(thread.id)` lists what was posted in one. */
  threads(channelId: string = this.channelId): FakeChannel[] {
    return this.core.world.channelThreads(channelId);
  }

  /** The thread started from a message, if any (its id is the message's). */
  threadOf(messageId: string): FakeChannel | undefined {
    const channel = this.core.world.channels.get(messageId);
    return channel?.thread ? channel : undefined;
  }

  /** What the bot sent a user in DMs, oldest first. */
  dms(userId: string): StoredMessage[] {
    const channelId = this.core.world.dmChannels.get(userId);
    return channelId ? this.messages(channelId) : [];
  }

  /** Registered commands: per guild, or global when no guild is given. */
  commands(guildId?: string): APIApplicationCommand[] {
    return this.core.world.commands.get(guildId ?? 'global') ?? [];
  }

  /** Requests matching a method and route template, e.g. ('PATCH', '/webhooks/:application_id/:token/messages/:message_id'). */
  requestsTo(method: string, route: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.route === route);
  }

  /** Resolves with the first truthy value of `probe`, re-checked on every change in the fake and every 20 ms. */
  waitUntil<T>(what: string, probe: () => T | undefined | false | null, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let value: T | undefined | false | null;
        try {
          value = probe();
        } catch (error) {
          done();
          reject(error as Error);
          return;
        }
        if (value) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`fake Discord: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      // Also polled: the probe may look at the client's side, which changes after the fake's.
      const poll = setInterval(check, 20);
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.core.events.off('change', check);
      };
      this.core.events.on('change', check);
      check();
    });
  }

  async close(): Promise<void> {
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ----

  private findCommand(name: string, guildId: string | undefined): APIApplicationCommand {
    const command =
      (guildId ? this.core.world.commands.get(guildId)?.find((c) => c.name === name) : undefined) ??
      this.core.world.commands.get('global')?.find((c) => c.name === name);
    if (!command) throw new ImpossibleInteraction(`/${name} is not registered${guildId ? ` in guild ${guildId} or globally` : ' globally'}`);
    return command;
  }

  private serveAttachment(path: string, res: ServerResponse): void {
    const id = /^\/attachments\/\d+\/(\d+)\//.exec(path)?.[1];
    const attachment = id ? this.core.world.attachments.get(id) : undefined;
    if (!attachment) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': String(attachment.size) });
    res.end(attachment.data);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/attachments/') && method === 'GET') return this.serveAttachment(url.pathname, res);
    const raw = await readBody(req);
    const authorization = req.headers.authorization;
    const record: RecordedRequest = {
      at: Date.now(),
      method,
      path: url.pathname.replace(/^\/api\/v10(?=\/)/, ''),
      route: undefined,
      query: url.searchParams,
      auth: authorization === undefined ? 'none' : authorization === `Bot ${this.token}` ? 'bot' : 'wrong-token',
      body: undefined,
      files: [],
      status: 0,
      rateLimited: false,
    };
    this.requests.push(record);
    let reply: Reply;
    let headers: Record<string, string> = {};
    try {
      if (!url.pathname.startsWith('/api/v10/')) throw new DiscordError(404, 0, '404: Not Found');
      const match = this.router.match(method, record.path);
      if (!match) throw new DiscordError(404, 0, '404: Not Found');
      record.route = match.route.template;
      if (match.route.auth && record.auth !== 'bot') throw new DiscordError(401, 0, '401: Unauthorized');
      const body = await parseBody(raw, req.headers['content-type']);
      record.body = body.json;
      record.files = body.files.map((f) => ({ field: f.field, filename: f.filename, size: f.data.length, contentType: f.contentType }));
      const limit = this.rateLimiter.check(match.route, method, record.path, match.params, Date.now());
      headers = limit.headers;
      if (limit.violation) this.core.violation(limit.violation);
      if (limit.limited) {
        record.rateLimited = true;
        reply = limit.limited;
      } else {
        reply = await match.route.handler({ params: match.params, query: url.searchParams, body });
      }
    } catch (error) {
      if (!(error instanceof DiscordError)) throw error;
      reply = error.toReply();
    }
    record.status = reply.status;
    const allHeaders = { ...headers, ...reply.headers };
    if (reply.body === undefined) {
      res.writeHead(reply.status === 200 ? 204 : reply.status, allHeaders).end();
    } else {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...allHeaders }).end(JSON.stringify(reply.body));
    }
    this.core.changed();
  }
}
