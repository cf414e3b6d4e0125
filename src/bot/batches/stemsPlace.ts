/**
 * Where an album's or playlist's stems go, decided at its first delivery and
 * stored on the batch: a thread on the batch's message (one post per track),
 * so the channel keeps one message. Where the bot may not create threads
 * (missing permission, a DM, a channel type without threads), each track's
 * line in the message links its stem player instead; without a public file
 * server (no links possible) the stems go as messages in the channel.
 */
import { Routes, type APIChannel, type APIMessage } from 'discord.js';
import type { StemsPlace } from '../../domain/batchLifecycle.ts';
import { truncate } from '../../domain/messages.ts';
import { loadBatch, setStemsPlace } from '../../requests/batches.ts';
import { restFailure } from '../delivery/restErrors.ts';
import type { BotDeps } from '../deps.ts';

export type StemsDestination = { ok: true; place: StemsPlace; channelId: string } | { ok: false; retry: string };

/** Discord's answers that mean "no thread here": missing permissions or access, or a channel type without threads. */
const NO_THREADS = new Set<number | string>([50001, 50013, 50024, 160002]);
/** A thread was already started from this message (a lost answer, or another process). */
const THREAD_EXISTS = 160004;
/** A day without messages before Discord archives the thread (it reopens when someone posts). */
const ARCHIVE_MINUTES = 1440;

export async function stemsDestination(deps: BotDeps, batchId: string, canLink: boolean): Promise<StemsDestination> {
  const batch = await loadBatch(deps.orm, batchId);
  if (!batch) return { ok: false, retry: 'the album request is gone' };
  if (batch.stems_place) return { ok: true, place: batch.stems_place, channelId: batch.thread_id ?? batch.channel_id };
  const fallback: StemsPlace = canLink ? 'links' : 'messages';
  let place: StemsPlace = fallback;
  let threadId: string | null = null;
  if (batch.guild_id !== null) {
    const messageId = batch.channel_message_id ?? batch.message_id;
    if (!messageId) return { ok: false, retry: 'the album\'s message is not posted yet' };
    const thread = await openThread(deps, batch.channel_id, messageId, truncate(batch.name, 100) || 'Stems');
    if (!thread.ok) return thread;
    if ('why' in thread) deps.log.warn(`batch ${batchId}: no thread in channel ${batch.channel_id} (${thread.why}); stems go as ${fallback}`);
    else {
      place = 'thread';
      threadId = thread.id;
    }
  }
  await setStemsPlace(deps.orm, batchId, place, threadId);
  // Conditional write: another delivery may have decided first; its decision stands.
  const decided = await loadBatch(deps.orm, batchId);
  return { ok: true, place: decided?.stems_place ?? place, channelId: decided?.thread_id ?? batch.channel_id };
}

type ThreadResult = { ok: true; id: string } | { ok: true; id: null; why: string } | { ok: false; retry: string };

async function openThread(deps: BotDeps, channelId: string, messageId: string, name: string): Promise<ThreadResult> {
  try {
    const thread = (await deps.rest.post(Routes.threads(channelId, messageId), { body: { name, auto_archive_duration: ARCHIVE_MINUTES } })) as APIChannel;
    return { ok: true, id: thread.id };
  } catch (error) {
    const f = restFailure(error);
    if (f.code === THREAD_EXISTS) {
      try {
        const message = (await deps.rest.get(Routes.channelMessage(channelId, messageId))) as APIMessage;
        if (message.thread?.id) return { ok: true, id: message.thread.id };
      } catch (readError) {
        return { ok: false, retry: restFailure(readError).text };
      }
    }
    if (f.status === 403 || (f.code !== undefined && NO_THREADS.has(f.code))) return { ok: true, id: null, why: f.text };
    return { ok: false, retry: f.text };
  }
}
