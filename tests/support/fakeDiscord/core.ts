/**
 * What the fake Discord does, independent of HTTP: messages (create, edit with
 * history, attachments), interactions (acknowledgement deadline, double ack,
 * token expiry, the original response and followups), reactions echoed on
 * the gateway, DMs. REST routes and the test API both call into this.
 */
import { EventEmitter } from 'node:events';
import {
  ChannelType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  InteractionResponseType,
  MessageFlags,
  MessageType,
  ReactionType,
  type APIInteractionResponse,
  type APIPublicThreadChannel,
  type APIUser,
  type RESTPostAPIInteractionCallbackWithResponseResult,
  type ThreadAutoArchiveDuration,
} from 'discord-api-types/v10';
import type { FakeGateway } from './gateway.ts';
import { DiscordError, invalidFormBody, notFound, type UploadedFile } from './http.ts';
import type { Acknowledgement, ButtonInteraction, ChatInputInteraction } from './interactions.ts';
import { DEFAULT_UPLOAD_LIMIT, checkFileSizes, isEmptyMessage, parseMessageInput, resolveAttachments, type MessageInput } from './messageInput.ts';
import { snowflake } from './snowflake.ts';
import { RESPONSE_MESSAGE_TYPE, World, emojiObject, isEphemeral, type StoredAttachment, type StoredMessage } from './world.ts';

export interface InteractionRecord {
  id: string;
  token: string;
  userId: string;
  guildId: string | undefined;
  channelId: string;
  /** `/name` for commands, `button:<custom_id>` for clicks: how violations name it. */
  commandName: string;
  /** For a button click: the message the button is on (what callback types 6 and 7 act on). */
  componentMessageId: string | undefined;
  createdAt: number;
  expiresAt: number;
  attachmentSizeLimit: number;
  payload: ChatInputInteraction | ButtonInteraction;
  ack: Acknowledgement | undefined;
  /** Set when the acknowledgement deadline passed without one: the user saw "The application did not respond". */
  missedDeadline: boolean;
  originalId: string | undefined;
  followupIds: string[];
}

export interface CoreOptions {
  botName: string;
  uploadLimitBytes: number;
  interactionTokenTtlMs: number;
  ackDeadlineMs: number;
}

export class Core {
  readonly options: CoreOptions;
  readonly world: World;
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  /** Things a well-behaved bot never causes: late or double acknowledgements, ignored rate limits. */
  readonly violations: string[] = [];
  readonly events = new EventEmitter();
  gateway!: FakeGateway;
  cdnBase = '';

  constructor(options: CoreOptions) {
    this.options = options;
    this.world = new World(options.botName);
    this.events.setMaxListeners(0);
  }

  changed(): void {
    this.events.emit('change');
  }

  violation(text: string): void {
    this.violations.push(text);
    this.changed();
  }

  // ---- attachments ----

  storeAttachment(channelId: string, file: { filename: string; contentType: string; data: Buffer }, description?: string): StoredAttachment {
    const id = snowflake();
    const attachment: StoredAttachment = {
      id,
      filename: file.filename,
      ...(description ? { description } : {}),
      contentType: file.contentType,
      size: file.data.length,
      url: `${this.cdnBase}/attachments/${channelId}/${id}/${encodeURIComponent(file.filename)}`,
      data: file.data,
    };
    return attachment;
  }

  // ---- messages ----

  message(channelId: string, messageId: string): StoredMessage {
    const message = this.world.messages.get(messageId);
    if (!message || message.deleted || message.channelId !== channelId) throw notFound(10008, 'Message');
    return message;
  }

  uploadLimitFor(channelId: string): number {
    const channel = this.world.channels.get(channelId);
    return channel?.guildId ? this.world.guild(channel.guildId).uploadLimitBytes : this.options.uploadLimitBytes;
  }

  createMessage(
    channelId: string,
    json: unknown,
    files: UploadedFile[],
    meta: { uploadLimit: number; type?: MessageType; flags?: number; webhook?: boolean; interaction?: InteractionRecord; allowEmpty?: boolean },
  ): StoredMessage {
    const input = parseMessageInput(json);
    checkFileSizes(files, meta.uploadLimit);
    const attachments = resolveAttachments([], input, files, (file, m) =>
      this.storeAttachment(channelId, { ...file, filename: m.filename ?? file.filename }, m.description),
    );
    const flags = meta.flags ?? (input.flags ?? 0) & (MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2);
    const now = Date.now();
    const message: StoredMessage = {
      id: snowflake(now),
      channelId,
      authorId: this.world.bot.id,
      ...(meta.webhook ? { webhookId: this.world.applicationId } : {}),
      ...(meta.interaction
        ? { interaction: { id: meta.interaction.id, userId: meta.interaction.userId, commandName: meta.interaction.commandName, interactedMessageId: meta.interaction.componentMessageId } }
        : {}),
      type: meta.type ?? MessageType.Default,
      content: input.content ?? '',
      embeds: input.embeds ?? [],
      components: input.components ?? [],
      attachments,
      flags,
      createdAt: now,
      editedAt: null,
      deleted: false,
      history: [],
      reactions: new Map(),
    };
    if (!meta.allowEmpty && isEmptyMessage(message)) throw new DiscordError(400, 50006, 'Cannot send an empty message');
    this.commit(message, now);
    return message;
  }

  editMessage(message: StoredMessage, json: unknown, files: UploadedFile[], uploadLimit: number): StoredMessage {
    const input: MessageInput = parseMessageInput(json);
    checkFileSizes(files, uploadLimit);
    const attachments = resolveAttachments(message.attachments, input, files, (file, m) =>
      this.storeAttachment(message.channelId, { ...file, filename: m.filename ?? file.filename }, m.description),
    );
    const next = {
      content: input.content ?? message.content,
      embeds: input.embeds ?? message.embeds,
      components: input.components ?? message.components,
      attachments,
    };
    if (isEmptyMessage(next)) throw new DiscordError(400, 50006, 'Cannot send an empty message');
    Object.assign(message, next);
    // An edit ends the "thinking…" state; ephemerality is fixed when the message is created.
    message.flags &= ~MessageFlags.Loading;
    if (input.flags !== undefined) message.flags = (message.flags & ~MessageFlags.SuppressEmbeds) | (input.flags & MessageFlags.SuppressEmbeds);
    const now = Date.now();
    message.editedAt = now;
    this.commit(message, now);
    return message;
  }

  private commit(message: StoredMessage, at: number): void {
    for (const a of message.attachments) this.world.attachments.set(a.id, a);
    message.history.push({
      at,
      content: message.content,
      embeds: message.embeds,
      components: message.components,
      attachmentIds: message.attachments.map((a) => a.id),
      flags: message.flags,
    });
    this.world.messages.set(message.id, message);
    const channel = this.world.channels.get(message.channelId);
    if (channel && message.history.length === 1) channel.lastMessageId = message.id;
    this.changed();
  }

  deleteMessage(message: StoredMessage): void {
    message.deleted = true;
    this.changed();
  }

  /** POST /channels/:id/messages with the bot token. */
  postChannelMessage(channelId: string, json: unknown, files: UploadedFile[]): StoredMessage {
    const channel = this.world.channels.get(channelId);
    if (!channel) throw notFound(10003, 'Channel');
    if (channel.type === ChannelType.DM && this.world.user(channel.recipientId!).dmsClosed) {
      throw new DiscordError(403, 50007, 'Cannot send messages to this user');
    }
    return this.createMessage(channelId, json, files, { uploadLimit: this.uploadLimitFor(channelId) });
  }

  // ---- threads ----

  /**
   * POST /channels/:id/messages/:id/threads: a public thread on a message of a guild text
   * channel, with the message's id (as on Discord); THREAD_CREATE goes out on the gateway.
   * DM channels and threads take none (400 / 50024), a channel switched off with
   * World.threadsDenied refuses (403 / 50013), a message has at most one (400 / 160004).
   */
  startThread(channelId: string, messageId: string, json: unknown): APIPublicThreadChannel {
    const parent = this.world.channels.get(channelId);
    if (!parent) throw notFound(10003, 'Channel');
    if (parent.type !== ChannelType.GuildText || !parent.guildId) throw new DiscordError(400, 50024, 'Cannot execute action on this channel type');
    if (this.world.threadsDenied.has(channelId)) throw new DiscordError(403, 50013, 'Missing Permissions');
    const message = this.message(channelId, messageId);
    if (isEphemeral(message)) throw notFound(10008, 'Message');
    if (this.world.channels.has(message.id)) throw new DiscordError(400, 160004, 'A thread has already been created for this message');
    const body = (json && typeof json === 'object' ? json : {}) as { name?: unknown; auto_archive_duration?: unknown };
    if (typeof body.name !== 'string' || body.name.length === 0) throw invalidFormBody(['name'], 'BASE_TYPE_REQUIRED', 'This field is required');
    if (body.name.length > 100) throw invalidFormBody(['name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    const duration = body.auto_archive_duration ?? 1440;
    if (![60, 1440, 4320, 10080].includes(duration as number)) {
      throw invalidFormBody(['auto_archive_duration'], 'BASE_TYPE_CHOICES', 'Value must be one of {60, 1440, 4320, 10080}.');
    }
    this.world.channels.set(message.id, {
      id: message.id,
      name: body.name,
      type: ChannelType.PublicThread,
      guildId: parent.guildId,
      recipientId: undefined,
      lastMessageId: null,
      thread: { parentId: channelId, ownerId: this.world.bot.id, autoArchiveDuration: duration as ThreadAutoArchiveDuration, createdAt: Date.now() },
    });
    const thread = this.world.threadChannel(this.world.channel(message.id));
    this.gateway.dispatch(GatewayDispatchEvents.ThreadCreate, { ...thread, newly_created: true }, GatewayIntentBits.Guilds);
    this.changed();
    return thread;
  }

  // ---- reactions ----

  /** The message a reaction route names: ephemeral messages take no reactions (10008), and the emoji must be a plausible key (10014). */
  private reactionTarget(channelId: string, messageId: string, emoji: string): StoredMessage {
    const message = this.message(channelId, messageId);
    if (isEphemeral(message)) throw notFound(10008, 'Message');
    if (!emoji || emoji.length > 64) throw new DiscordError(400, 10014, 'Unknown Emoji');
    return message;
  }

  addReaction(channelId: string, messageId: string, emoji: string, userId: string): void {
    const message = this.reactionTarget(channelId, messageId, emoji);
    const users = message.reactions.get(emoji) ?? [];
    if (users.includes(userId)) return; // reacting twice changes nothing and sends no event
    users.push(userId);
    message.reactions.set(emoji, users);
    const channel = this.world.channel(channelId);
    const guild = channel.guildId ? this.world.guild(channel.guildId) : undefined;
    this.gateway.dispatch(
      GatewayDispatchEvents.MessageReactionAdd,
      {
        user_id: userId,
        channel_id: channelId,
        message_id: messageId,
        emoji: emojiObject(emoji),
        message_author_id: message.authorId,
        burst: false,
        burst_colors: [],
        type: ReactionType.Normal,
        ...(guild ? { guild_id: guild.id, member: this.world.member(guild, userId) } : {}),
      },
      guild ? GatewayIntentBits.GuildMessageReactions : GatewayIntentBits.DirectMessageReactions,
    );
    this.changed();
  }

  /**
   * GET .../reactions/{emoji}: who reacted, ordered by user id (what `after` pages on), at most
   * `limit` (1-100, default 25). The fake has no super reactions, so type 1 (burst) lists nobody.
   */
  reactionUsers(channelId: string, messageId: string, emoji: string, query: URLSearchParams): APIUser[] {
    const message = this.reactionTarget(channelId, messageId, emoji);
    const limit = Number(query.get('limit') ?? 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidFormBody(['limit'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.');
    const after = query.get('after');
    if (after !== null && !/^\d{1,20}$/.test(after)) throw invalidFormBody(['after'], 'NUMBER_TYPE_COERCE', `Value "${after}" is not snowflake.`);
    const type = query.get('type') ?? String(ReactionType.Normal);
    if (type !== String(ReactionType.Normal)) return [];
    return (message.reactions.get(emoji) ?? [])
      .map((id) => BigInt(id))
      .filter((id) => after === null || id > BigInt(after))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map((id) => this.world.user(String(id)).user);
  }

  removeReaction(channelId: string, messageId: string, emoji: string, userId: string): void {
    const message = this.message(channelId, messageId);
    const users = message.reactions.get(emoji);
    if (!users?.includes(userId)) return;
    const rest = users.filter((u) => u !== userId);
    if (rest.length) message.reactions.set(emoji, rest);
    else message.reactions.delete(emoji);
    const channel = this.world.channel(channelId);
    this.gateway.dispatch(
      GatewayDispatchEvents.MessageReactionRemove,
      {
        user_id: userId,
        channel_id: channelId,
        message_id: messageId,
        emoji: emojiObject(emoji),
        burst: false,
        type: ReactionType.Normal,
        ...(channel.guildId ? { guild_id: channel.guildId } : {}),
      },
      channel.guildId ? GatewayIntentBits.GuildMessageReactions : GatewayIntentBits.DirectMessageReactions,
    );
    this.changed();
  }

  // ---- interactions ----

  registerInteraction(record: InteractionRecord): void {
    this.interactions.set(record.id, record);
    this.interactionsByToken.set(record.token, record);
    setTimeout(() => {
      if (record.ack) return;
      record.missedDeadline = true;
      this.violation(`${record.commandName} (interaction ${record.id}) was not acknowledged within ${this.options.ackDeadlineMs} ms`);
    }, this.options.ackDeadlineMs).unref();
  }

  /** POST /interactions/:id/:token/callback. */
  callback(id: string, token: string, json: unknown, files: UploadedFile[], withResponse: boolean): RESTPostAPIInteractionCallbackWithResponseResult | undefined {
    const record = this.interactions.get(id);
    if (!record || record.token !== token) throw notFound(10062, 'interaction');
    const now = Date.now();
    if (record.ack) {
      this.violation(`${record.commandName} (interaction ${id}) was acknowledged twice`);
      throw new DiscordError(400, 40060, 'Interaction has already been acknowledged.');
    }
    if (record.missedDeadline || now - record.createdAt > this.options.ackDeadlineMs) throw notFound(10062, 'interaction');
    const response = json as APIInteractionResponse | undefined;
    const type = response?.type;
    const data = response && 'data' in response && response.data && typeof response.data === 'object' ? response.data : {};
    const wantsEphemeral = 'flags' in data && typeof data.flags === 'number' && (data.flags & MessageFlags.Ephemeral) !== 0;
    const ephemeralFlag = wantsEphemeral ? MessageFlags.Ephemeral : 0;
    let original: StoredMessage;
    switch (type) {
      case InteractionResponseType.ChannelMessageWithSource:
        original = this.createMessage(record.channelId, data, files, {
          uploadLimit: record.attachmentSizeLimit,
          type: RESPONSE_MESSAGE_TYPE,
          webhook: true,
          interaction: record,
          flags: ephemeralFlag,
        });
        break;
      case InteractionResponseType.DeferredChannelMessageWithSource:
        original = this.createMessage(record.channelId, {}, [], {
          uploadLimit: record.attachmentSizeLimit,
          type: RESPONSE_MESSAGE_TYPE,
          webhook: true,
          interaction: record,
          flags: MessageFlags.Loading | ephemeralFlag,
          allowEmpty: true,
        });
        break;
      case InteractionResponseType.DeferredMessageUpdate:
      case InteractionResponseType.UpdateMessage: {
        if (!record.componentMessageId) {
          throw new DiscordError(400, 50035, `Interaction callback type ${type} is only valid for message component interactions, not ${record.commandName}`);
        }
        original = this.message(record.channelId, record.componentMessageId);
        // 6 only acknowledges (the message is edited later through @original); 7 edits it now.
        if (type === InteractionResponseType.UpdateMessage) this.editMessage(original, data, files, record.attachmentSizeLimit);
        break;
      }
      default:
        throw new DiscordError(400, 50035, `Invalid interaction callback type ${String(type)}`);
    }
    record.originalId = original.id;
    record.ack = { type, at: now, elapsedMs: now - record.createdAt, ephemeral: wantsEphemeral };
    this.changed();
    if (!withResponse) return undefined;
    return {
      interaction: {
        id: record.id,
        type: record.payload.type,
        response_message_id: original.id,
        response_message_loading: type === InteractionResponseType.DeferredChannelMessageWithSource,
        response_message_ephemeral: wantsEphemeral,
      },
      resource: { type, message: this.world.messageObject(original) },
    };
  }

  /** The interaction behind `/webhooks/:application_id/:token`, checking expiry (401 / 50027). */
  webhookInteraction(applicationId: string, token: string): InteractionRecord {
    const record = this.interactionsByToken.get(token);
    if (applicationId !== this.world.applicationId || !record) throw notFound(10015, 'Webhook');
    if (Date.now() > record.expiresAt) throw new DiscordError(401, 50027, 'Invalid Webhook Token');
    if (!record.ack) throw notFound(10015, 'Webhook');
    return record;
  }

  webhookMessage(record: InteractionRecord, messageId: string): StoredMessage {
    const id = messageId === '@original' ? record.originalId : messageId;
    if (!id || (id !== record.originalId && !record.followupIds.includes(id))) throw notFound(10008, 'Message');
    return this.message(record.channelId, id);
  }

  followup(record: InteractionRecord, json: unknown, files: UploadedFile[]): StoredMessage {
    const flags = json && typeof json === 'object' && 'flags' in json && typeof json.flags === 'number' ? json.flags : 0;
    const message = this.createMessage(record.channelId, json, files, {
      uploadLimit: record.attachmentSizeLimit,
      type: RESPONSE_MESSAGE_TYPE,
      webhook: true,
      interaction: record,
      flags: flags & MessageFlags.Ephemeral,
    });
    record.followupIds.push(message.id);
    this.changed();
    return message;
  }
}

export const DEFAULT_CORE_OPTIONS: CoreOptions = {
  botName: 'Stem Forge',
  uploadLimitBytes: DEFAULT_UPLOAD_LIMIT,
  interactionTokenTtlMs: 15 * 60_000,
  ackDeadlineMs: 3000,
};

