/**
 * Slash-command registration: a bulk overwrite of the bot's commands, in one
 * guild (visible at once; for DISCORD_GUILD_ID) or globally (Discord may take
 * up to an hour to show changes). Used on start and by `sfa discord register`.
 */
import { Routes, type REST, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { COMMANDS, commandPayloads, type CommandModule } from '../commands/index.ts';

export interface Registration {
  scope: { guildId: string } | 'global';
  names: string[];
}

export async function registerCommands(
  rest: REST,
  options: { applicationId: string; guildId: string | undefined; commands?: readonly CommandModule<unknown>[] },
): Promise<Registration> {
  const body = commandPayloads(options.commands ?? COMMANDS);
  const route = options.guildId ? Routes.applicationGuildCommands(options.applicationId, options.guildId) : Routes.applicationCommands(options.applicationId);
  const registered = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  return { scope: options.guildId ? { guildId: options.guildId } : 'global', names: registered.map((c) => c.name) };
}

export function describeRegistration(r: Registration): string {
  const where = r.scope === 'global' ? 'globally (Discord can take up to an hour to show changes)' : `in guild ${r.scope.guildId}`;
  return `${r.names.length} commands registered ${where}: ${r.names.map((n) => `/${n}`).join(' ')}`;
}
