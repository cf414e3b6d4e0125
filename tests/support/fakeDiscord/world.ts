/**
 * The fake's state: users, guilds, channels, messages (with edit history and
 * attachment bytes), DM channels and registered commands, plus the builders
 * that turn it into API objects. Every builder returns a discord-api-types
 * type, so a wrong shape fails `tsc` rather than confusing discord.js at run time.
 */
import {
  ApplicationFlags,
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  InteractionType,
  Locale,
  MessageFlags,
  MessageType,
  PermissionFlagsBits,
  type APIApplication,
  type APIApplicationCommand,
  type APIAttachment,
  type APIDMChannel,
  type APIEmbed,
  type APIGuild,
  type APIGuildMember,
  type APIMessage,
  type APIMessageTopLevelComponent,
  type APIPublicThreadChannel,
  type ChannelFlags,
  type APIReaction,
  type APIRole,
  type APITextChannel,
  type APIUser,
  type GuildMemberFlags,
  type RoleFlags,
  type GatewayGuildCreateDispatchData,
  type ThreadAutoArchiveDuration,
} from 'discord-api-types/v10';
import { snowflake } from './snowflake.ts';

/** What the bot may do in the fake's guilds: what the README's invite URL asks for. */
export const BOT_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.UseApplicationCommands |
  PermissionFlagsBits.CreatePublicThreads |
  PermissionFlagsBits.SendMessagesInThreads;

const EVERYONE_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.UseApplicationCommands;

export interface FakeUser {
  user: APIUser;
  /** "Allow direct messages from server members" switched off: sending them a DM is 403 / 50007. */
  dmsClosed: boolean;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  joinedAt: string;
  everyoneRoleId: string;
  botRoleId: string;
  channelIds: string[];
  memberIds: Set<string>;
  /** Per-file upload limit in this guild (boosts raise it). */
  uploadLimitBytes: number;
}

export interface FakeChannel {
  id: string;
  name: string;
  type: ChannelType.GuildText | ChannelType.DM | ChannelType.PublicThread;
  guildId: string | undefined;
  /** DM channels: the user on the other side. */
  recipientId: string | undefined;
  lastMessageId: string | null;
  /** Threads: the text channel it is in, who started it, and when. */
  thread?: FakeThread;
}

export interface FakeThread {
  parentId: string;
  ownerId: string;
  autoArchiveDuration: ThreadAutoArchiveDuration;
  createdAt: number;
}

export interface StoredAttachment {
  id: string;
  filename: string;
  description?: string;
  contentType: string;
  size: number;
  /** Served by the fake (its CDN), so tests and the bot can download what was uploaded. */
  url: string;
  data: Buffer;
}

/** One state of a message: the original, then one per edit. */
export interface MessageSnapshot {
  at: number;
  content: string;
  embeds: APIEmbed[];
  components: APIMessageTopLevelComponent[];
  attachmentIds: string[];
  flags: number;
}

export interface StoredMessage {
  id: string;
  channelId: string;
  authorId: string;
  /** Set for interaction responses and followups (they are webhook messages of the application). */
  webhookId?: string;
  /** interactedMessageId: set for responses to a button click (the message the button is on). */
  interaction?: { id: string; userId: string; commandName: string; interactedMessageId: string | undefined };
  type: MessageType;
  content: string;
  embeds: APIEmbed[];
  components: APIMessageTopLevelComponent[];
  attachments: StoredAttachment[];
  flags: number;
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
  /** Every state the message had, oldest first; the last one is the current state. */
  history: MessageSnapshot[];
  /** emoji key (unicode or name:id) -> user ids, in the order they reacted. */
  reactions: Map<string, string[]>;
}

export function isEphemeral(message: Pick<StoredMessage, 'flags'>): boolean {
  return (message.flags & MessageFlags.Ephemeral) !== 0;
}

export function isLoading(message: Pick<StoredMessage, 'flags'>): boolean {
  return (message.flags & MessageFlags.Loading) !== 0;
}

export class World {
  readonly users = new Map<string, FakeUser>();
  readonly guilds = new Map<string, FakeGuild>();
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, StoredMessage>();
  readonly attachments = new Map<string, StoredAttachment>();
  /** DM channel id per user id. */
  readonly dmChannels = new Map<string, string>();
  /** Registered commands: key 'global' or a guild id. */
  readonly commands = new Map<string, APIApplicationCommand[]>();
  /** Text channels where the bot may not create threads (403 / 50013). */
  readonly threadsDenied = new Set<string>();
  readonly bot: APIUser;
  readonly applicationId: string;

  constructor(botName: string) {
    this.applicationId = snowflake();
    // A bot's user id is its application id, as on Discord.
    this.bot = { id: this.applicationId, username: botName, discriminator: '0', global_name: null, avatar: null, bot: true };
    this.users.set(this.bot.id, { user: this.bot, dmsClosed: true });
  }

  addUser(username: string, options: { dmsClosed?: boolean } = {}): APIUser {
    const user: APIUser = { id: snowflake(), username, discriminator: '0', global_name: username, avatar: null };
    this.users.set(user.id, { user, dmsClosed: options.dmsClosed ?? false });
    return user;
  }

  user(id: string): FakeUser {
    const user = this.users.get(id);
    if (!user) throw new Error(`fake Discord: no user ${id}`);
    return user;
  }

  addGuild(name: string, options: { channels: string[]; uploadLimitBytes: number; ownerId: string }): FakeGuild {
    const id = snowflake();
    const guild: FakeGuild = {
      id,
      name,
      ownerId: options.ownerId,
      joinedAt: new Date().toISOString(),
      everyoneRoleId: id, // @everyone's role id is the guild id
      botRoleId: snowflake(),
      channelIds: [],
      memberIds: new Set([this.bot.id, options.ownerId]),
      uploadLimitBytes: options.uploadLimitBytes,
    };
    this.guilds.set(id, guild);
    for (const channelName of options.channels) {
      const channel: FakeChannel = { id: snowflake(), name: channelName, type: ChannelType.GuildText, guildId: id, recipientId: undefined, lastMessageId: null };
      this.channels.set(channel.id, channel);
      guild.channelIds.push(channel.id);
    }
    return guild;
  }

  guild(id: string): FakeGuild {
    const guild = this.guilds.get(id);
    if (!guild) throw new Error(`fake Discord: no guild ${id}`);
    return guild;
  }

  channel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`fake Discord: no channel ${id}`);
    return channel;
  }

  /** The DM channel between the bot and a user, created on first use (as POST /users/@me/channels does). */
  dmChannelFor(userId: string): FakeChannel {
    const existing = this.dmChannels.get(userId);
    if (existing) return this.channel(existing);
    this.user(userId);
    const channel: FakeChannel = { id: snowflake(), name: '', type: ChannelType.DM, guildId: undefined, recipientId: userId, lastMessageId: null };
    this.channels.set(channel.id, channel);
    this.dmChannels.set(userId, channel.id);
    return channel;
  }

  /** A channel's messages, oldest first (same-millisecond ones by id); deleted ones left out, ephemeral ones only if asked for. */
  channelMessages(channelId: string, options: { includeEphemeral?: boolean } = {}): StoredMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.channelId === channelId && !m.deleted && (options.includeEphemeral || !isEphemeral(m)))
      .sort((a, b) => a.createdAt - b.createdAt || (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
  }

  /** The threads started in a text channel, oldest first. */
  channelThreads(parentId: string): FakeChannel[] {
    return [...this.channels.values()]
      .filter((c) => c.thread?.parentId === parentId)
      .sort((a, b) => a.thread!.createdAt - b.thread!.createdAt || (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  // ---- API shapes ----

  application(): APIApplication {
    return {
      id: this.applicationId,
      name: this.bot.username,
      icon: null,
      description: 'fake application',
      bot_public: true,
      bot_require_code_grant: false,
      bot: this.bot,
      verify_key: 'f'.repeat(64),
      flags: ApplicationFlags.GatewayMessageContentLimited,
      flags_new: String(ApplicationFlags.GatewayMessageContentLimited),
      team: null,
      summary: '',
    };
  }

  roles(guild: FakeGuild): APIRole[] {
    const role = (id: string, name: string, permissions: bigint, position: number, managed: boolean): APIRole => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position,
      permissions: permissions.toString(),
      managed,
      mentionable: false,
      flags: 0 as RoleFlags, // a bitfield with nothing set
      ...(managed ? { tags: { bot_id: this.bot.id } } : {}),
    });
    return [role(guild.everyoneRoleId, '@everyone', EVERYONE_PERMISSIONS, 0, false), role(guild.botRoleId, this.bot.username, BOT_PERMISSIONS, 1, true)];
  }

  member(guild: FakeGuild, userId: string): APIGuildMember {
    return {
      user: this.user(userId).user,
      nick: null,
      avatar: null,
      banner: null,
      roles: userId === this.bot.id ? [guild.botRoleId] : [],
      joined_at: guild.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags, // a bitfield with nothing set
      pending: false,
    };
  }

  textChannel(channel: FakeChannel): APITextChannel {
    if (channel.type !== ChannelType.GuildText || !channel.guildId) throw new Error(`fake Discord: ${channel.id} is not a guild text channel`);
    const guild = this.guild(channel.guildId);
    return {
      id: channel.id,
      type: ChannelType.GuildText,
      guild_id: channel.guildId,
      name: channel.name,
      position: guild.channelIds.indexOf(channel.id),
      permission_overwrites: [],
      parent_id: null,
      topic: null,
      nsfw: false,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: 0,
    };
  }

  dmChannel(channel: FakeChannel): APIDMChannel {
    if (channel.type !== ChannelType.DM || !channel.recipientId) throw new Error(`fake Discord: ${channel.id} is not a DM channel`);
    return { id: channel.id, type: ChannelType.DM, name: null, last_message_id: channel.lastMessageId, recipients: [this.user(channel.recipientId).user] };
  }

  /** A thread started from a message: its id is the message's, as on Discord. */
  threadChannel(channel: FakeChannel): APIPublicThreadChannel {
    const { thread } = channel;
    if (channel.type !== ChannelType.PublicThread || !thread || !channel.guildId) throw new Error(`fake Discord: ${channel.id} is not a thread`);
    const count = this.channelMessages(channel.id).length;
    const created = new Date(thread.createdAt).toISOString();
    return {
      id: channel.id,
      type: ChannelType.PublicThread,
      guild_id: channel.guildId,
      name: channel.name,
      parent_id: thread.parentId,
      owner_id: thread.ownerId,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: 0,
      flags: 0 as ChannelFlags, // a bitfield with nothing set
      message_count: count,
      total_message_sent: count,
      member_count: 1,
      thread_metadata: { archived: false, auto_archive_duration: thread.autoArchiveDuration, archive_timestamp: created, locked: false, create_timestamp: created },
    };
  }

  channelObject(channel: FakeChannel): APITextChannel | APIDMChannel | APIPublicThreadChannel {
    if (channel.type === ChannelType.PublicThread) return this.threadChannel(channel);
    return channel.type === ChannelType.DM ? this.dmChannel(channel) : this.textChannel(channel);
  }

  guildObject(guild: FakeGuild): APIGuild {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      region: 'deprecated',
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: GuildVerificationLevel.None,
      default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
      explicit_content_filter: GuildExplicitContentFilter.Disabled,
      roles: this.roles(guild),
      emojis: [],
      features: [],
      mfa_level: GuildMFALevel.None,
      application_id: null,
      system_channel_id: guild.channelIds[0] ?? null,
      system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotifications,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: GuildPremiumTier.None,
      preferred_locale: Locale.EnglishUS,
      public_updates_channel_id: null,
      nsfw_level: GuildNSFWLevel.Default,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      stickers: [],
      hub_type: null,
      incidents_data: null,
    };
  }

  /** GUILD_CREATE: the guild with its channels and enough members for discord.js (the bot itself, the owner). */
  guildCreate(guild: FakeGuild): GatewayGuildCreateDispatchData {
    return {
      ...this.guildObject(guild),
      joined_at: guild.joinedAt,
      large: false,
      unavailable: false,
      member_count: guild.memberIds.size,
      voice_states: [],
      members: [...guild.memberIds].map((id) => this.member(guild, id)),
      channels: guild.channelIds.map((id) => this.textChannel(this.channel(id))),
      threads: guild.channelIds.flatMap((id) => this.channelThreads(id).map((t) => this.threadChannel(t))),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  attachmentObject(attachment: StoredAttachment): APIAttachment {
    return {
      id: attachment.id,
      filename: attachment.filename,
      ...(attachment.description ? { description: attachment.description } : {}),
      content_type: attachment.contentType,
      size: attachment.size,
      url: attachment.url,
      proxy_url: attachment.url,
    };
  }

  messageObject(message: StoredMessage): APIMessage {
    const reactions: APIReaction[] = [...message.reactions].map(([emoji, users]) => ({
      count: users.length,
      count_details: { burst: 0, normal: users.length },
      me: users.includes(this.bot.id),
      me_burst: false,
      emoji: emojiObject(emoji),
      burst_colors: [],
    }));
    const author = this.user(message.authorId).user;
    const thread = this.channels.get(message.id);
    return {
      id: message.id,
      channel_id: message.channelId,
      author,
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: message.attachments.map((a) => this.attachmentObject(a)),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      type: message.type,
      flags: message.flags,
      ...(reactions.length ? { reactions } : {}),
      ...(thread?.thread?.parentId === message.channelId ? { thread: this.threadChannel(thread) } : {}),
      ...(message.webhookId ? { webhook_id: message.webhookId, application_id: this.applicationId } : {}),
      ...(message.interaction
        ? {
            interaction_metadata: message.interaction.interactedMessageId
              ? {
                  id: message.interaction.id,
                  type: InteractionType.MessageComponent,
                  user: this.user(message.interaction.userId).user,
                  authorizing_integration_owners: {},
                  interacted_message_id: message.interaction.interactedMessageId,
                }
              : {
                  id: message.interaction.id,
                  type: InteractionType.ApplicationCommand,
                  user: this.user(message.interaction.userId).user,
                  authorizing_integration_owners: {},
                },
          }
        : {}),
    };
  }
}

/** `🎛️` or `name:id` (custom emoji) as the API's partial emoji. */
export function emojiObject(key: string): { id: string | null; name: string | null; animated?: boolean } {
  const custom = /^(a:)?([\w~]{2,32}):(\d{17,20})$/.exec(key);
  if (custom) return { id: custom[3]!, name: custom[2]!, ...(custom[1] ? { animated: true } : {}) };
  return { id: null, name: key };
}

/** The message type and flags of an interaction response created by callback type 4/5. */
export const RESPONSE_MESSAGE_TYPE = MessageType.ChatInputCommand;
