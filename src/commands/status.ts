/** /status: the user's recent requests and where each stands (private). */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { loadRequests, type RequestRow } from '../bot/requests/view.ts';
import { renderStatusLines } from '../domain/requestStatus.ts';
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
  const rows: RequestRow[] = (await loadRequests(deps.bot.orm, 'r.requester_id = ?', [interaction.user.id])).slice(0, STATUS_LIMIT);
  await interaction.editReply({ content: renderStatusLines(rows.map(toStatus)), allowedMentions: { parse: [] } });
}

function toStatus(row: RequestRow) {
  return {
    kind: row.kind,
    title: row.title,
    model: row.model,
    insertedAt: row.inserted_at.getTime(),
    deliveryState: row.delivery_state,
    deliveryError: row.delivery_error,
    stages: {
      download: row.d_status ? { status: row.d_status, progress: row.d_progress ?? 0 } : undefined,
      separation: row.kind === 'separate' ? (row.p_status ? { status: row.p_status, progress: row.p_progress ?? 0 } : { status: 'queued' as const, progress: 0 }) : undefined,
      analysis: row.a_status ? { status: row.a_status, progress: row.a_progress ?? 0 } : undefined,
    },
  };
}
