/**
 * `sfa analyze <file> [--features tempo,key,...|all] [--json] [--png PATH]`
 *
 * Measures tempo, key, energy and timbre of an audio file with the Python
 * analyzer (`python -m sfa_engine.analyze_cli`, one JSON object on stdout).
 * `--json` prints that object unchanged: the AnalysisResult columns (`tempo`,
 * `key`, `energy`, `spectral_centroid`, `spectral_rolloff`,
 * `zero_crossing_rate`) and `features`. Without it, a short summary for people.
 *
 * Exit status: 0 ok, 1 analysis failed, 2 usage or bad input.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { camelotForKeyName } from '../../domain/keys.ts';

const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const VALID_FEATURES = ['tempo', 'key', 'energy', 'spectral', 'mfcc', 'chroma', 'all'] as const;

const USAGE = `usage: sfa analyze <file> [--features tempo,key,energy,spectral,mfcc,chroma|all] [--json] [--png PATH]

Measures tempo (BPM with half/double alternatives), key (with Camelot code),
energy and brightness of an audio file.
  --features LIST  comma-separated features to compute (default all)
  --json           print one JSON object (AnalysisResult columns + features)
  --png PATH       also write an overview picture (waveform, beats, chroma)
  SFA_PYTHON       Python with the engine's packages (default python/.venv/bin/python)
`;

export type AnalyzeOptions = { file: string; features: string[]; json: boolean; png?: string };

/** Analysis result as printed by the Python side; only the fields the summary reads are typed. */
export type AnalysisResult = {
  tempo: number | null;
  key: string | null;
  energy: number | null;
  spectral_centroid: number | null;
  spectral_rolloff: number | null;
  zero_crossing_rate: number | null;
  features: Record<string, unknown>;
};

type ParseOutcome = { ok: true; options: AnalyzeOptions } | { ok: false; message: string } | { ok: 'help' };

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed.ok === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!parsed.ok) {
    process.stderr.write(`sfa analyze: ${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  const { options } = parsed;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.file)) {
    process.stderr.write('sfa analyze: URLs are not supported yet; download the audio and pass the file\n');
    return 2;
  }
  if (!existsSync(options.file)) {
    process.stderr.write(`sfa analyze: no such file: ${options.file}\n`);
    return 2;
  }

  const outcome = await runAnalyzer(options);
  if ('error' in outcome) {
    process.stderr.write(`sfa analyze: ${outcome.error.message}\n`);
    return outcome.error.code === 'bad_input' ? 2 : 1;
  }
  process.stdout.write(options.json ? `${JSON.stringify(outcome.result)}\n` : formatSummary(options.file, outcome.result));
  return 0;
}

export function parseArgs(args: string[]): ParseOutcome {
  let file: string | undefined;
  let features = ['all'];
  let json = false;
  let png: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '--help' || flag === '-h') return { ok: 'help' };
    if (flag === '--json') json = true;
    else if (flag === '--features') {
      const list = value();
      if (!list) return { ok: false, message: '--features needs a value' };
      features = list.split(',').map((f) => f.trim()).filter(Boolean);
      const unknown = features.filter((f) => !(VALID_FEATURES as readonly string[]).includes(f));
      if (unknown.length > 0 || features.length === 0) {
        return { ok: false, message: `unknown feature(s) ${unknown.map((f) => `'${f}'`).join(', ') || '(none given)'}; valid: ${VALID_FEATURES.join(', ')}` };
      }
    } else if (flag === '--png') {
      png = value();
      if (!png) return { ok: false, message: '--png needs a path' };
    } else if (arg.startsWith('-') && arg !== '-') return { ok: false, message: `unknown option '${arg}'` };
    else if (file === undefined) file = arg;
    else return { ok: false, message: `unexpected argument '${arg}'` };
  }
  if (file === undefined) return { ok: false, message: 'missing <file>' };
  return { ok: true, options: { file, features, json, png } };
}

type AnalyzerOutcome = { result: AnalysisResult } | { error: { code: string; message: string } };

/** Runs `python -m sfa_engine.analyze_cli` and parses its one JSON object. */
async function runAnalyzer(options: AnalyzeOptions): Promise<AnalyzerOutcome> {
  const python = process.env.SFA_PYTHON ?? path.join(REPO_ROOT, 'python', '.venv', 'bin', 'python');
  const argv = ['-m', 'sfa_engine.analyze_cli', path.resolve(options.file), '--features', options.features.join(',')];
  if (options.png) argv.push('--png', path.resolve(options.png));
  const child = await execa(python, argv, {
    cwd: path.join(REPO_ROOT, 'python'),
    // The same compiled-kernel cache `npm run setup` warms (saves ~25 s per run).
    env: { NUMBA_CACHE_DIR: process.env.NUMBA_CACHE_DIR ?? path.join(REPO_ROOT, '.cache', 'numba') },
    stdin: 'ignore',
    reject: false,
  });
  if (child.failed && child.exitCode === undefined) {
    return { error: { code: 'internal', message: `cannot run ${python}: ${child.shortMessage}` } };
  }
  const line = String(child.stdout).trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    const tail = String(child.stderr).trim().split('\n').slice(-5).join('\n');
    return { error: { code: 'internal', message: `the analyzer exited with ${child.exitCode} and no result${tail ? `:\n${tail}` : ''}` } };
  }
  if (isErrorObject(parsed)) return { error: parsed.error };
  return { result: parsed as AnalysisResult };
}

function isErrorObject(value: unknown): value is { error: { code: string; message: string } } {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/** The human summary: one line per measured quantity. */
export function formatSummary(file: string, r: AnalysisResult): string {
  const f = r.features;
  const lines = [`${path.basename(file)} (${formatDuration(Number(f.duration ?? 0))})`];
  const requested = new Set((f.requested as string[] | undefined) ?? []);
  if (requested.has('tempo')) lines.push(`  tempo       ${formatTempo(r, f)}`);
  if (requested.has('key')) lines.push(`  key         ${formatKey(r, f)}`);
  if (requested.has('energy') && r.energy !== null) {
    const dbfs = typeof f.rms_dbfs === 'number' ? ` (RMS ${f.rms_dbfs.toFixed(1)} dBFS)` : '';
    lines.push(`  energy      ${r.energy.toFixed(2)} of 1${dbfs}`);
    if (r.zero_crossing_rate !== null) lines.push(`  zero-cross  ${r.zero_crossing_rate.toFixed(3)} (higher: noisier, more percussive)`);
  }
  if (requested.has('spectral') && r.spectral_centroid !== null) {
    lines.push(`  brightness  ${describeBrightness(r.spectral_centroid)}: centroid ${Math.round(r.spectral_centroid)} Hz, rolloff ${Math.round(r.spectral_rolloff ?? 0)} Hz`);
  }
  if (requested.has('mfcc')) lines.push('  mfcc        13 coefficients (mean/std) in --json');
  if (requested.has('chroma')) lines.push(`  chroma      ${formatChroma(f.chroma)}`);
  if (typeof f.overview_png === 'string') lines.push(`  picture     ${f.overview_png}`);
  return `${lines.join('\n')}\n`;
}

function formatTempo(r: AnalysisResult, f: Record<string, unknown>): string {
  if (r.tempo === null) return 'no steady beat found';
  const alternatives = ((f.tempo_alternatives as { bpm: number; relation: string }[] | undefined) ?? [])
    .map((a) => `${a.relation} ${a.bpm.toFixed(1)}`)
    .join(', ');
  const confidence = typeof f.tempo_confidence === 'number' ? `confidence ${f.tempo_confidence.toFixed(2)}` : '';
  const extra = [alternatives, confidence].filter(Boolean).join('; ');
  return `${r.tempo.toFixed(1)} BPM${extra ? ` (${extra})` : ''}`;
}

function formatKey(r: AnalysisResult, f: Record<string, unknown>): string {
  if (r.key === null) return 'no clear key';
  const camelot = (f.camelot as string | undefined) ?? camelotForKeyName(r.key);
  const confidence = typeof f.key_confidence === 'number' ? f.key_confidence : undefined;
  const next = (f.key_alternatives as { key: string }[] | undefined)?.[0]?.key;
  const hedge = confidence !== undefined && confidence < 0.05 && next ? `; close to ${next}` : '';
  return `${r.key} (Camelot ${camelot}${confidence !== undefined ? `; confidence ${confidence.toFixed(2)}` : ''}${hedge})`;
}

function formatChroma(chroma: unknown): string {
  const c = chroma as { pitch_classes?: string[]; mean?: number[] } | undefined;
  if (!c?.mean || !c.pitch_classes) return 'see --json';
  const top = c.mean
    .map((value, i) => ({ value, name: c.pitch_classes?.[i] ?? '?' }))
    .sort((a, b) => b.value - a.value)
    .slice(0, 3)
    .map((p) => p.name);
  return `strongest pitch classes ${top.join(', ')}`;
}

/** Rough words for a spectral centroid (mixes mostly sit between 1 and 4 kHz). */
function describeBrightness(centroidHz: number): string {
  if (centroidHz < 1200) return 'dark';
  if (centroidHz < 2500) return 'warm';
  if (centroidHz < 4000) return 'bright';
  return 'very bright';
}

function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}
