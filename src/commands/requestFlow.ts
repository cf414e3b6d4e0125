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
import { releaseSlot, takeSlot } from '../requests/slots.ts';
import { allowanceLeft, createRequest, type RequestOrigin } from '../requests/store.ts';
import { allowanceUsedUp } from '../domain/batchLifecycle.ts';
import { queueBatch } from './batchFlow.ts';
import { pipelineInputFor, SourceError } from './source.ts';
import { InputError, requestAnalysis, requestSeparation } from '../jobs/pipeline/index.ts';
import { TOKEN_LIFETIME_MS } from '../domain/deliveryPolicy.ts';
import { UnknownModelError } from '../domain/modelCatalog.ts';
import type { SourceOptions } from './sourceOptions.ts';
import type { CommandDeps, RequestContext } from './types.ts';

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
  const bot = deps.bot;
  if (!bot) {
    await interaction.editReply(NOT_READY);
    return;
  }
  // Per-user concurrency (SFA_USER_CONCURRENCY): a slot is taken before anything slow happens, so
  // parallel commands of one user count each other (src/requests/slots.ts).
  const limit = bot.config.limits.userConcurrency;
  const slot = await takeSlot(bot.orm, interaction.user.id, limit);
  if (!slot.ok) {
    await privateAnswer(interaction, tooManyRequests(slot.running, limit));
    return;
  }
  try {
    if (input.source.kind === 'record') {
      const started = await queueBatch(originOf(interaction, kind), { source: input.source, model: input.model, format: input.format }, bot, slot.slotId, attachmentLimit(interaction));
      if (!started.ok) await privateAnswer(interaction, started.message);
      else {
        bot.log.info(`batch ${started.batchId}: /${kind} of a ${input.source.record.kind} by ${interaction.user.id}`);
        bot.batchChanged(started.batchId);
      }
      return;
    }
    // The hourly allowance counts tracks (an album's count as many as it runs): this is one.
    const { userRequestsPerHour } = bot.config.limits;
    const allowance = await allowanceLeft(bot.orm, interaction.user.id, userRequestsPerHour);
    if (allowance.left === 0) {
      await privateAnswer(interaction, allowanceUsedUp(userRequestsPerHour, allowance.nextAt!));
      return;
    }
    await queueRequest(interaction, { ...input, source: input.source }, bot, kind, slot.slotId);
  } finally {
    await releaseSlot(bot.orm, slot.slotId).catch((error: unknown) => bot.log.warn(`could not give back a request slot: ${(error as Error).message}`));
  }
}

type SingleSource = SourceOptions & { source: Exclude<SourceOptions['source'], { kind: 'record' }> };

async function queueRequest(interaction: ChatInputCommandInteraction, input: SingleSource, bot: RequestContext, kind: 'separate' | 'analyze', slotId: string): Promise<void> {
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
  const requestId = await createRequest(bot.orm, slotId, {
    ...originOf(interaction, kind),
    model: kind === 'separate' ? (input.model ?? null) : null,
    modelSource: kind === 'separate' && input.model ? 'option' : null,
    format: kind === 'separate' ? (input.format ?? 'wav') : null,
    trackId: ticket.trackId,
    processingJobId: ticket.processingJobId ?? null,
    analysisJobId: ticket.analysisJobId,
    reactionWindowEndsAt: choosing ? new Date(now + bot.config.bot.reactionWindowMs) : null,
    attachmentSizeLimit: attachmentLimit(interaction),
  });
  bot.log.info(`request ${requestId}: /${kind} by ${interaction.user.id} (track ${ticket.trackId})`);
  bot.requestChanged(requestId);
}

/** The request's origin: its message is the interaction's reply. */
export function originOf(interaction: ChatInputCommandInteraction, kind: 'separate' | 'analyze'): RequestOrigin {
  return {
    kind,
    requesterId: interaction.user.id,
    guildId: interaction.guildId,
    channelId: interaction.channelId,
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionExpiresAt: new Date(interaction.createdTimestamp + TOKEN_LIFETIME_MS),
  };
}

function attachmentLimit(interaction: ChatInputCommandInteraction): number | null {
  const raw = (interaction as unknown as { attachmentSizeLimit?: unknown }).attachmentSizeLimit;
  return typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? raw : null;
}
