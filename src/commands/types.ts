/**
 * The shape of a slash-command module (as in the discord.js guide: a builder
 * `data` and an `execute` handler), plus what the router needs to defer
 * correctly: whether the answer is private, and a synchronous `parse` of the
 * options so a bad input is known before the (first-await) deferReply.
 */
import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Orm } from '../db/orm.ts';
import type { PipelineContext } from '../jobs/pipeline/index.ts';
import type { Parsed } from './sourceOptions.ts';

/**
 * What a command that handles requests gets, in one typed context (the bot
 * runtime builds it; the bot's own parts extend it in src/bot/deps.ts).
 */
export interface RequestContext {
  orm: Orm;
  pipeline: PipelineContext;
  /** The bot's own settings are config.bot. */
  config: Config;
  log: Logger;
  /** Something about the request changed (model chosen, rows linked): re-render its message. */
  requestChanged(requestId: string): void;
  /** An album's or playlist's request changed (created, cancelled): start its next tracks, re-render its message. */
  batchChanged(batchId: string): void;
}


export interface CommandDeps {
  config: Config;
  log: Logger;
  /** The request handling; unset when the bot runs without it (tests of the command layer). */
  bot?: RequestContext;
}

export interface CommandModule<Input = undefined> {
  data: { readonly name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  /** Answered only to the user who asked. Invalid input is always answered privately. */
  ephemeral: boolean;
  /** Reads and checks the options; synchronous and side-effect free, it runs before the defer. */
  parse?(interaction: ChatInputCommandInteraction, deps: CommandDeps): Parsed<Input>;
  /** Runs after the reply was deferred; answers with `interaction.editReply`. */
  execute(interaction: ChatInputCommandInteraction, input: Input, deps: CommandDeps): Promise<void>;
}

export type { Parsed };
