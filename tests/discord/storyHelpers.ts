/**
 * Shared by the story end-to-end tests: reading what the user sees (progress
 * percentages in the edit history, stems that decode, the analysis DM) and
 * the rows the bot wrote.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Orm } from '../../src/db/orm.ts';
import type { FakeDiscord, StoredMessage } from '../support/fakeDiscord/index.ts';
import { tempDir } from '../engine/helpers.ts';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The "Overall N%" / "Done" footers of a message's states, oldest first. */
export function footers(message: StoredMessage): string[] {
  return message.history.map((h) => h.embeds[0]?.footer?.text ?? '').filter(Boolean);
}

export function percents(message: StoredMessage): number[] {
  return footers(message).map((f) => (f === 'Done' ? 100 : Number(/Overall (\d+)%/.exec(f)?.[1] ?? NaN))).filter((n) => !Number.isNaN(n));
}

/** Messages of the channel or followups that carry stems (audio attachments). */
export function stemAttachments(messages: readonly StoredMessage[]) {
  return messages.flatMap((m) => m.attachments.filter((a) => /^audio\//.test(a.contentType) || /\.(wav|flac|mp3|ogg)$/.test(a.filename)));
}

/** Downloads a file and returns its duration (s) and channel count as ffprobe reads them (proves it decodes). */
export async function probe(url: string): Promise<{ duration: number; channels: number }> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  const file = path.join(tempDir('probe'), path.basename(new URL(url).pathname) || 'file');
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  const { stdout } = await execa('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=channels', '-of', 'json', file]);
  const info = JSON.parse(stdout) as { format: { duration: string }; streams: { channels: number }[] };
  // Decode it fully: a truncated or corrupt file fails here.
  await execa('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-']);
  return { duration: Number(info.format.duration), channels: info.streams[0]!.channels };
}

export interface StoryRequest {
  id: string;
  kind: string;
  model: string | null;
  model_source: string | null;
  delivery_state: string;
  delivery_error: string | null;
  dm_state: string | null;
  channel_message_id: string | null;
  processing_job_id: string | null;
  analysis_job_id: string | null;
  track_id: string;
}

export async function requestsOf(orm: Orm, userId: string): Promise<StoryRequest[]> {
  return orm.em.fork().execute<StoryRequest[]>(`select * from requests where requester_id = ? order by inserted_at`, [userId]);
}

export async function deliveriesOf(orm: Orm, requestId: string): Promise<{ kind: string; state: string; attempts: number }[]> {
  return orm.em.fork().execute(`select kind, state, attempts from deliveries where request_id = ? order by inserted_at`, [requestId]);
}

/** Waits until the requester got the analysis DM (or its channel fallback). */
export function waitForDm(fake: FakeDiscord, userId: string, timeoutMs = 240_000): Promise<StoredMessage> {
  return fake.waitUntil('the analysis DM', () => fake.dms(userId)[0], timeoutMs);
}

/** Polls an async probe (e.g. a database query) until it returns something truthy. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
