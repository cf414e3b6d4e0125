/**
 * Bulk overwrite of application commands with Discord's validation (names,
 * descriptions, option order, choices), so a builder mistake in the bot fails
 * against the fake as it would against Discord. Ids stay stable per name
 * across overwrites, as Discord keeps them.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type APIApplicationCommand,
  type APIApplicationCommandOption,
} from 'discord-api-types/v10';
import { DiscordError, invalidFormBody } from './http.ts';
import { snowflake } from './snowflake.ts';

const NAME = /^[-_'\p{L}\p{N}\p{sc=Devanagari}\p{sc=Thai}]{1,32}$/u;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkName(value: unknown, path: (string | number)[]): string {
  if (typeof value !== 'string' || !NAME.test(value) || value !== value.toLowerCase()) {
    throw invalidFormBody(path, 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid: ${JSON.stringify(value)}`);
  }
  return value;
}

function checkDescription(value: unknown, path: (string | number)[]): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 100) {
    throw invalidFormBody(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  }
  return value;
}

function checkOptions(options: unknown, path: (string | number)[]): void {
  if (options === undefined) return;
  if (!Array.isArray(options)) throw invalidFormBody(path, 'BASE_TYPE_LIST', 'Must be a list.');
  if (options.length > 25) throw invalidFormBody(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  const names = new Set<string>();
  let sawOptional = false;
  options.forEach((option: unknown, i) => {
    const here = [...path, i];
    if (!isObject(option)) throw invalidFormBody(here, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    const name = checkName(option.name, [...here, 'name']);
    if (names.has(name)) throw invalidFormBody([...here, 'name'], 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option names must be unique');
    names.add(name);
    checkDescription(option.description, [...here, 'description']);
    if (typeof option.type !== 'number' || !(option.type in ApplicationCommandOptionType)) {
      throw invalidFormBody([...here, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of the option types.');
    }
    if (option.required === true && sawOptional) {
      throw invalidFormBody(here, 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    }
    if (option.required !== true) sawOptional = true;
    if (option.choices !== undefined) {
      if (!Array.isArray(option.choices) || option.choices.length > 25) {
        throw invalidFormBody([...here, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      }
      option.choices.forEach((choice: unknown, j) => {
        const at = [...here, 'choices', j];
        if (!isObject(choice) || typeof choice.name !== 'string' || choice.name.length < 1 || choice.name.length > 100) {
          throw invalidFormBody([...at, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
        }
        const expected = option.type === ApplicationCommandOptionType.String ? 'string' : 'number';
        if (typeof choice.value !== expected || (typeof choice.value === 'string' && choice.value.length > 100)) {
          throw invalidFormBody([...at, 'value'], 'BASE_TYPE_BAD_LENGTH', `Must be a ${expected} of at most 100 characters.`);
        }
      });
    }
    if (option.type === ApplicationCommandOptionType.Subcommand || option.type === ApplicationCommandOptionType.SubcommandGroup) {
      checkOptions(option.options, [...here, 'options']);
    }
  });
}

/** Validates a PUT body and returns the commands as Discord would store them. */
export function overwriteCommands(
  body: unknown,
  context: { applicationId: string; guildId?: string; previous: APIApplicationCommand[] },
): APIApplicationCommand[] {
  if (!Array.isArray(body)) throw invalidFormBody([], 'BASE_TYPE_LIST', 'Must be a list.');
  if (body.length > 100) throw new DiscordError(400, 30032, 'Maximum number of application commands reached (100)');
  const seen = new Set<string>();
  return body.map((raw: unknown, i) => {
    if (!isObject(raw)) throw invalidFormBody([i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    const type = raw.type === undefined ? ApplicationCommandType.ChatInput : raw.type;
    if (type !== ApplicationCommandType.ChatInput) throw invalidFormBody([i, 'type'], 'BASE_TYPE_CHOICES', 'The fake registers chat input commands only');
    const name = checkName(raw.name, [i, 'name']);
    if (seen.has(name)) throw invalidFormBody([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique (${name})`);
    seen.add(name);
    const description = checkDescription(raw.description, [i, 'description']);
    checkOptions(raw.options, [i, 'options']);
    const previous = context.previous.find((c) => c.name === name);
    return {
      id: previous?.id ?? snowflake(),
      application_id: context.applicationId,
      ...(context.guildId ? { guild_id: context.guildId } : {}),
      type: ApplicationCommandType.ChatInput,
      name,
      description,
      ...(Array.isArray(raw.options) ? { options: raw.options as APIApplicationCommandOption[] } : {}),
      default_member_permissions: typeof raw.default_member_permissions === 'string' ? raw.default_member_permissions : null,
      nsfw: raw.nsfw === true,
      version: snowflake(),
    };
  });
}
