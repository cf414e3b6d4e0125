/** /help: what each command does. */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { DEFAULT_MODEL } from '../domain/modelCatalog.ts';

export const data = new SlashCommandBuilder().setName('help').setDescription('What this bot does and how to use its commands');

export const ephemeral = true;

export function helpText(): string {
  return [
    '**Stem Forge** splits songs into stems (vocals, drums, bass, ...) and tells you their tempo and key.',
    '',
    `\`/separate url:<link>\` or \`/separate file:<audio>\`: split a song into stems. \`url:\` takes a Spotify track link or a direct link to an audio file. Optional \`model:\` (default \`${DEFAULT_MODEL}\`, see \`/models\`) and \`format:\` (wav, flac or mp3).`,
    '`/analyze url:<link>` or `/analyze file:<audio>`: tempo (BPM), key with its Camelot code, energy and brightness of a song, sent to you by DM.',
    'Both take a Spotify album or playlist link too: one message follows every track, the stems go in a thread, and one DM lists every track\'s BPM, key and Camelot code (with a CSV). `tracks:1,3,5-7` picks which tracks.',
    '`/status`: your requests and how far along they are.',
    '`/cancel`: stop your request that is still running (for an album: the rest of it; finished tracks are kept).',
    '`/models`: the separation models, their stems, quality and speed.',
    '`/help`: this message.',
  ].join('\n');
}

export async function execute(interaction: ChatInputCommandInteraction): Promise<void> {
  await interaction.editReply(helpText());
}
