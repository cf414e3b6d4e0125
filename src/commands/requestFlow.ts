/**
 * What /separate and /analyze share after the defer: turn the song into the
 * pipeline's input, queue the work (requestSeparation with `model:`,
 * otherwise requestAnalysis — download and analysis start at once while the
 * requester picks a model by reaction), write the Request row linked to its
 * job rows, and show the request message (the first progress render).
 * A problem found only now (a private link, an attachment that is not audio)
 * is answered privately; nothing is written for it.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { BotDeps } from '../bot/deps.ts';
import { pipelineInputFor, SourceError } from '../bot/requests/source.ts';
import { releaseSlot, takeSlot } from '../bot/requests/slots.ts';
import { InputError, requestAnalysis, requestSeparation } from '../jobs/pipeline/index.ts';
import { TOKEN_LIFETIME_MS } from '../domain/deliveryPolicy.ts';
import { UnknownModelError } from '../domain/modelCatalog.ts';
import type { SourceOptions } from './sourceOptions.ts';
import type { CommandDeps } from './types.ts';

export const NOT_READY = 'I am still starting up. Please try again in a few seconds.';

export function tooManyRequests(running: number, limit: number): string {
  return `You already have ${running} request${running === 1 ? '' : 's'} in progress (the limit is ${limit} per person). ` +
    'Wait for one to finish, or stop one with /cancel, then ask again.';
}

async function privateAnswer(interaction: ChatInputCommandInteraction, text: string): Promise<void> {
  // The deferred reply is public: remove it and answer only the user.
  await interaction.deleteReply().catch(() => undefined);
  await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

export async function startRequest(interaction: ChatInputCommandInteraction, input: SourceOptions, deps: CommandDeps, kind: 'separate' | 'analyze'): Promise<void> {
  const bot: BotDeps | undefined = deps.bot;
  if (!bot) {
    await interaction.editReply(NOT_READY);
    return;
  }
  // Per-user concurrency (SFA_USER_CONCURRENCY): a slot is taken before anything slow happens, so
  // parallel commands of one user count each other (src/bot/requests/slots.ts).
  const limit = bot.config.limits.userConcurrency;
  const slot = await takeSlot(bot.orm, interaction.user.id, limit);
  if (!slot.ok) {
    await privateAnswer(interaction, tooManyRequests(slot.running, limit));
    return;
  }
  try {
    await queueRequest(interaction, input, bot, kind, slot.slotId);
  } finally {
    await releaseSlot(bot.orm, slot.slotId).catch((error: unknown) => bot.log.warn(`could not give back a request slot: ${(error as Error).message}`));
  }
}

async function queueRequest(interaction: ChatInputCommandInteraction, input: SourceOptions, bot: BotDeps, kind: 'separate' | 'analyze', slotId: string): Promise<void> {
  let pipelineInput: string;
  let ticket: { trackId: string; processingJobId?: string; analysisJobId: string };
  try {
    pipelineInput = await pipelineInputFor(bot, input.source);
    ticket =
      kind === 'separate' && input.model
        ? await requestSeparation(bot.pipeline, { input: pipelineInput, model: input.model, format: input.format ?? 'wav', requester: interaction.user.id })
        : await requestAnalysis(bot.pipeline, { input: pipelineInput });
  } catch (error) {
    if (error instanceof SourceError || error instanceof InputError || error instanceof UnknownModelError) {
      await privateAnswer(interaction, error instanceof InputError ? error.userMessage : error.message);
      return;
    }
    throw error;
  }
  const now = Date.now();
  const choosing = kind === 'separate' && !input.model;
  // The Request row replaces the slot in one transaction: the user's count never has a gap nor a double.
  const rows = await bot.orm.em.fork().transactional(async (em) => {
    await em.execute(`delete from request_slots where id = ?`, [slotId]);
    return em.execute<{ id: string }[]>(
      `insert into requests (kind, requester_id, guild_id, channel_id, application_id, interaction_token, interaction_expires_at,
                             model, model_source, format, track_id, processing_job_id, analysis_job_id, reaction_window_ends_at,
                             attachment_size_limit, dm_state)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') returning id`,
      [
        kind,
        interaction.user.id,
        interaction.guildId,
        interaction.channelId,
        interaction.applicationId,
        interaction.token,
        new Date(interaction.createdTimestamp + TOKEN_LIFETIME_MS),
        kind === 'separate' ? (input.model ?? null) : null,
        kind === 'separate' && input.model ? 'option' : null,
        kind === 'separate' ? (input.format ?? 'wav') : null,
        ticket.trackId,
        ticket.processingJobId ?? null,
        ticket.analysisJobId,
        choosing ? new Date(now + bot.config.bot.reactionWindowMs) : null,
        attachmentLimit(interaction),
      ],
    );
  });
  const requestId = rows[0]!.id;
  bot.log.info(`request ${requestId}: /${kind} by ${interaction.user.id} (track ${ticket.trackId})`);
  bot.requestChanged(requestId);
}

function attachmentLimit(interaction: ChatInputCommandInteraction): number | null {
  const raw = (interaction as unknown as { attachmentSizeLimit?: unknown }).attachmentSizeLimit;
  return typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? raw : null;
}
