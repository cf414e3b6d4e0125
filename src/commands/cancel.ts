/**
 * /cancel: stops the user's latest unfinished request (cancelTicket). Work
 * that another user's pending request shares (the same track and model) keeps
 * running for them; the answer says so. The request message shows it was
 * cancelled.
 */
import { outsideText } from '../domain/outsideText.ts';
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { cancelTicket } from '../jobs/pipeline/index.ts';
import { cancelLatestPending, otherOpenRequestsOfTrack } from '../requests/store.ts';
import { NOT_READY } from './requestFlow.ts';
import type { CommandDeps } from './types.ts';

export const data = new SlashCommandBuilder().setName('cancel').setDescription('Stop your request that is still running');

export const ephemeral = true;

export const NOTHING_TO_CANCEL = 'You have no request that is still running. `/status` lists your requests.';

export async function execute(interaction: ChatInputCommandInteraction, _input: undefined, deps: CommandDeps): Promise<void> {
  const bot = deps.bot;
  if (!bot) {
    await interaction.editReply(NOT_READY);
    return;
  }
  const conn = bot.orm.em.getConnection();
  // Mark it first (and only if still pending): the window timer, deliveries and other /cancel calls then leave it alone.
  const request = await cancelLatestPending(bot.orm, interaction.user.id);
  if (!request) {
    await interaction.editReply(NOTHING_TO_CANCEL);
    return;
  }
  // For the answer: other requests of the song still run even when none of the named work is kept (e.g. another model).
  const others = await otherOpenRequestsOfTrack(bot.orm, request.track_id, request.id);
  // The download is shared by every request of the track: cancelTicket keeps it while another pending request needs it.
  const download = (
    await conn.execute<{ id: string }[]>(`select id from download_jobs where track_id = ? and status in ('queued', 'downloading') order by inserted_at desc limit 1`, [request.track_id])
  )[0]?.id;
  const result = await cancelTicket(
    bot.pipeline,
    {
      trackId: request.track_id,
      downloadJobId: download,
      processingJobId: request.processing_job_id ?? undefined,
      analysisJobId: request.analysis_job_id ?? undefined,
    },
    { reason: 'by the requester', requestId: request.id },
  );
  bot.requestChanged(request.id);
  const title = outsideText(request.title, 100) || 'Untitled';
  const kept = result.kept.length > 0 || others > 0 ? ' The same song is also being processed for someone else, so that shared work keeps running for them.' : '';
  await interaction.editReply({ content: `Cancelled your request for **${title}**.${kept}`, allowedMentions: { parse: [] } });
}
