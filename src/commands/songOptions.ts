/**
 * The song options /separate and /analyze share: the builder side (url, file)
 * and reading them back from an interaction into plain values for
 * sourceOptions.ts to check.
 */
import type { ChatInputCommandInteraction, SlashCommandBuilder } from 'discord.js';
import { MAX_INPUT_LENGTH } from '../domain/spotifyInput.ts';
import type { RawSourceOptions } from './sourceOptions.ts';

export function addSongOptions(builder: SlashCommandBuilder, verb: string) {
  return builder
    .addStringOption((o) =>
      o.setName('url').setDescription(`Spotify track, album or playlist link, or a direct link to an audio file, to ${verb}`).setMaxLength(MAX_INPUT_LENGTH),
    )
    .addAttachmentOption((o) => o.setName('file').setDescription(`An audio file to ${verb} (instead of url)`))
    .addStringOption((o) => o.setName('tracks').setDescription('Album or playlist only: which tracks, like 1,3,5-7 (default: from the first)').setMaxLength(200));
}

export function readSongOptions(interaction: ChatInputCommandInteraction): RawSourceOptions {
  const file = interaction.options.getAttachment('file');
  return {
    url: interaction.options.getString('url'),
    tracks: interaction.options.getString('tracks'),
    file: file && { name: file.name, contentType: file.contentType, size: file.size, url: file.url },
  };
}
