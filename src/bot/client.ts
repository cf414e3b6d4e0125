/**
 * The discord.js client: only the intents the bot needs (none privileged, so
 * nothing has to be switched on in the developer portal), and partials so
 * reactions on messages from before a restart still arrive.
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { Config } from '../config.ts';

export const BOT_INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions, GatewayIntentBits.DirectMessageReactions] as const;
export const BOT_PARTIALS = [Partials.Message, Partials.Reaction, Partials.Channel, Partials.User] as const;

export function createClient(config: Pick<Config, 'discord'>): Client {
  return new Client({
    intents: [...BOT_INTENTS],
    partials: [...BOT_PARTIALS],
    rest: { api: config.discord.apiBase },
  });
}
