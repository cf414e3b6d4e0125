/**
 * /cancel: stops the user's latest unfinished request (cancelTicket). Work
 * that another user's pending request shares (the same track and model) keeps
 * running for them; the answer says so. The request message shows it was
 * cancelled. For an album or playlist, the rest of it stops: no queued
 * track starts, running ones are cancelled, finished ones are kept.
 */
import { outsideText } from '../domain/outsideText.ts';
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { cancelTicket } from '../jobs/pipeline/index.ts';
import { cancelLatestPending, otherOpenRequestsOfTrack } from '../requests/store.ts';
import { cancelBatch, latestRunningBatch } from '../requests/batches.ts';
import { NOT_READY } from './requestFlow.ts';
import type { CommandDeps, RequestContext } from './types.ts';

export const data = new SlashCommandBuilder().setName('cancel').setDescription('Stop your request that is still running');

export const ephemeral = true;

export const NOTHING_TO_CANCEL = 'You have no request that is still running. `/status` lists your requests.';

export async function execute(interaction: ChatInputCommandInteraction, _input: undefined, deps: CommandDeps): Promise<void> {
  const bot = deps.bot;
  if (!bot) {
    await interaction.editReply(NOT_READY);
    return;
  }
  const batchId = await latestRunningBatch(bot.orm, interaction.user.id);
  if (batchId) {
    const batch = await cancelBatch(bot.orm, batchId);
    if (batch) {
      for (const r of batch.open) await stopWork(bot, r);
      bot.batchChanged(batchId);
      for (const r of batch.open) bot.requestChanged(r.id);
      const name = outsideText(batch.name, 100) || 'Untitled';
      await interaction.editReply({ content: `Cancelled the rest of **${name}**. Tracks that finished are kept.`, allowedMentions: { parse: [] } });
      return;
    }
  }
  // Mark it first (and only if still pending): the window timer, deliveries and other /cancel calls then leave it alone.
  const request = await cancelLatestPending(bot.orm, interaction.user.id);
  if (!request) {
    await interaction.editReply(NOTHING_TO_CANCEL);
    return;
  }
  // For the answer: other requests of the song still run even when none of the named work is kept (e.g. another model).
  const others = await otherOpenRequestsOfTrack(bot.orm, request.track_id, request.id);
  const result = await stopWork(bot, request);
  bot.requestChanged(request.id);
  const title = outsideText(request.title, 100) || 'Untitled';
  const kept = result.kept.length > 0 || others > 0 ? ' The same song is also being processed for someone else, so that shared work keeps running for them.' : '';
  await interaction.editReply({ content: `Cancelled your request for **${title}**.${kept}`, allowedMentions: { parse: [] } });
}

interface StoppedRequest {
  id: string;
  track_id: string;
  processing_job_id: string | null;
  analysis_job_id: string | null;
}

/** Stops a cancelled request's work; the download is shared by every request of the track, so cancelTicket keeps it while another needs it. */
async function stopWork(bot: RequestContext, request: StoppedRequest) {
  const download = (
    await bot.orm.em
      .getConnection()
      .execute<{ id: string }[]>(`select id from download_jobs where track_id = ? and status in ('queued', 'downloading') order by inserted_at desc limit 1`, [request.track_id])
  )[0]?.id;
  return cancelTicket(
    bot.pipeline,
    {
      trackId: request.track_id,
      downloadJobId: download,
      processingJobId: request.processing_job_id ?? undefined,
      analysisJobId: request.analysis_job_id ?? undefined,
    },
    { reason: 'by the requester', requestId: request.id },
  );
}
