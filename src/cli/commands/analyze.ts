/**
 * `sfa analyze <file|url|spotify link> [--features tempo,key,...|all] [--json] [--png PATH] [--no-worker]`
 *
 * Tempo, key, energy and timbre through the pipeline: requestAnalysis (a
 * download and an analysis row; no separation), workers in this process
 * unless --no-worker, live progress on stderr, then the AnalysisResult row.
 * `--json` prints one object: the AnalysisResult columns (`tempo`, `key`,
 * `energy`, `spectral_centroid`, `spectral_rolloff`, `zero_crossing_rate`) and
 * `features`. The analysis always measures everything (a stored result serves
 * every later request); --features picks what the summary shows and is
 * recorded as `features.requested`.
 *
 * Exit status: 0 ok, 1 the work failed (the row's reason is printed), 2 usage,
 * configuration or a file that does not exist, 130 interrupted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfigOrReport, type Config } from '../../config.ts';
import type { SpotifyRecordRef } from '../../domain/spotifyInput.ts';
import { parseRecordChoice } from '../recordInput.ts';
import type { RecordChoice } from '../recordRun.ts';
import { failedStages } from '../../domain/cliProgress.ts';
import { analysisFacts, brightnessWord, keyWords, tempoWords, type AnalysisFacts } from '../../domain/analysisWording.ts';
import { InputError, parsePipelineInput } from '../../jobs/pipeline/input.ts';
import type { AnalysisTicket } from '../../jobs/pipeline/requestAnalysis.ts';
import type { FollowedRow, FollowOutcome } from '../follow.ts';
import { localInputProblem } from '../localInput.ts';
import { copyOut, OutputError } from '../output.ts';
import type { Session } from '../session.ts';
import { parseCommandLine } from '../args.ts';
import { usageExit, type ParseOutcome } from '../usage.ts';

const VALID_FEATURES = ['tempo', 'key', 'energy', 'spectral', 'mfcc', 'chroma', 'all'] as const;
const ALL_FEATURES = VALID_FEATURES.filter((f) => f !== 'all');

const USAGE = `usage: sfa analyze <file|url|spotify link> [--features tempo,key,energy,spectral,mfcc,chroma|all] [--json] [--png PATH] [--no-worker]
       sfa analyze <spotify album|playlist link> [--limit N] [--tracks 1,3,5-7] [--features ...] [--json] [--no-worker]

Measures tempo (BPM with half/double alternatives), key (with Camelot code),
energy and brightness of a track, through the pipeline (stored results are reused).
An album or playlist (needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET) is
analysed track by track; --json prints one object with every track's result.
  --limit N        at most N tracks (default SFA_MAX_BATCH_TRACKS, 10)
  --tracks L       only these tracks, numbered as in Spotify: 1,3,5-7
  --features LIST  what the summary shows (default all; everything is measured)
  --json           print one JSON object (AnalysisResult columns + features)
  --png PATH       also copy the overview picture (waveform, beats, chroma) to PATH
  --no-worker      only queue the request and follow it; worker processes
                   (\`npm start -- --role worker\`) on the same database do the work
`;

export type AnalyzeOptions = {
  file: string;
  features: string[];
  json: boolean;
  png?: string | undefined;
  noWorker?: true;
  /** Set for an album or playlist link (then `choice` narrows it). */
  record?: SpotifyRecordRef;
  choice?: RecordChoice;
};

/** The analysis result as printed: the AnalysisResult columns and `features`. */
export type AnalysisResult = {
  tempo: number | null;
  key: string | null;
  energy: number | null;
  spectral_centroid: number | null;
  spectral_rolloff: number | null;
  zero_crossing_rate: number | null;
  features: Record<string, unknown>;
};

/** The AnalysisResult columns without `features` (what `sfa separate` shows). */
export type AnalysisColumns = Omit<AnalysisResult, 'features'>;

/** An analysis job's AnalysisResult row (`features` only when asked for); undefined when it has none. */
export function readAnalysisResult(em: EntityManager, analysisJobId: string, withFeatures: true): Promise<AnalysisResult | undefined>;
export function readAnalysisResult(em: EntityManager, analysisJobId: string, withFeatures: false): Promise<AnalysisColumns | undefined>;
export async function readAnalysisResult(em: EntityManager, analysisJobId: string, withFeatures: boolean): Promise<AnalysisColumns | undefined> {
  const rows = await em.execute<AnalysisColumns[]>(
    `select tempo, key, energy, spectral_centroid, spectral_rolloff, zero_crossing_rate${withFeatures ? ', features' : ''}
       from analysis_results where analysis_job_id = ?`,
    [analysisJobId],
  );
  return rows[0];
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed.ok !== true) return usageExit('sfa analyze', parsed, USAGE);
  const { options } = parsed;
  if (options.record) {
    const config = loadConfigOrReport();
    return config ? runRecordAnalysis(options, options.record, config) : 2;
  }
  let input;
  try {
    input = parsePipelineInput(options.file);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    process.stderr.write(`sfa analyze: ${error.userMessage}\n`);
    return 2;
  }
  const problem = input.kind === 'file' ? localInputProblem(input.path, options.file) : undefined;
  if (problem) {
    process.stderr.write(`sfa analyze: ${problem}\n`);
    return 2;
  }
  const config = loadConfigOrReport();
  if (!config) return 2;
  const { runPipeline } = await import('../pipelineRun.ts');
  return runPipeline<AnalysisTicket>({
    command: 'sfa analyze',
    config,
    inProcessWorkers: !options.noWorker,
    json: options.json,
    request: async (session) => {
      const { requestAnalysis } = await import('../../jobs/pipeline/requestAnalysis.ts');
      return requestAnalysis(session.pipeline, { input: options.file, allowPrivateHosts: true });
    },
    rowsOf: analysisRows,
    finish: (session, ticket, outcome) => finish(session, ticket, outcome, options),
  });
}

export function parseArgs(args: string[]): ParseOutcome<AnalyzeOptions> {
  const parsed = parseCommandLine(
    args,
    { features: { type: 'string' }, json: { type: 'boolean' }, png: { type: 'string' }, 'no-worker': { type: 'boolean' }, limit: { type: 'string' }, tracks: { type: 'string' } },
    { min: 1, max: 1, name: '<file>' },
  );
  if (parsed.ok !== true) return parsed;
  const { values, positionals } = parsed.options;
  const batch = parseRecordChoice(positionals[0]!, values);
  if (!batch.ok) return batch;
  if (batch.record && values.png !== undefined) return { ok: false, message: '--png is for a single track, not an album or playlist' };
  let features = ['all'];
  if (values.features !== undefined) {
    features = values.features.split(',').map((f) => f.trim()).filter(Boolean);
    const unknown = features.filter((f) => !(VALID_FEATURES as readonly string[]).includes(f));
    if (unknown.length > 0 || features.length === 0) {
      return { ok: false, message: `unknown feature(s) ${unknown.map((f) => `'${f}'`).join(', ') || '(none given)'}; valid: ${VALID_FEATURES.join(', ')}` };
    }
  }
  if (values.png === '') return { ok: false, message: '--png needs a path' };
  const noWorker = values['no-worker'] ?? false;
  const record = batch.record ? { record: batch.record, choice: batch.choice } : {};
  return { ok: true, options: { file: positionals[0]!, features, json: values.json ?? false, png: values.png, ...(noWorker ? { noWorker: true as const } : {}), ...record } };
}

function analysisRows(t: AnalysisTicket): FollowedRow[] {
  return [
    { stage: 'download', kind: 'download', id: t.downloadJobId, reused: t.reused.download },
    { stage: 'analyze', kind: 'analysis', id: t.analysisJobId, reused: t.reused.analysis },
  ];
}

/** An album or playlist: each track analysed in turn, one summary (or one JSON object) for all. */
function runRecordAnalysis(options: AnalyzeOptions, record: SpotifyRecordRef, config: Config): Promise<number> {
  return import('../recordRun.ts').then(({ runRecord, recordSettings }) =>
    runRecord<AnalysisTicket>({
      ...recordSettings('sfa analyze', config, { ...options, record }),
      request: async (session, trackUrl) => {
        const { requestAnalysis } = await import('../../jobs/pipeline/requestAnalysis.ts');
        return requestAnalysis(session.pipeline, { input: trackUrl, allowPrivateHosts: true });
      },
      rowsOf: analysisRows,
      collect: async (session, ticket, outcome, track) => {
        const { problems, result } = await collectAnalysis(session, ticket, outcome, options);
        const fromStorage = Boolean(outcome.stages.download?.stored && outcome.stages.analyze?.stored);
        return {
          ok: problems.length === 0,
          json: { title: track.title, trackId: ticket.trackId, analysis: result, fromStorage },
          lines: result ? formatSummary(track.title, result).trimEnd().split('\n') : [track.title],
          problems,
        };
      },
    }),
  );
}

/** A settled analysis: why it failed (one line each), or its result with the features the command asked for. */
async function collectAnalysis(
  session: Session,
  ticket: AnalysisTicket,
  outcome: FollowOutcome,
  options: AnalyzeOptions,
): Promise<{ problems: string[]; result: AnalysisResult | null }> {
  const problems = failedStages(outcome.stages).map((f) => `${f.stage} failed: ${f.reason}`);
  if (problems.length) return { problems, result: null };
  const row = await readAnalysisResult(session.orm.em.fork(), outcome.ids.analyze ?? ticket.analysisJobId, true);
  if (!row) return { problems: ['the analysis completed but its result is gone (removed meanwhile?); run the command again'], result: null };
  const requested = options.features.includes('all') ? [...ALL_FEATURES] : options.features;
  return { problems, result: { ...row, features: { ...(row.features ?? {}), requested } } };
}

async function finish(session: Session, ticket: AnalysisTicket, outcome: FollowOutcome, options: AnalyzeOptions): Promise<number> {
  const { problems, result } = await collectAnalysis(session, ticket, outcome, options);
  if (!result) {
    for (const p of problems) process.stderr.write(`sfa analyze: ${p}\n`);
    return 1;
  }
  const features = result.features;
  if (options.png) {
    const stored = typeof features.overview_png === 'string' ? features.overview_png : undefined;
    const destination = path.resolve(options.png);
    try {
      if (!stored || !existsSync(stored)) throw new OutputError('the stored overview picture is gone; run the command again');
      await copyOut(stored, destination);
    } catch (error) {
      if (!(error instanceof OutputError)) throw error;
      process.stderr.write(`sfa analyze: ${error.message}\n`);
      return 1;
    }
    features.overview_png = destination;
  }
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatSummary(options.file, result));
  return 0;
}

/** The human summary: one line per measured quantity. */
export function formatSummary(file: string, r: AnalysisResult): string {
  const f = r.features;
  const facts = analysisFacts(r);
  const lines = [`${path.basename(file)} (${formatDuration(Number(f.duration ?? 0))})`];
  const requested = new Set((f.requested as string[] | undefined) ?? []);
  if (requested.has('tempo')) lines.push(`  tempo       ${formatTempo(facts)}`);
  if (requested.has('key')) lines.push(`  key         ${formatKey(facts)}`);
  if (requested.has('energy') && r.energy !== null) {
    const dbfs = typeof f.rms_dbfs === 'number' ? ` (RMS ${f.rms_dbfs.toFixed(1)} dBFS)` : '';
    lines.push(`  energy      ${r.energy.toFixed(2)} of 1${dbfs}`);
    if (r.zero_crossing_rate !== null) lines.push(`  zero-cross  ${r.zero_crossing_rate.toFixed(3)} (higher: noisier, more percussive)`);
  }
  if (requested.has('spectral') && r.spectral_centroid !== null) {
    lines.push(`  brightness  ${brightnessWord(r.spectral_centroid)}: centroid ${Math.round(r.spectral_centroid)} Hz, rolloff ${Math.round(r.spectral_rolloff ?? 0)} Hz`);
  }
  if (requested.has('mfcc')) lines.push('  mfcc        13 coefficients (mean/std) in --json');
  if (requested.has('chroma')) lines.push(`  chroma      ${formatChroma(f.chroma)}`);
  if (typeof f.overview_png === 'string') lines.push(`  picture     ${f.overview_png}`);
  return `${lines.join('\n')}\n`;
}

function formatTempo(facts: AnalysisFacts): string {
  const words = tempoWords(facts);
  if (!words) return 'no steady beat found';
  const confidence = facts.tempoConfidence !== null ? `confidence ${facts.tempoConfidence.toFixed(2)}` : '';
  const extra = [words.alternatives, confidence].filter(Boolean).join('; ');
  return `${words.bpm}${extra ? ` (${extra})` : ''}`;
}

/** "A minor (Camelot 8A; confidence 0.12), maybe C major". */
export function formatKey(facts: AnalysisFacts): string {
  const words = keyWords(facts);
  if (!words) return 'no clear key';
  const details = [words.camelot ? `Camelot ${words.camelot}` : '', facts.keyConfidence !== null ? `confidence ${facts.keyConfidence.toFixed(2)}` : '']
    .filter(Boolean)
    .join('; ');
  return `${words.key}${details ? ` (${details})` : ''}${words.maybe ? `, maybe ${words.maybe}` : ''}`;
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

function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}
