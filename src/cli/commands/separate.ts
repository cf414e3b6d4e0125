/**
 * `sfa separate <file|url|spotify link> [--model M] [--out DIR] [--format wav|flac|mp3] [--json] [--no-worker]`
 *
 * The bot's pipeline without Discord: requestSeparation (download -> separate
 * -> analyze rows and pg-boss jobs), workers in this process unless
 * --no-worker, live progress from the rows, then the stems are copied from
 * storage into --out. A repeated request is served from storage.
 * Exit codes: 0 ok, 1 the work failed (the row's reason is printed),
 * 2 usage or configuration (nothing written), 130 interrupted.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfigOrReport, type Config } from '../../config.ts';
import type { AudioFormat } from '../../db/entities/index.ts';
import { DEFAULT_STEM_FORMAT, isStemFormat, STEM_FORMATS } from '../../domain/audioFormats.ts';
import { failedStages, type StageStates } from '../../domain/cliProgress.ts';
import { DEFAULT_MODEL, getModel, inCatalogOrder, unknownModelMessage } from '../../domain/modelCatalog.ts';
import { defaultRecordFolder, defaultStemsFolder, recordTrackFolder } from '../../domain/outputNames.ts';
import type { SpotifyRecordRef } from '../../domain/spotifyInput.ts';
import { parseRecordChoice } from '../recordInput.ts';
import type { RecordChoice } from '../recordRun.ts';
import { InputError, parsePipelineInput } from '../../jobs/pipeline/input.ts';
import { engineOfJob } from '../../jobs/pipeline/separationEngine.ts';
import { localInputProblem } from '../localInput.ts';
import type { SeparationTicket } from '../../jobs/pipeline/requestSeparation.ts';
import type { FollowedRow, FollowOutcome } from '../follow.ts';
import { copyStems, OutputError } from '../output.ts';
import type { Session } from '../session.ts';
import { parseCommandLine } from '../args.ts';
import { usageExit, type ParseOutcome } from '../usage.ts';
import { formatKey, readAnalysisResult, type AnalysisColumns, type AnalysisResult } from './analyze.ts';
import { analysisFacts, tempoWords, type AnalysisFacts } from '../../domain/analysisWording.ts';

export const USAGE = `usage: sfa separate <file|url|spotify link> [--model M] [--out DIR] [--format wav|flac|mp3] [--json] [--no-worker]
       sfa separate <spotify album|playlist link> [--limit N] [--tracks 1,3,5-7] [same options]

Splits a track into stems through the pipeline (download -> separate -> analyze),
reusing stored results. Stems are copied to --out (default: a folder in the
current directory named <title>-<track id>-<model>).
An album or playlist (needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET) runs its
tracks one after another, each into its own folder \`NN - <title>\` inside --out
(default <name>-<spotify id>-<model>); local files, podcast episodes and
unavailable tracks are skipped with the reason.
  --limit N     at most N tracks (default SFA_MAX_BATCH_TRACKS, 10)
  --tracks L    only these tracks, numbered as in Spotify: 1,3,5-7
  --model M     Demucs model (default ${DEFAULT_MODEL}; \`sfa models list\`)
  --out DIR     where the stem files go
  --format F    wav (default), flac or mp3
  --json        print one JSON object at the end (nothing else on stdout)
  --no-worker   only queue the request and follow it; worker processes
                (\`npm start -- --role worker\`) on the same database do the work
`;

export interface SeparateOptions {
  input: string;
  /** Set for an album or playlist link. */
  record?: SpotifyRecordRef;
  /** --limit and --tracks (only with `record`). */
  choice?: RecordChoice;
  model: string;
  format: AudioFormat;
  out?: string;
  json: boolean;
  noWorker: boolean;
}

/** Argument checks only (no I/O besides looking at --out): usage problems never write anything. */
export function parseSeparateArgs(args: string[]): ParseOutcome<SeparateOptions> {
  const parsed = parseCommandLine(
    args,
    {
      model: { type: 'string', short: 'm' },
      out: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
      json: { type: 'boolean' },
      'no-worker': { type: 'boolean' },
      limit: { type: 'string' },
      tracks: { type: 'string' },
    },
    { min: 1, max: 1, name: '<file|url>' },
  );
  if (parsed.ok !== true) return parsed;
  const batch = parseRecordChoice(parsed.options.positionals[0]!, parsed.options.values);
  if (!batch.ok) return batch;
  const { values, positionals } = parsed.options;
  const model = values.model ?? DEFAULT_MODEL;
  if (!getModel(model)) return { ok: false, message: unknownModelMessage(model) };
  const format = values.format ?? DEFAULT_STEM_FORMAT;
  if (!isStemFormat(format)) return { ok: false, message: `--format must be one of ${STEM_FORMATS.join(', ')} (got "${format.slice(0, 20)}")` };
  if (values.out !== undefined && (values.out === '' || (existsSync(values.out) && !statSync(values.out).isDirectory()))) {
    return { ok: false, message: `--out ${values.out === '' ? 'needs a directory' : `${values.out} exists and is not a directory`}` };
  }
  const input = positionals[0]!;
  try {
    if (!batch.record) parsePipelineInput(input);
  } catch (error) {
    if (error instanceof InputError) return { ok: false, message: error.userMessage };
    throw error;
  }
  return {
    ok: true,
    options: { input, ...(batch.record ? { record: batch.record, choice: batch.choice } : {}), model, format: format as AudioFormat, ...(values.out !== undefined ? { out: values.out } : {}), json: values.json ?? false, noWorker: values['no-worker'] ?? false },
  };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseSeparateArgs(args);
  if (parsed.ok !== true) return usageExit('sfa separate', parsed, USAGE);
  const config = loadConfigOrReport();
  if (!config) return 2;
  const options = parsed.options;
  if (options.record) return runRecordSeparation(options, options.record, config);
  const input = parsePipelineInput(options.input);
  // A missing file is the workers' to report (with --no-worker they may see another filesystem).
  const problem = input.kind === 'file' ? localInputProblem(input.path, options.input, { missingOk: true }) : undefined;
  if (problem) {
    process.stderr.write(`sfa separate: ${problem}\n`);
    return 2;
  }
  const { runPipeline } = await import('../pipelineRun.ts');
  return runPipeline<SeparationTicket>({
    command: 'sfa separate',
    config,
    inProcessWorkers: !options.noWorker,
    json: options.json,
    request: async (session) => {
      const { requestSeparation } = await import('../../jobs/pipeline/requestSeparation.ts');
      return requestSeparation(session.pipeline, { input: options.input, model: options.model, format: options.format, requester: 'cli', allowPrivateHosts: true });
    },
    rowsOf: separationRows,
    finish: (session, ticket, outcome) => finish(session, ticket, outcome, options, config),
  });
}

/** An album or playlist: each track a separation into `<out>/NN - <title>`. */
async function runRecordSeparation(options: SeparateOptions, record: SpotifyRecordRef, config: Config): Promise<number> {
  const { runRecord, recordSettings } = await import('../recordRun.ts');
  let root: string | undefined;
  return runRecord<SeparationTicket>({
    ...recordSettings('sfa separate', config, { ...options, record }),
    request: async (session, trackUrl) => {
      const { requestSeparation } = await import('../../jobs/pipeline/requestSeparation.ts');
      return requestSeparation(session.pipeline, { input: trackUrl, model: options.model, format: options.format, requester: 'cli', allowPrivateHosts: true });
    },
    rowsOf: separationRows,
    collect: async (session, ticket, outcome, track, metadata) => {
      root ??= path.resolve(options.out ?? defaultRecordFolder(metadata.name, metadata.kind, metadata.spotifyId, options.model));
      const folder = path.join(root, recordTrackFolder(track.position, track.title, metadata.tracks.length));
      const result = await collectSeparation(session, ticket, outcome, { model: options.model, format: options.format, outDirFor: () => folder }, config);
      return { ok: result.problems.length === 0, json: separationJson(result), lines: separationLines(result), problems: result.problems };
    },
  });
}

/** The rows a separation request is followed by (also the pipeline benchmark's). */
export function separationRows(t: SeparationTicket): FollowedRow[] {
  return [
    { stage: 'download', kind: 'download', id: t.downloadJobId, reused: t.reused.download },
    { stage: 'separate', kind: 'processing', id: t.processingJobId, reused: t.reused.processing },
    { stage: 'analyze', kind: 'analysis', id: t.analysisJobId, reused: t.reused.analysis },
  ];
}

/** One separation's result, as `--json` prints it (plus the analysis facts for the summary line and the failures). */
export interface SeparationResult {
  trackId: string;
  title: string;
  model: string;
  format: AudioFormat;
  outDir: string | undefined;
  stems: { name: string; path: string; bytes: number }[] | undefined;
  engine: { backend: string; precision: string; device: string } | null;
  playerUrl?: string;
  analysis: AnalysisColumns | null;
  jobs: { download: string | undefined; processing: string; analysis: string | undefined };
  fromStorage: { download: boolean; separation: boolean; analysis: boolean };
  /** `download failed: <reason>`, a stem copy that failed, ...; empty when everything worked. */
  problems: string[];
  /** For the summary line (not printed by --json). */
  facts: AnalysisFacts | null;
}

/**
 * Reads what a settled separation request produced and copies its stems into `outDirFor(title)`.
 * Prints nothing: `sfa separate` prints one result, an album or playlist prints many.
 */
export async function collectSeparation(
  session: Session,
  ticket: SeparationTicket,
  outcome: FollowOutcome,
  options: { model: string; format: AudioFormat; outDirFor: (title: string) => string },
  config: Config,
): Promise<SeparationResult> {
  const em = session.orm.em.fork();
  const stages: StageStates = outcome.stages;
  const processingId = outcome.ids.separate ?? ticket.processingJobId;
  const track = (await em.execute<{ title: string }[]>(`select title from tracks where id = ?`, [ticket.trackId]))[0];
  const title = track?.title ?? 'track';
  const problems: string[] = [];

  let stems: { name: string; path: string; bytes: number }[] | undefined;
  let outDir: string | undefined;
  if (stages.separate?.status === 'completed') {
    const rows = await em.execute<{ stem_type: string; file_path: string | null; file_size: string | null }[]>(
      `select stem_type, file_path, file_size from stems where processing_job_id = ?`,
      [processingId],
    );
    outDir = path.resolve(options.outDirFor(title));
    try {
      stems = await copyStems(
        inCatalogOrder(options.model, rows, (r) => r.stem_type).map((r) => ({ type: r.stem_type, path: r.file_path, size: r.file_size === null ? null : Number(r.file_size) })),
        outDir,
      );
    } catch (error) {
      if (!(error instanceof OutputError)) throw error;
      problems.push(error.message);
    }
  }
  let analysisRow: AnalysisResult | null = null;
  if (stages.analyze?.status === 'completed') {
    analysisRow = (await readAnalysisResult(em, outcome.ids.analyze ?? ticket.analysisJobId, true)) ?? null;
  }
  // --json shows the columns; the summary line reads the engine's features too (Camelot).
  const analysis: AnalysisColumns | null = analysisRow && (({ features: _features, ...columns }) => columns)(analysisRow);
  problems.push(...failedStages(stages).map((f) => `${f.stage} failed: ${f.reason}`));
  const engine = await engineOfJob(em, processingId);
  // The stem player link, when there is a public file server to open it on (`sfa player` prints a local one).
  const player = problems.length === 0 && config.publicBaseUrl && stems?.length ? await (await import('../playerLink.ts')).cliPlayerUrl(config, processingId) : undefined;
  return {
    trackId: ticket.trackId,
    title,
    model: options.model,
    format: options.format,
    outDir,
    stems,
    engine,
    ...(player ? { playerUrl: player } : {}),
    analysis,
    jobs: { download: outcome.ids.download, processing: processingId, analysis: outcome.ids.analyze },
    fromStorage: { download: Boolean(stages.download?.stored), separation: Boolean(stages.separate?.stored), analysis: Boolean(stages.analyze?.stored) },
    problems,
    facts: analysisRow && analysisFacts(analysisRow),
  };
}

/** The printed form of a result (`--json`): everything but the problems and the facts. */
export function separationJson(result: SeparationResult): Record<string, unknown> {
  const { problems: _problems, facts: _facts, ...shown } = result;
  return shown;
}

/** The human summary of one separation: title, stems, analysis, where it came from. */
export function separationLines(result: SeparationResult): string[] {
  const { engine, stems } = result;
  const ran = engine ? `, ${engine.backend} ${engine.precision} on ${engine.device}` : '';
  const stored = result.fromStorage.download && result.fromStorage.separation && result.fromStorage.analysis;
  const lines = [`${result.title}: ${stems?.length ?? 0} stems (${result.model}, ${result.format}${ran}) in ${result.outDir}`];
  for (const s of stems ?? []) lines.push(`  ${s.name.padEnd(14)} ${s.path}`);
  if (result.facts) lines.push(`  ${describeAnalysis(result.facts)}`);
  lines.push(`  track ${result.trackId}${stored ? ' (served from storage; nothing was recomputed)' : ''}`);
  if (result.playerUrl) lines.push(`  stem player: ${result.playerUrl}`);
  return lines;
}

async function finish(session: Session, ticket: SeparationTicket, outcome: FollowOutcome, options: SeparateOptions, config: Config): Promise<number> {
  const result = await collectSeparation(
    session,
    ticket,
    outcome,
    { model: options.model, format: options.format, outDirFor: (title) => options.out ?? defaultStemsFolder(title, ticket.trackId, options.model) },
    config,
  );
  if (result.problems.length > 0) {
    for (const p of result.problems) process.stderr.write(`sfa separate: ${p}\n`);
    if (result.stems && result.outDir) process.stderr.write(`sfa separate: the stems were written to ${result.outDir}\n`);
    return 1;
  }
  process.stdout.write(options.json ? `${JSON.stringify(separationJson(result), null, 2)}\n` : `${separationLines(result).join('\n')}\n`);
  return 0;
}

function describeAnalysis(facts: AnalysisFacts): string {
  const tempo = tempoWords(facts);
  return `${tempo ? tempo.bpm : 'no steady beat'}, ${facts.key === null ? 'no clear key' : `key ${formatKey(facts)}`}`;
}
