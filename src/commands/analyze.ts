/**
 * /analyze url|file: tempo, key, energy and brightness of a song. The options
 * are checked before the defer; then download + analysis are queued, the
 * public message shows progress and the result comes as a DM (requestFlow.ts).
 */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { addSongOptions, readSongOptions } from './songOptions.ts';
import { parseAnalyzeOptions, type SourceOptions } from './sourceOptions.ts';
import { startRequest } from './requestFlow.ts';
import type { CommandDeps, Parsed } from './types.ts';

export const data = addSongOptions(new SlashCommandBuilder().setName('analyze').setDescription('Tempo (BPM), key, energy and brightness of a song'), 'analyze');

export const ephemeral = false;

export function parse(interaction: ChatInputCommandInteraction, deps: CommandDeps): Parsed<Pick<SourceOptions, 'source'>> {
  return parseAnalyzeOptions(readSongOptions(interaction), { maxFileBytes: deps.config.limits.maxFileBytes, spotifyCredentials: deps.config.spotify.credentials !== undefined });
}

export async function execute(interaction: ChatInputCommandInteraction, input: Pick<SourceOptions, 'source'>, deps: CommandDeps): Promise<void> {
  await startRequest(interaction, { source: input.source, model: undefined, format: undefined }, deps, 'analyze');
}
