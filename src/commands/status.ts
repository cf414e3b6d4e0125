/** /status: the user's recent requests and where each stands (private). */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { loadRequestsOf, stagesOf, type RequestRow } from '../requests/view.ts';
import { renderStatusLines, type RequestStatus } from '../domain/requestStatus.ts';
import { NOT_READY } from './requestFlow.ts';
import type { CommandDeps } from './types.ts';

export const data = new SlashCommandBuilder().setName('status').setDescription('Your requests and how far along they are');

export const ephemeral = true;

/** How many of the user's latest requests are listed. */
export const STATUS_LIMIT = 5;

export async function execute(interaction: ChatInputCommandInteraction, _input: undefined, deps: CommandDeps): Promise<void> {
  if (!deps.bot) {
    await interaction.editReply(NOT_READY);
    return;
  }
  const rows = await loadRequestsOf(deps.bot.orm, interaction.user.id, STATUS_LIMIT);
  await interaction.editReply({ content: renderStatusLines(rows.map(toStatus)), allowedMentions: { parse: [] } });
}

function toStatus(row: RequestRow): RequestStatus {
  return {
    kind: row.kind,
    title: row.title,
    model: row.model,
    insertedAt: row.inserted_at.getTime(),
    deliveryState: row.delivery_state,
    deliveryError: row.delivery_error,
    // How far each stage got; a failure's reason is shown once, as the request's delivery_error.
    stages: Object.fromEntries(Object.entries(stagesOf(row)).map(([stage, v]) => [stage, { status: v.status, progress: v.progress }])),
  };
}
