/**
 * What the bot's request handling needs, built once by the bot runtime
 * (src/bot/runtime.ts) and shared by the progress/delivery dispatcher and the
 * reaction handling (src/bot/reactions). The commands get its RequestContext
 * part (src/commands/types.ts).
 */
import type { REST } from '@discordjs/rest';
import type { PgBoss } from 'pg-boss';
import type { RequestContext } from '../commands/types.ts';

export interface BotDeps extends RequestContext {
  boss: PgBoss;
  /** @discordjs/rest with the bot token (webhook calls pass auth: false). */
  rest: REST;
  botUserId: string;
}
