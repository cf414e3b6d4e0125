/** Every slash command of the bot, in the order /help lists them. */
import * as analyze from './analyze.ts';
import * as cancel from './cancel.ts';
import * as help from './help.ts';
import * as models from './models.ts';
import * as separate from './separate.ts';
import * as status from './status.ts';
import type { CommandModule } from './types.ts';

export type { CommandDeps, CommandModule } from './types.ts';

// Each module's Input type is checked against its own parse/execute; the list needs only the common shape.
export const COMMANDS: readonly CommandModule<unknown>[] = [separate, analyze, status, cancel, models, help];

/** The JSON that registration sends (bulk overwrite). */
export function commandPayloads(commands: readonly CommandModule<unknown>[] = COMMANDS) {
  return commands.map((c) => c.data.toJSON());
}
