/**
 * Slash-command interactions as Discord sends them: the options typed from the
 * command the bot registered (Discord never sends an option a command does not
 * have, nor a value outside its choices), attachments uploaded to the fake's
 * CDN and listed in `resolved`, and the fields discord.js needs (`channel`,
 * `entitlements`, `attachment_size_limit`, `app_permissions`, `locale`...).
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  ComponentType,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  Locale,
  type APIApplicationCommand,
  type APIApplicationCommandInteractionDataBasicOption,
  type APIAttachment,
  type APIChatInputApplicationCommandDMInteraction,
  type APIChatInputApplicationCommandGuildInteraction,
  type APIMessage,
  type APIMessageComponentDMInteraction,
  type APIMessageComponentGuildInteraction,
  type APIUser,
} from 'discord-api-types/v10';
import { BOT_PERMISSIONS, type FakeChannel, type FakeGuild, type World } from './world.ts';

export type OptionValue = string | number | boolean;

export interface AttachmentUpload {
  filename: string;
  data: Buffer;
  contentType?: string;
}

export interface InteractParams {
  user: APIUser | string;
  /** A guild id (default: the fake's first guild), or null for a command in the user's DM with the bot. */
  guild?: string | null;
  /** Default: the guild's first text channel, or the DM channel. */
  channel?: string;
  command: string;
  options?: Record<string, OptionValue>;
  /** Attachment options, by option name. */
  attachments?: Record<string, AttachmentUpload>;
  /** The upload limit Discord reports for this server/user (default: the guild's). */
  attachmentSizeLimit?: number;
  locale?: Locale;
  /** Interaction token lifetime for this interaction (default: the fake's). */
  tokenTtlMs?: number;
}

export interface Acknowledgement {
  type: InteractionResponseType;
  at: number;
  /** Time from dispatching INTERACTION_CREATE to the callback, as the fake measured it. */
  elapsedMs: number;
  ephemeral: boolean;
}

export type ChatInputInteraction = APIChatInputApplicationCommandGuildInteraction | APIChatInputApplicationCommandDMInteraction;
export type ButtonInteraction = APIMessageComponentGuildInteraction | APIMessageComponentDMInteraction;

export interface ClickParams {
  user: APIUser | string;
  /** A message of the bot's with a button. */
  messageId: string;
  customId: string;
  locale?: Locale;
  tokenTtlMs?: number;
}

/** Whether a message's components (rows, or components v2 containers) hold a button with this custom_id. */
export function hasButton(components: unknown, customId: string): boolean {
  if (!Array.isArray(components)) return false;
  return components.some((c: unknown) => {
    if (typeof c !== 'object' || c === null) return false;
    const component = c as { type?: unknown; custom_id?: unknown; components?: unknown; accessory?: unknown };
    if (component.type === ComponentType.Button && component.custom_id === customId) return true;
    return hasButton(component.components, customId) || hasButton(component.accessory ? [component.accessory] : undefined, customId);
  });
}

/** Thrown to the test, not sent to the bot: Discord's client would not let a user send this. */
export class ImpossibleInteraction extends Error {}

/** Turns `{url: '…', model: 'x'}` into typed options, checked against the registered command. */
export function buildOptions(
  command: APIApplicationCommand,
  values: Record<string, OptionValue>,
  attachments: Record<string, APIAttachment>,
): APIApplicationCommandInteractionDataBasicOption[] {
  const defs = command.options ?? [];
  for (const name of [...Object.keys(values), ...Object.keys(attachments)]) {
    if (!defs.some((d) => d.name === name)) {
      throw new ImpossibleInteraction(`/${command.name} has no option "${name}" (registered: ${defs.map((d) => d.name).join(', ') || 'none'})`);
    }
  }
  const out: APIApplicationCommandInteractionDataBasicOption[] = [];
  for (const def of defs) {
    const value = values[def.name];
    const attachment = attachments[def.name];
    if (value === undefined && attachment === undefined) {
      if ('required' in def && def.required) throw new ImpossibleInteraction(`/${command.name} option "${def.name}" is required`);
      continue;
    }
    if ('choices' in def && def.choices && !def.choices.some((c) => c.value === value)) {
      throw new ImpossibleInteraction(
        `/${command.name} option "${def.name}" only offers ${def.choices.map((c) => JSON.stringify(c.value)).join(', ')}; got ${JSON.stringify(value)}`,
      );
    }
    const wrongType = () => new ImpossibleInteraction(`/${command.name} option "${def.name}" is ${ApplicationCommandOptionType[def.type]}; got ${JSON.stringify(value)}`);
    switch (def.type) {
      case ApplicationCommandOptionType.String:
        if (typeof value !== 'string') throw wrongType();
        out.push({ name: def.name, type: def.type, value });
        break;
      case ApplicationCommandOptionType.Integer:
      case ApplicationCommandOptionType.Number:
        if (typeof value !== 'number' || (def.type === ApplicationCommandOptionType.Integer && !Number.isInteger(value))) throw wrongType();
        out.push({ name: def.name, type: def.type, value });
        break;
      case ApplicationCommandOptionType.Boolean:
        if (typeof value !== 'boolean') throw wrongType();
        out.push({ name: def.name, type: def.type, value });
        break;
      case ApplicationCommandOptionType.Attachment:
        if (!attachment) throw new ImpossibleInteraction(`/${command.name} option "${def.name}" takes a file: pass it in \`attachments\``);
        out.push({ name: def.name, type: def.type, value: attachment.id });
        break;
      default:
        throw new ImpossibleInteraction(`the fake does not build ${ApplicationCommandOptionType[def.type]} options`);
    }
  }
  return out;
}

export interface InteractionContext {
  world: World;
  id: string;
  token: string;
  user: APIUser;
  guild: FakeGuild | undefined;
  channel: FakeChannel;
  command: APIApplicationCommand;
  options: APIApplicationCommandInteractionDataBasicOption[];
  attachments: Record<string, APIAttachment>;
  attachmentSizeLimit: number;
  locale: Locale;
}

/** A member's permissions in the channel (an ordinary member: view, send, react, use commands). */
const MEMBER_PERMISSIONS = '2248473465835073';

function baseFields(c: Pick<InteractionContext, 'world' | 'id' | 'token' | 'channel' | 'attachmentSizeLimit' | 'locale'>) {
  return {
    id: c.id,
    application_id: c.world.applicationId,
    token: c.token,
    version: 1 as const,
    app_permissions: BOT_PERMISSIONS.toString(),
    locale: c.locale,
    entitlements: [],
    attachment_size_limit: c.attachmentSizeLimit,
    channel_id: c.channel.id,
  };
}

/** A click on a button of one of the bot's messages. */
export function buttonPayload(
  c: Pick<InteractionContext, 'world' | 'id' | 'token' | 'user' | 'guild' | 'channel' | 'attachmentSizeLimit' | 'locale'> & { message: APIMessage; customId: string },
): ButtonInteraction {
  const common = { ...baseFields(c), type: InteractionType.MessageComponent as const, data: { custom_id: c.customId, component_type: ComponentType.Button as const }, message: c.message };
  if (c.guild) {
    return {
      ...common,
      guild_id: c.guild.id,
      guild: { id: c.guild.id, locale: Locale.EnglishUS, features: [] },
      guild_locale: Locale.EnglishUS,
      channel: { id: c.channel.id, type: ChannelType.GuildText, name: c.channel.name, guild_id: c.guild.id },
      member: { ...c.world.member(c.guild, c.user.id), user: c.user, permissions: MEMBER_PERMISSIONS },
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: c.guild.id },
      context: InteractionContextType.Guild,
    };
  }
  return {
    ...common,
    channel: { id: c.channel.id, type: ChannelType.DM, recipients: [c.user] },
    user: c.user,
    authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: '0' },
    context: InteractionContextType.BotDM,
  };
}

export function interactionPayload(c: InteractionContext): ChatInputInteraction {
  const resolved = Object.keys(c.attachments).length ? { resolved: { attachments: c.attachments } } : {};
  const common = { ...baseFields(c), type: InteractionType.ApplicationCommand as const };
  if (c.guild) {
    const member = c.world.member(c.guild, c.user.id);
    return {
      ...common,
      data: { id: c.command.id, name: c.command.name, type: ApplicationCommandType.ChatInput, options: c.options, guild_id: c.guild.id, ...resolved },
      guild_id: c.guild.id,
      guild: { id: c.guild.id, locale: Locale.EnglishUS, features: [] },
      guild_locale: Locale.EnglishUS,
      channel: { id: c.channel.id, type: ChannelType.GuildText, name: c.channel.name, guild_id: c.guild.id },
      member: { ...member, user: c.user, permissions: MEMBER_PERMISSIONS },
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: c.guild.id },
      context: InteractionContextType.Guild,
    };
  }
  return {
    ...common,
    data: { id: c.command.id, name: c.command.name, type: ApplicationCommandType.ChatInput, options: c.options, ...resolved },
    channel: { id: c.channel.id, type: ChannelType.DM, recipients: [c.user] },
    user: c.user,
    authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: '0' },
    context: InteractionContextType.BotDM,
  };
}
