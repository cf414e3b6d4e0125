/**
 * Shared by the end-to-end bot tests: a distinct short song per test (so
 * tests never share a track, a download or stems), a /separate with it
 * attached, the rows the bot wrote for it and polling the database for them.
 */
import type { APIUser } from 'discord-api-types/v10';
import type { Orm } from '../../src/db/orm.ts';
import { MODELS } from '../../src/domain/modelCatalog.ts';
import { REACTION_OPTIONS } from '../../src/domain/reactionChoice.ts';
import { pcm16StereoWav } from '../engine/helpers.ts';
import type { InteractionHandle, StoredMessage } from '../support/fakeDiscord/index.ts';
import { until } from '../support/wait.ts';
import type { BotHarness } from './harness.ts';

let nextFrequency = 180;

/** A 16-bit stereo 44.1 kHz WAV of `seconds`: a sine at a frequency no other call in this process used. */
export function distinctSong(seconds = 3): Buffer {
  const frequency = (nextFrequency += 17);
  const rate = 44_100;
  return pcm16StereoWav(Math.round(seconds * rate), rate, (i) => {
    const v = Math.sin((2 * Math.PI * frequency * i) / rate) * 0.4;
    return [v, v];
  });
}

export const emojiOf = (model: string): string => REACTION_OPTIONS.find((o) => o.model === model)!.emoji;

/** The stems a catalog model makes. */
export const stemsOf = (model: string) => MODELS.find((m) => m.name === model)!.stems;

/** Whether `messages` carry a stem file for each of `stems`. */
export function stemFilesPosted(messages: readonly StoredMessage[], stems: readonly string[]): boolean {
  const names = messages.flatMap((m) => m.attachments.map((a) => a.filename.toLowerCase()));
  return stems.every((stem) => names.some((n) => n.includes(stem)));
}

/** A `requests` row as the bot wrote it (`select *`; the columns the tests look at). */
export interface RequestRow {
  id: string;
  kind: string;
  model: string | null;
  model_source: string | null;
  track_id: string;
  processing_job_id: string | null;
  analysis_job_id: string | null;
  message_id: string | null;
  channel_message_id: string | null;
  delivery_state: string;
  delivery_error: string | null;
  dm_state: string | null;
  requester_id: string;
}

/** A user's requests, oldest first. */
export async function requestsOf(orm: Orm, userId: string): Promise<RequestRow[]> {
  return orm.em.fork().execute<RequestRow[]>(`select * from requests where requester_id = ? order by inserted_at`, [userId]);
}

export async function deliveriesOf(orm: Orm, requestId: string): Promise<{ kind: string; state: string; attempts: number }[]> {
  return orm.em.fork().execute(`select kind, state, attempts from deliveries where request_id = ? order by inserted_at`, [requestId]);
}

export async function processingRows(orm: Orm, trackId: string): Promise<{ id: string; model: string; status: string }[]> {
  return orm.em.fork().getConnection().execute(`select id, model, status from processing_jobs where track_id = ? order by inserted_at`, [trackId]);
}

export async function downloadRows(orm: Orm, trackId: string): Promise<{ id: string }[]> {
  return orm.em.fork().getConnection().execute(`select id from download_jobs where track_id = ?`, [trackId]);
}

export async function reactionRows(orm: Orm, requestId: string): Promise<{ user_id: string; model: string; state: string; outcome: string | null }[]> {
  return orm.em
    .fork()
    .getConnection()
    .execute(`select user_id, model, state, outcome from reaction_choices where request_id = ? order by inserted_at`, [requestId]);
}

/** Waits until the user's first request is delivered, and fails at once if it failed instead. */
export function delivered(orm: Orm, userId: string, timeoutMs = 240_000): Promise<RequestRow> {
  return until(
    `the request of ${userId} to be delivered`,
    async () => {
      const row = (await requestsOf(orm, userId))[0];
      if (row?.delivery_state === 'failed') throw new Error(`request ${row.id} failed: ${row.delivery_error}`);
      return row?.delivery_state === 'delivered' ? row : undefined;
    },
    timeoutMs,
  );
}

export interface SentRequest {
  handle: InteractionHandle;
  reply: StoredMessage;
  request: RequestRow;
}

/** `/separate file:<a distinct song> [model:]` by `user`; resolves once the reply is there and its request row has the message id. */
export async function separate(bot: BotHarness, orm: Orm, user: APIUser, options: { model?: string; seconds?: number } = {}): Promise<SentRequest> {
  const before = (await requestsOf(orm, user.id)).length;
  const handle = bot.fake.interact({
    user,
    command: 'separate',
    attachments: { file: { filename: 'song.wav', data: distinctSong(options.seconds), contentType: 'audio/wav' } },
    ...(options.model ? { options: { model: options.model } } : {}),
  });
  await handle.acknowledged();
  const reply = await handle.reply(30_000);
  const request = await until(`${user.username}'s request row with its message id`, async () => {
    const rows = await requestsOf(orm, user.id);
    const row = rows[before];
    return row && row.message_id === reply.id ? row : undefined;
  });
  return { handle, reply, request };
}

/** The bot's own reactions on a message, in the order it added them. */
export function botReactions(bot: BotHarness, message: StoredMessage): string[] {
  const current = bot.fake.message(message.id)!;
  return [...current.reactions].filter(([, users]) => users.includes(bot.fake.bot.id)).map(([emoji]) => emoji);
}
