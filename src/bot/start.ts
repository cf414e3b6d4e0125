/**
 * The bot process: log in to the gateway, register the slash commands (per
 * guild when DISCORD_GUILD_ID is set, else globally), route interactions.
 * startBot resolves once the bot is ready and its commands are registered.
 */
import { once } from 'node:events';
import { DiscordAPIError, DiscordjsErrorCodes, Events, type Client } from 'discord.js';
import type { Config } from '../config.ts';
import { COMMANDS, type CommandModule } from '../commands/index.ts';
import { createClient } from './client.ts';
import { MISSING_TOKEN, TOKEN_REJECTED } from './messages.ts';
import type { Logger } from '../log.ts';
import { stderrBotLogger } from './log.ts';
import { describeRegistration, registerCommands, type Registration } from './register.ts';
import { createRouter } from './router.ts';
import { attachReactionHandling } from './reactions/index.ts';
import type { BotRuntime } from './runtime.ts';
import type { CommandDeps } from '../commands/types.ts';

export { MISSING_TOKEN } from './messages.ts';

/** A start-up failure with a message for the person running the bot. */
export class BotStartError extends Error {
  override readonly name = 'BotStartError';
}

export interface RunningBot {
  client: Client<true>;
  registration: Registration;
  stop(): Promise<void>;
}

export interface StartBotOptions {
  config: Config;
  log?: Logger;
  commands?: readonly CommandModule<unknown>[];
  /** The request handling (database, pipeline, delivery); without it the commands that need it say so. */
  runtime?: BotRuntime;
}

function explain(error: unknown): BotStartError {
  const e = error as { code?: unknown; status?: number; message?: string };
  if (e.code === DiscordjsErrorCodes.TokenInvalid || (error instanceof DiscordAPIError && error.status === 401)) {
    return new BotStartError(TOKEN_REJECTED);
  }
  if (/disallowed intents/i.test(e.message ?? '')) {
    return new BotStartError('Discord refused the gateway intents (4014). The bot asks for no privileged intents; check DISCORD_API_BASE.');
  }
  return new BotStartError(`Could not connect to Discord: ${e.message ?? String(error)}`);
}

export async function startBot(options: StartBotOptions): Promise<RunningBot> {
  const { config } = options;
  const log = options.log ?? stderrBotLogger(config.logLevel);
  const token = config.discord.token;
  if (!token) throw new BotStartError(MISSING_TOKEN);

  const client = createClient(config);
  // `bot` is filled in once the client is ready; commands arrive only after registration, which comes later.
  const commandDeps: CommandDeps = { config, log };
  const route = createRouter(options.commands ?? COMMANDS, commandDeps);
  client.on(Events.InteractionCreate, (interaction) => void route(interaction));
  client.on(Events.Error, (error) => log.error(`discord.js: ${error.message}`));
  client.on(Events.Warn, (message) => log.warn(`discord.js: ${message}`));
  client.on(Events.ShardDisconnect, (event) => log.error(`gateway closed with ${event.code} and will not reconnect`));
  let stopping = false;
  // discord.js reports its own shutdown as a reconnect too.
  client.on(Events.ShardReconnecting, () => stopping || log.info('gateway connection lost; reconnecting'));

  const ready = once(client, Events.ClientReady);
  try {
    await client.login(token.reveal());
    await ready;
  } catch (error) {
    await client.destroy();
    throw explain(error);
  }
  const readyClient = client as Client<true>;
  if (options.runtime) {
    const deps = options.runtime.attach(readyClient);
    // Before anything can post a request message (the reactions on it must be heard).
    attachReactionHandling(readyClient, deps);
    commandDeps.bot = deps;
    try {
      await options.runtime.resume();
    } catch (error) {
      await client.destroy();
      throw new BotStartError(`Resuming unfinished requests failed: ${(error as Error).message}`);
    }
  }

  let registration: Registration;
  try {
    registration = await registerCommands(client.rest, { applicationId: readyClient.application.id, guildId: config.discord.guildId, commands: options.commands });
  } catch (error) {
    await client.destroy();
    const guild = config.discord.guildId;
    const hint = guild && error instanceof DiscordAPIError && (error.status === 403 || error.status === 404) ? ` Is the bot in guild ${guild} (DISCORD_GUILD_ID)?` : '';
    throw new BotStartError(`Registering the slash commands failed: ${(error as Error).message}.${hint}`);
  }
  log.info(`ready as ${readyClient.user.tag}; ${describeRegistration(registration)}`);

  return {
    client: readyClient,
    registration,
    stop: async () => {
      stopping = true;
      await client.destroy();
    },
  };
}
