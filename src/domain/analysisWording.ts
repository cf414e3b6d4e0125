/**
 * One wording of an analysis result for every front end: the bot's analysis
 * DM (messages.ts) and `sfa analyze` / `sfa separate` (src/cli/commands).
 *
 * The engine's result is the truth: the Camelot code, the half/double tempo
 * alternatives (and the window they lie in), the key confidence and the
 * runner-up keys all come from its `features` map (python/sfa_engine/
 * analysis.py); nothing here recomputes them. This module only decides how
 * they read: the brightness words, the energy words, and when the runner-up
 * key is worth mentioning.
 */
import { z } from 'zod';

/** Below this key confidence the runner-up key is shown ("A minor, maybe C major"). */
export const KEY_CONFIDENCE_LOW = 0.25;

/** Spectral centroid (Hz) upper bounds and their words; mixes mostly sit between 1 and 4 kHz. */
export const BRIGHTNESS_WORDS: readonly (readonly [number, string])[] = [
  [1000, 'very dark'],
  [2000, 'warm'],
  [3000, 'balanced'],
  [4000, 'bright'],
  [Number.POSITIVE_INFINITY, 'very bright'],
];

/** Energy (0..1, 1 + dBFS/60) lower bounds and their words. */
export const ENERGY_WORDS: readonly (readonly [number, string])[] = [
  [0.85, 'very high'],
  [0.75, 'high'],
  [0.6, 'moderate'],
  [0.4, 'low'],
  [Number.NEGATIVE_INFINITY, 'very low'],
];

const finite = z.number().finite();
const tempoAlternative = z.object({ bpm: finite, relation: z.string().min(1).max(20) });
const keyAlternative = z.object({ key: z.string().min(1).max(40), score: finite.optional() });

/** What the front ends read from an AnalysisResult row; absent or malformed entries read as unknown. */
export interface AnalysisFacts {
  tempo: number | null;
  tempoAlternatives: { bpm: number; relation: string }[];
  tempoConfidence: number | null;
  key: string | null;
  camelot: string | null;
  keyConfidence: number | null;
  /** Runner-up keys, best first, with the engine's score. */
  keyAlternatives: { key: string; score?: number | undefined }[];
  energy: number | null;
  spectralCentroid: number | null;
}

export interface AnalysisRowLike {
  tempo?: number | null;
  key?: string | null;
  energy?: number | null;
  spectral_centroid?: number | null;
  features?: unknown;
}

function pick<T>(schema: z.ZodType<T>, value: unknown): T | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function pickList<T>(schema: z.ZodType<T>, value: unknown): T[] {
  return Array.isArray(value) ? value.flatMap((item) => { const p = schema.safeParse(item); return p.success ? [p.data] : []; }) : [];
}

/** The facts of a stored AnalysisResult row (columns + the engine's `features` map). */
export function analysisFacts(row: AnalysisRowLike): AnalysisFacts {
  const f = (row.features && typeof row.features === 'object' ? row.features : {}) as Record<string, unknown>;
  return {
    tempo: pick(finite, row.tempo),
    tempoAlternatives: pickList(tempoAlternative, f.tempo_alternatives),
    tempoConfidence: pick(finite, f.tempo_confidence),
    key: pick(z.string().trim().min(1), row.key),
    camelot: pick(z.string().regex(/^(1[0-2]|[1-9])[AB]$/), f.camelot),
    keyConfidence: pick(finite, f.key_confidence),
    keyAlternatives: pickList(keyAlternative, f.key_alternatives),
    energy: pick(finite, row.energy),
    spectralCentroid: pick(finite, row.spectral_centroid),
  };
}

/** 123.456 -> "123.5", 128 -> "128". */
export const round1 = (x: number): string => (Math.round(x * 10) / 10).toString();

/** The tempo and its half/double alternatives as the engine reported them; null tempo: no steady beat. */
export function tempoWords(facts: AnalysisFacts): { bpm: string; alternatives: string } | null {
  if (facts.tempo === null || facts.tempo <= 0) return null;
  const alternatives = facts.tempoAlternatives.map((a) => `${a.relation} ${round1(a.bpm)}`).join(', ');
  return { bpm: `${round1(facts.tempo)} BPM`, alternatives };
}

/** The key, its Camelot code and (when the confidence is low) the runner-up; null: no key. */
export function keyWords(facts: AnalysisFacts): { key: string; camelot: string | null; maybe: string | null } | null {
  if (facts.key === null) return null;
  const lowConfidence = facts.keyConfidence !== null && facts.keyConfidence < KEY_CONFIDENCE_LOW;
  const runnerUp = facts.keyAlternatives[0]?.key;
  return { key: facts.key, camelot: facts.camelot, maybe: lowConfidence && runnerUp ? runnerUp : null };
}

/** Spectral centroid in words (BRIGHTNESS_WORDS); null when not measured. */
export function brightnessWord(centroidHz: number | null): string | null {
  if (centroidHz === null || !Number.isFinite(centroidHz) || centroidHz < 0) return null;
  return (BRIGHTNESS_WORDS.find(([below]) => centroidHz < below) ?? BRIGHTNESS_WORDS[BRIGHTNESS_WORDS.length - 1]!)[1];
}

/** Energy in words (ENERGY_WORDS) and the RMS level it stands for; null when not measured. */
export function energyWords(energy: number | null): { words: string; dbfs: string } | null {
  if (energy === null || !Number.isFinite(energy)) return null;
  const e = Math.max(0, Math.min(1, energy));
  const words = (ENERGY_WORDS.find(([atLeast]) => e >= atLeast) ?? ENERGY_WORDS[ENERGY_WORDS.length - 1]!)[1];
  return { words, dbfs: e === 0 ? '≤ -60' : round1((e - 1) * 60) };
}
