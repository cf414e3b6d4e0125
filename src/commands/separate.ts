/**
 * /separate url|file [model] [format]: split a song into stems. The options are
 * checked before the defer (a mistake is answered privately); then the work is
 * queued and the public request message shows its progress (requestFlow.ts).
 */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { DEFAULT_MODEL, MODELS } from '../domain/modelCatalog.ts';
import { startRequest } from './requestFlow.ts';
import { addSongOptions, readSongOptions } from './songOptions.ts';
import { STEM_FORMATS } from '../domain/audioFormats.ts';
import { parseSeparateOptions, type SourceOptions } from './sourceOptions.ts';
import type { CommandDeps, Parsed } from './types.ts';

export const data = addSongOptions(new SlashCommandBuilder().setName('separate').setDescription('Split a song into stems: vocals, drums, bass and more'), 'separate')
  .addStringOption((o) =>
    o
      .setName('model')
      .setDescription(`Separation model (default ${DEFAULT_MODEL}); /models compares them`)
      .addChoices(...MODELS.map((m) => ({ name: `${m.name}: ${m.label}`.slice(0, 100), value: m.name }))),
  )
  .addStringOption((o) =>
    o
      .setName('format')
      .setDescription('Audio format of the stems (default wav)')
      .addChoices(...STEM_FORMATS.map((f) => ({ name: f, value: f }))),
  );

/** The request message is public (the track card, progress, the model reactions); mistakes stay private. */
export const ephemeral = false;

export function parse(interaction: ChatInputCommandInteraction, deps: CommandDeps): Parsed<SourceOptions> {
  return parseSeparateOptions(
    { ...readSongOptions(interaction), model: interaction.options.getString('model'), format: interaction.options.getString('format') },
    { maxFileBytes: deps.config.limits.maxFileBytes, spotifyCredentials: deps.config.spotify.credentials !== undefined },
  );
}

export async function execute(interaction: ChatInputCommandInteraction, input: SourceOptions, deps: CommandDeps): Promise<void> {
  await startRequest(interaction, input, deps, 'separate');
}
