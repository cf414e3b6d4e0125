/**
 * Routes chat-input interactions to the command modules. Discord drops an
 * interaction that is not acknowledged within 3 s, so the defer is always
 * the first await: the options are checked synchronously before it (a bad
 * input gets a private answer), and everything slow happens after it.
 */
import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { CommandDeps, CommandModule, Parsed } from '../commands/types.ts';

export const UNKNOWN_COMMAND = "I don't know that command any more (the bot was updated). `/help` lists the current ones.";
export const FAILED = 'Something went wrong on my side while answering. Please try again in a minute.';

export function createRouter(commands: readonly CommandModule<unknown>[], deps: CommandDeps): (interaction: Interaction) => Promise<void> {
  const byName = new Map(commands.map((c) => [c.data.name, c]));
  return async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    await route(interaction, byName.get(interaction.commandName), deps);
  };
}

async function route(interaction: ChatInputCommandInteraction, command: CommandModule<unknown> | undefined, deps: CommandDeps): Promise<void> {
  const name = `/${interaction.commandName}`;
  let parsed: Parsed<unknown> | undefined;
  try {
    parsed = command?.parse?.(interaction, deps);
  } catch (error) {
    deps.log.error(`${name}: reading the options failed: ${(error as Error).message}`);
    parsed = { ok: false, message: FAILED };
  }
  const ephemeral = !command || command.ephemeral || parsed?.ok === false;
  try {
    await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  } catch (error) {
    // Too late (10062) or already answered: nothing more can be sent for this interaction.
    deps.log.warn(`${name}: could not acknowledge the interaction: ${(error as Error).message}`);
    return;
  }
  try {
    if (!command) await interaction.editReply(UNKNOWN_COMMAND);
    else if (parsed && !parsed.ok) await interaction.editReply(parsed.message);
    else await command.execute(interaction, parsed?.value, deps);
  } catch (error) {
    deps.log.error(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    await interaction.editReply(FAILED).catch((e: unknown) => deps.log.warn(`${name}: could not report the failure: ${(e as Error).message}`));
  }
}
