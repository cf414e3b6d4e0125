/**
 * Stem sets for the player tests: rows in the per-run database and short WAV
 * stems whose content is known exactly (a sine per stem at its own frequency
 * and level), so what the page plays and what the server renders can be
 * measured against them.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { pcm16StereoWav } from '../engine/helpers.ts';
import { insertAnalysisResult, insertJob, insertStem, insertTrack } from '../support/db.ts';

export const RATE = 44100;

export interface ToneStem {
  name: string;
  frequency: number;
  /** Peak level, 0..1 (negative: the same sine upside down). */
  amplitude: number;
  /** Instead of the steady sine: the sample at t seconds. */
  sampleAt?: (t: number) => number;
}

export interface ToneSet {
  trackId: string;
  setId: string;
  stems: { id: string; name: string; filePath: string; frequency: number; amplitude: number }[];
}

export async function makeToneSet(em: EntityManager, dataDir: string, options: { title: string; seconds: number; stems: readonly ToneStem[]; artist?: string; artUrl?: string }): Promise<ToneSet> {
  const paths = new StoragePaths(dataDir);
  const trackId = await insertTrack(em, { title: options.title, artist: options.artist ?? 'Test Artist', duration: Math.round(options.seconds), ...(options.artUrl ? { album_art_url: options.artUrl } : {}) });
  const setId = await insertJob(em, 'processing', trackId, { status: 'completed', progress: 100, model: 'htdemucs' });
  const analysisId = await insertJob(em, 'analysis', trackId, { status: 'completed', progress: 100 });
  await insertAnalysisResult(em, analysisId, trackId, { tempo: 128, key: 'A minor', features: { camelot: '8A' } });
  const stems: ToneSet['stems'] = [];
  for (const s of options.stems) {
    const file = paths.stemFile(trackId, setId, s.name, 'wav');
    await mkdir(path.dirname(file), { recursive: true });
    const wav = pcm16StereoWav(Math.round(options.seconds * RATE), RATE, (i) => {
      const v = s.sampleAt ? s.sampleAt(i / RATE) : s.amplitude * Math.sin((2 * Math.PI * s.frequency * i) / RATE);
      return [v, v];
    });
    await writeFile(file, wav);
    const id = await insertStem(em, setId, trackId, { stem_type: s.name, file_path: file });
    stems.push({ id, name: s.name, filePath: file, frequency: s.frequency, amplitude: s.amplitude });
  }
  return { trackId, setId, stems };
}

/** RMS of 16-bit little-endian samples. */
export function rms(pcm: Buffer): number {
  let sum = 0;
  const n = Math.floor(pcm.length / 2);
  for (let i = 0; i < n; i++) {
    const v = pcm.readInt16LE(i * 2) / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / Math.max(1, n));
}

/** Amplitude of one frequency in 16-bit mono samples (a single DFT bin, Goertzel-style). */
export function toneLevel(pcm: Buffer, rate: number, frequency: number): number {
  const n = Math.floor(pcm.length / 2);
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const v = pcm.readInt16LE(i * 2) / 32768;
    const phase = (2 * Math.PI * frequency * i) / rate;
    re += v * Math.cos(phase);
    im -= v * Math.sin(phase);
  }
  return (2 * Math.hypot(re, im)) / n;
}
