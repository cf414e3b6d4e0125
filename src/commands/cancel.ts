/**
 * /cancel: stops the user's latest unfinished request (cancelTicket). Work
 * that another user's pending request shares (the same track and model) keeps
 * running for them; the answer says so. The request message shows it was
 * cancelled.
 */
import { outsideText } from '../domain/outsideText.ts';
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { CANCELLED_BY_REQUESTER } from '../bot/requests/view.ts';
import { cancelTicket } from '../jobs/pipeline/index.ts';
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
  // FOR UPDATE waits for a progress edit or delivery holding the row; SKIP LOCKED would answer "nothing to cancel".
  const rows = await conn.execute<{ id: string; track_id: string; processing_job_id: string | null; analysis_job_id: string | null; title: string }[]>(
    `update requests r set delivery_state = 'failed', delivery_error = ?, updated_at = now()
      from tracks t
      where t.id = r.track_id and r.id = (select id from requests where requester_id = ? and delivery_state = 'pending' order by inserted_at desc limit 1 for update)
        and r.delivery_state = 'pending'
      returning r.id, r.track_id, r.processing_job_id, r.analysis_job_id, t.title`,
    [CANCELLED_BY_REQUESTER, interaction.user.id],
  );
  const request = rows[0];
  if (!request) {
    await interaction.editReply(NOTHING_TO_CANCEL);
    return;
  }
  // For the answer: other requests of the song still run even when none of the named work is kept (e.g. another model).
  const others = await conn.execute<{ n: string }[]>(`select count(*) as n from requests where track_id = ? and id <> ? and delivery_state in ('pending', 'delivering')`, [
    request.track_id,
    request.id,
  ]);
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
  const kept = result.kept.length > 0 || Number(others[0]!.n) > 0 ? ' The same song is also being processed for someone else, so that shared work keeps running for them.' : '';
  await interaction.editReply({ content: `Cancelled your request for **${title}**.${kept}`, allowedMentions: { parse: [] } });
}
