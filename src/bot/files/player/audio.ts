/**
 * The player's ffmpeg work, argv only (never a shell): waveform peaks
 * (decoded once, cached as peaks.json next to the stems), the short FLAC
 * segments the page streams, FLAC copies for the zip and the rendered mix.
 * Results are written under a private name and renamed into place, so a
 * reader never sees half a file and a second request reuses the first's.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { computePeaks, mixArgs, mixCacheName, type MixSpec } from '../../../domain/playerMix.ts';
import { writeFileAtomic } from '../../../jobs/storage/atomicWrite.ts';
import { assertUuid, type StoragePaths } from '../../../jobs/storage/paths.ts';
import type { PlayerSet } from './stemSet.ts';

/** Seconds of audio per streamed segment (see the README's "Stem player"). */
export const SEGMENT_SECONDS = 10;
/** Waveform resolution: pairs of (min, max) per stem. */
export const PEAK_BUCKETS = 1200;
/** Peaks are measured on a mono copy at this rate: plenty for a drawing, cheap to decode. */
const PEAK_RATE = 8000;
const TIMEOUT_MS = 10 * 60_000;
const PEAKS_VERSION = 1;

export interface Peaks {
  version: number;
  durationSeconds: number;
  sampleRate: number;
  stems: Record<string, number[]>;
}

async function ffmpegBytes(args: string[]): Promise<Uint8Array> {
  const run = await execa('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { encoding: 'buffer', reject: false, timeout: TIMEOUT_MS, maxBuffer: 512 * 1024 * 1024, stdin: 'ignore' });
  if (run.exitCode !== 0) throw new Error(`ffmpeg failed (exit ${String(run.exitCode)}): ${Buffer.from(run.stderr).toString().trim().slice(-300)}`);
  return run.stdout;
}

async function probe(file: string): Promise<{ durationSeconds: number; sampleRate: number }> {
  const run = await execa('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=sample_rate:format=duration', '-of', 'json', path.resolve(file)], { reject: false, timeout: 60_000 });
  if (run.exitCode !== 0) throw new Error(`ffprobe failed on a stem: ${run.stderr.slice(-200)}`);
  const info = JSON.parse(run.stdout) as { streams?: { sample_rate?: string }[]; format?: { duration?: string } };
  return { durationSeconds: Number(info.format?.duration ?? 0), sampleRate: Number(info.streams?.[0]?.sample_rate ?? 44100) };
}

/** The folder a stem set's files are in (every stem of a set is in one). */
export function setDir(set: PlayerSet): string {
  return path.dirname(path.resolve(set.stems[0]!.filePath));
}

const inFlight = new Map<string, Promise<unknown>>();
/** One computation per key at a time: concurrent requests share it. */
export function once<T>(key: string, make: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key) as Promise<T> | undefined;
  if (running) return running;
  const p = make().finally(() => inFlight.delete(key));
  inFlight.set(key, p);
  return p;
}

/** peaks.json next to the stems: made once, read afterwards (remade if a stem file is newer). */
export function loadPeaks(set: PlayerSet): Promise<Peaks> {
  const file = path.join(setDir(set), 'peaks.json');
  return once(file, async () => {
    const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as Peaks, () => undefined);
    const newest = Math.max(...(await Promise.all(set.stems.map((s) => stat(s.filePath).then((st) => st.mtimeMs)))));
    const madeAt = await stat(file).then((st) => st.mtimeMs, () => 0);
    if (cached?.version === PEAKS_VERSION && madeAt >= newest && set.stems.every((s) => Array.isArray(cached.stems[s.name]))) return cached;
    const { durationSeconds, sampleRate } = await probe(set.stems[0]!.filePath);
    const stems: Record<string, number[]> = {};
    for (const s of set.stems) {
      const pcm = await ffmpegBytes(['-i', path.resolve(s.filePath), '-ac', '1', '-ar', String(PEAK_RATE), '-f', 's16le', '-c:a', 'pcm_s16le', 'pipe:1']);
      const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 2));
      stems[s.name] = computePeaks(samples, PEAK_BUCKETS);
    }
    const peaks: Peaks = { version: PEAKS_VERSION, durationSeconds, sampleRate, stems };
    await writeFileAtomic(file, JSON.stringify(peaks));
    return peaks;
  });
}

/** Segment `index` of a stem as FLAC (exact samples: FLAC has no encoder delay), stereo at the stem's rate. */
export function segment(file: string, index: number): Promise<Uint8Array> {
  const start = index * SEGMENT_SECONDS;
  return ffmpegBytes(['-ss', String(start), '-t', String(SEGMENT_SECONDS), '-i', path.resolve(file), '-map', '0:a:0', '-ac', '2', '-map_metadata', '-1', '-c:a', 'flac', '-compression_level', '0', '-f', 'flac', 'pipe:1']);
}

/** The player's cache folder of one set: tmp/player-<set id>/ (temporary: sfa gc may remove it). */
export function cacheDir(paths: StoragePaths, setId: string): string {
  return path.join(paths.tmpRoot(), `player-${assertUuid(setId, 'stem set id')}`);
}

async function renderOnce(target: string, args: (partial: string) => string[]): Promise<string> {
  return once(target, async () => {
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isFile() && existing.size > 0) return target;
    await mkdir(path.dirname(target), { recursive: true });
    const partial = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial`);
    try {
      await ffmpegBytes(args(partial));
      await rename(partial, target);
      return target;
    } finally {
      await rm(partial, { force: true });
    }
  });
}

/** A FLAC copy of a stem for the zip. */
export function flacCopy(paths: StoragePaths, setId: string, stem: { name: string; filePath: string }): Promise<string> {
  const target = path.join(cacheDir(paths, setId), `${stem.name}.flac`);
  return renderOnce(target, (partial) => ['-y', '-i', path.resolve(stem.filePath), '-map', '0:a:0', '-map_metadata', '-1', '-c:a', 'flac', '-f', 'flac', partial]);
}

/** The mix as a file; the same spec is rendered once and then served from the cache. */
export async function renderMix(paths: StoragePaths, set: PlayerSet, spec: MixSpec): Promise<{ file: string; cached: boolean }> {
  const target = path.join(cacheDir(paths, set.id), mixCacheName(spec));
  const cached = (await stat(target).catch(() => undefined))?.isFile() ?? false;
  const inputs = spec.stems.map((s) => path.resolve(set.stems.find((x) => x.name === s.name)!.filePath));
  const file = await renderOnce(target, (partial) => mixArgs(spec, inputs, partial));
  return { file, cached };
}
