/**
 * Fixtures for the delivery tests: stem files generated with ffmpeg (toneWav)
 * in a temporary data folder at their id-derived places, optionally with real
 * track/job/stem rows; a real @discordjs/rest client pointed at the fake
 * Discord; an acknowledged interaction whose webhook the delivery can use;
 * ffprobe of what arrived.
 */
import { randomUUID } from 'node:crypto';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { execa } from 'execa';
import type { EntityManager } from '@mikro-orm/postgresql';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import type { StemSource } from '../../src/bot/delivery/stems.ts';
import { toneWav } from '../engine/helpers.ts';
import type { FakeDiscord } from '../support/fakeDiscord/index.ts';
import { insertJob, insertStem, insertTrack } from '../support/db.ts';

export interface StemSpec {
  name: string;
  seconds: number;
  ext?: 'wav' | 'flac' | 'mp3';
}

/** Stem files at stems/<track>/<job>/<name>.<ext> with fresh ids (no rows). */
export async function makeStems(dataDir: string, specs: readonly StemSpec[]): Promise<StemSource[]> {
  const paths = new StoragePaths(dataDir);
  const trackId = randomUUID();
  const jobId = randomUUID();
  const out: StemSource[] = [];
  for (const [i, spec] of specs.entries()) {
    const file = paths.stemFile(trackId, jobId, spec.name, spec.ext ?? 'wav');
    await toneWav(file, spec.seconds, 220 + 40 * i);
    out.push({ id: randomUUID(), name: spec.name, filePath: file, durationSeconds: spec.seconds });
  }
  return out;
}

/** Like makeStems, with a track, a completed processing job and Stem rows whose ids the sources carry. */
export async function makeStemRows(em: EntityManager, dataDir: string, title: string, specs: readonly StemSpec[]): Promise<{ trackId: string; stems: StemSource[] }> {
  const paths = new StoragePaths(dataDir);
  const trackId = await insertTrack(em, { title });
  const jobId = await insertJob(em, 'processing', trackId, { status: 'completed', progress: 100, model: 'htdemucs' });
  const stems: StemSource[] = [];
  for (const [i, spec] of specs.entries()) {
    const file = paths.stemFile(trackId, jobId, spec.name, spec.ext ?? 'wav');
    await toneWav(file, spec.seconds, 220 + 40 * i);
    const id = await insertStem(em, jobId, trackId, { stem_type: spec.name, file_path: file });
    stems.push({ id, name: spec.name, filePath: file, durationSeconds: spec.seconds });
  }
  return { trackId, stems };
}

/** The bot's REST client as the delivery code gets it: bot token, API base of the fake. */
export function restFor(fake: FakeDiscord): REST {
  return new REST({ api: fake.apiBase }).setToken(fake.token);
}

/** A /separate interaction the bot has deferred: its webhook (application id + token) is usable. */
export async function deferredInteraction(fake: FakeDiscord, rest: REST, options: { attachmentSizeLimit?: number } = {}) {
  if (!fake.commands(fake.guild.id).some((c) => c.name === 'separate')) {
    await rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guild.id), { body: [{ name: 'separate', description: 'Split a song into stems' }] });
  }
  const user = fake.createUser();
  const handle = fake.interact({ user, command: 'separate', ...(options.attachmentSizeLimit ? { attachmentSizeLimit: options.attachmentSizeLimit } : {}) });
  await rest.post(Routes.interactionCallback(handle.id, handle.token), { body: { type: 5 }, auth: false });
  await handle.acknowledged();
  return { user, handle };
}

export interface Probe {
  codec: string;
  bitRate: number;
  streamBitRate: number | undefined;
  duration: number;
  sampleRate: number;
  channels: number;
}

export async function ffprobe(file: string): Promise<Probe> {
  const { stdout } = await execa('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,bit_rate:stream=codec_name,bit_rate,sample_rate,channels', '-of', 'json', file]);
  const parsed = JSON.parse(stdout) as { format: { duration: string; bit_rate: string }; streams: { codec_name: string; bit_rate?: string; sample_rate: string; channels: number }[] };
  const stream = parsed.streams[0]!;
  return {
    codec: stream.codec_name,
    bitRate: Number(parsed.format.bit_rate),
    streamBitRate: stream.bit_rate ? Number(stream.bit_rate) : undefined,
    duration: Number(parsed.format.duration),
    sampleRate: Number(stream.sample_rate),
    channels: stream.channels,
  };
}

/** Decodes the whole file; resolves with ffmpeg's error output (empty when it decodes cleanly). */
export async function decodeErrors(file: string): Promise<string> {
  const result = await execa('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-'], { reject: false });
  return result.exitCode === 0 ? result.stderr.trim() : `exit ${result.exitCode}: ${result.stderr}`;
}
