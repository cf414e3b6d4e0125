/**
 * The stem player's downloads, decided without I/O: what a "Download this
 * mix" or "Download all" request asks for (parsed from the query, allowlists
 * only), the cache name of a mix, the ffmpeg arguments that render it, and the
 * per-link rate limit.
 */
import { createHash } from 'node:crypto';

export const MIX_FORMATS = ['wav', 'flac', 'mp3'] as const;
export type MixFormat = (typeof MIX_FORMATS)[number];
export const ZIP_FORMATS = ['stored', 'flac', 'mp3'] as const;
export type ZipFormat = (typeof ZIP_FORMATS)[number];

/** Highest per-stem volume the page offers (+6 dB). */
export const MAX_VOLUME = 2;

export interface MixStem {
  name: string;
  /** Linear gain, 0..MAX_VOLUME; 0 = muted. */
  volume: number;
}

export interface MixSpec {
  format: MixFormat;
  /** Every stem of the set, in the set's order. */
  stems: MixStem[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const VOLUME = /^(?:0|[0-9](?:\.[0-9]{1,4})?)$/;

/**
 * `format=mp3&v=vocals:0,drums:1,bass:0.5` -> a spec over `stemNames`. A stem
 * not named keeps volume 1; an unknown stem, a bad number or everything muted
 * is refused.
 */
export function parseMixQuery(query: URLSearchParams, stemNames: readonly string[]): Parsed<MixSpec> {
  const format = query.get('format') ?? 'wav';
  if (!(MIX_FORMATS as readonly string[]).includes(format)) return { ok: false, error: `format must be one of ${MIX_FORMATS.join(', ')}` };
  const volumes = new Map(stemNames.map((n) => [n, 1]));
  const v = query.get('v') ?? '';
  for (const part of v ? v.split(',') : []) {
    const [name = '', value = ''] = part.split(':');
    if (!volumes.has(name)) return { ok: false, error: `unknown stem "${name.slice(0, 32)}"` };
    if (!VOLUME.test(value) || Number(value) > MAX_VOLUME) return { ok: false, error: `volume of ${name} must be a number from 0 to ${MAX_VOLUME}` };
    volumes.set(name, Number(value));
  }
  const stems = stemNames.map((name) => ({ name, volume: volumes.get(name)! }));
  if (!stems.some((s) => s.volume > 0)) return { ok: false, error: 'every stem is muted: nothing to mix' };
  return { ok: true, value: { format: format as MixFormat, stems } };
}

export function parseZipFormat(query: URLSearchParams): Parsed<ZipFormat> {
  const format = query.get('format') ?? 'stored';
  return (ZIP_FORMATS as readonly string[]).includes(format) ? { ok: true, value: format as ZipFormat } : { ok: false, error: `format must be one of ${ZIP_FORMATS.join(', ')}` };
}

/** Same stems at the same volumes in the same format -> the same name, so a repeated mix is served from the cache. */
export function mixCacheName(spec: MixSpec): string {
  const canonical = spec.stems.map((s) => `${s.name}=${s.volume}`).join(';');
  return `mix-${createHash('sha256').update(`${spec.format}|${canonical}`).digest('hex').slice(0, 24)}.${spec.format}`;
}

export const CODEC_ARGS: Record<MixFormat, string[]> = {
  wav: ['-c:a', 'pcm_s16le'],
  flac: ['-c:a', 'flac'],
  mp3: ['-c:a', 'libmp3lame', '-b:a', '320k'],
};

/**
 * ffmpeg argv that sums the audible stems at their volumes (no
 * normalisation: the mix of all stems at 1 is the original song) into `out`.
 * `inputs` are the stem files in spec order.
 */
export function mixArgs(spec: MixSpec, inputs: readonly string[], out: string): string[] {
  const audible = spec.stems.map((s, i) => ({ ...s, input: inputs[i]! })).filter((s) => s.volume > 0);
  const args = ['-y'];
  for (const s of audible) args.push('-i', s.input);
  const chains = audible.map((s, i) => `[${i}:a]volume=${s.volume}[a${i}]`);
  const sum = audible.length === 1 ? `[a0]anull[out]` : `${audible.map((_, i) => `[a${i}]`).join('')}amix=inputs=${audible.length}:duration=longest:normalize=0[out]`;
  args.push('-filter_complex', [...chains, sum].join(';'), '-map', '[out]', ...CODEC_ARGS[spec.format], '-f', spec.format, out);
  return args;
}

/**
 * Sliding-window limit: at most `max` requests in `windowMs`. Given the
 * times of earlier requests, says whether one at `nowMs` may go ahead and
 * what the kept history is; when refused, how long to wait.
 */
export function rateDecision(history: readonly number[], nowMs: number, max: number, windowMs: number): { allowed: boolean; history: number[]; retryAfterSeconds: number } {
  const recent = history.filter((t) => nowMs - t < windowMs);
  if (recent.length < max) return { allowed: true, history: [...recent, nowMs], retryAfterSeconds: 0 };
  const oldest = Math.min(...recent);
  return { allowed: false, history: recent, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000)) };
}

/**
 * Waveform peaks of mono 16-bit samples: `buckets` pairs of (min, max) in
 * -1..1, rounded to 3 decimals so the JSON stays small.
 */
export function computePeaks(samples: Int16Array, buckets: number): number[] {
  const out: number[] = [];
  const n = samples.length;
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.max(start + 1, Math.floor(((b + 1) * n) / buckets));
    let min = 0;
    let max = 0;
    for (let i = start; i < end && i < n; i++) {
      const v = samples[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    out.push(Math.round((min / 32768) * 1000) / 1000, Math.round((max / 32767) * 1000) / 1000);
  }
  return out;
}
