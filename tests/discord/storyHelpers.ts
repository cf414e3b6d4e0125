/**
 * Shared by the story end-to-end tests: reading what the user sees (progress
 * percentages in the edit history, stems that decode, the analysis DM). The
 * rows the bot wrote: reactionsHelpers.ts.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { FakeDiscord, StoredMessage } from '../support/fakeDiscord/index.ts';
import { tempDir } from '../engine/helpers.ts';
import { ffprobe } from './deliveryHelpers.ts';

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
  const { duration, channels } = await ffprobe(file);
  // Decode it fully: a truncated or corrupt file fails here.
  await execa('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-']);
  return { duration, channels };
}

/** Waits until the requester got the analysis DM (or its channel fallback). */
export function waitForDm(fake: FakeDiscord, userId: string, timeoutMs = 240_000): Promise<StoredMessage> {
  return fake.waitUntil('the analysis DM', () => fake.dms(userId)[0], timeoutMs);
}
