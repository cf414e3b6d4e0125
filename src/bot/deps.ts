/**
 * What the bot's request handling needs, built once by the bot runtime
 * (src/bot/runtime.ts) and shared by the commands, the progress/delivery
 * dispatcher and the reaction handling (src/bot/reactions).
 */
import type { REST } from '@discordjs/rest';
import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.ts';
import type { Orm } from '../db/orm.ts';
import type { PipelineContext } from '../jobs/pipeline/index.ts';
import type { Logger } from '../log.ts';

export interface BotDeps {
  orm: Orm;
  boss: PgBoss;
  pipeline: PipelineContext;
  /** @discordjs/rest with the bot token (webhook calls pass auth: false). */
  rest: REST;
  /** The bot's own settings are config.bot. */
  config: Config;
  log: Logger;
  botUserId: string;
  /** Something about the request changed (model chosen, rows linked): re-render its message. */
  requestChanged(requestId: string): void;
}
