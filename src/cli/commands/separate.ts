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
import { failedStages, type StageStates } from '../../domain/cliProgress.ts';
import { DEFAULT_MODEL, getModel, inCatalogOrder, unknownModelMessage } from '../../domain/modelCatalog.ts';
import { defaultStemsFolder } from '../../domain/outputNames.ts';
import { InputError, parsePipelineInput } from '../../jobs/pipeline/input.ts';
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

Splits a track into stems through the pipeline (download -> separate -> analyze),
reusing stored results. Stems are copied to --out (default: a folder in the
current directory named <title>-<track id>-<model>).
  --model M     Demucs model (default ${DEFAULT_MODEL}; \`sfa models list\`)
  --out DIR     where the stem files go
  --format F    wav (default), flac or mp3
  --json        print one JSON object at the end (nothing else on stdout)
  --no-worker   only queue the request and follow it; worker processes
                (\`npm start -- --role worker\`) on the same database do the work
`;

const FORMATS: readonly AudioFormat[] = ['wav', 'flac', 'mp3'];

export interface SeparateOptions {
  input: string;
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
    },
    { min: 1, max: 1, name: '<file|url>' },
  );
  if (parsed.ok !== true) return parsed;
  const { values, positionals } = parsed.options;
  const model = values.model ?? DEFAULT_MODEL;
  if (!getModel(model)) return { ok: false, message: unknownModelMessage(model) };
  const format = values.format ?? 'wav';
  if (!(FORMATS as readonly string[]).includes(format)) return { ok: false, message: `--format must be one of ${FORMATS.join(', ')} (got "${format.slice(0, 20)}")` };
  if (values.out !== undefined && (values.out === '' || (existsSync(values.out) && !statSync(values.out).isDirectory()))) {
    return { ok: false, message: `--out ${values.out === '' ? 'needs a directory' : `${values.out} exists and is not a directory`}` };
  }
  const input = positionals[0]!;
  try {
    parsePipelineInput(input);
  } catch (error) {
    if (error instanceof InputError) return { ok: false, message: error.userMessage };
    throw error;
  }
  return {
    ok: true,
    options: { input, model, format: format as AudioFormat, ...(values.out !== undefined ? { out: values.out } : {}), json: values.json ?? false, noWorker: values['no-worker'] ?? false },
  };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseSeparateArgs(args);
  if (parsed.ok !== true) return usageExit('sfa separate', parsed, USAGE);
  const config = loadConfigOrReport();
  if (!config) return 2;
  const options = parsed.options;
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

/** The rows a separation request is followed by (also the pipeline benchmark's). */
export function separationRows(t: SeparationTicket): FollowedRow[] {
  return [
    { stage: 'download', kind: 'download', id: t.downloadJobId, reused: t.reused.download },
    { stage: 'separate', kind: 'processing', id: t.processingJobId, reused: t.reused.processing },
    { stage: 'analyze', kind: 'analysis', id: t.analysisJobId, reused: t.reused.analysis },
  ];
}

async function finish(session: Session, ticket: SeparationTicket, outcome: FollowOutcome, options: SeparateOptions, config: Config): Promise<number> {
  const em = session.orm.em.fork();
  const stages: StageStates = outcome.stages;
  const processingId = outcome.ids.separate ?? ticket.processingJobId;
  const track = (await em.execute<{ title: string }[]>(`select title from tracks where id = ?`, [ticket.trackId]))[0];
  const title = track?.title ?? 'track';
  let exit = 0;

  let stems: { name: string; path: string; bytes: number }[] | undefined;
  let outDir: string | undefined;
  if (stages.separate?.status === 'completed') {
    const rows = await em.execute<{ stem_type: string; file_path: string | null; file_size: string | null }[]>(
      `select stem_type, file_path, file_size from stems where processing_job_id = ?`,
      [processingId],
    );
    outDir = path.resolve(options.out ?? defaultStemsFolder(title, ticket.trackId, options.model));
    try {
      stems = await copyStems(
        inCatalogOrder(options.model, rows, (r) => r.stem_type).map((r) => ({ type: r.stem_type, path: r.file_path, size: r.file_size === null ? null : Number(r.file_size) })),
        outDir,
      );
    } catch (error) {
      if (!(error instanceof OutputError)) throw error;
      process.stderr.write(`sfa separate: ${error.message}\n`);
      exit = 1;
    }
  }
  let analysisRow: AnalysisResult | null = null;
  if (stages.analyze?.status === 'completed') {
    analysisRow = (await readAnalysisResult(em, outcome.ids.analyze ?? ticket.analysisJobId, true)) ?? null;
  }
  // --json shows the columns; the summary line reads the engine's features too (Camelot).
  const analysis: AnalysisColumns | null = analysisRow && (({ features: _features, ...columns }) => columns)(analysisRow);

  const failed = failedStages(stages);
  for (const f of failed) process.stderr.write(`sfa separate: ${f.stage} failed: ${f.reason}\n`);
  if (failed.length > 0 || exit !== 0) {
    if (stems && outDir) process.stderr.write(`sfa separate: the stems were written to ${outDir}\n`);
    return 1;
  }
  const stored = stages.download?.stored && stages.separate?.stored && stages.analyze?.stored;
  const engine = await separationEngine(em, processingId);
  // The stem player link, when there is a public file server to open it on (`sfa player` prints a local one).
  const player = config.publicBaseUrl && stems?.length ? await (await import('../playerLink.ts')).cliPlayerUrl(config, processingId) : undefined;
  if (options.json) {
    const result = {
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
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const ran = engine ? `, ${engine.backend} ${engine.precision} on ${engine.device}` : '';
  const lines = [`${title}: ${stems?.length ?? 0} stems (${options.model}, ${options.format}${ran}) in ${outDir}`];
  for (const s of stems ?? []) lines.push(`  ${s.name.padEnd(14)} ${s.path}`);
  if (analysisRow) lines.push(`  ${describeAnalysis(analysisFacts(analysisRow))}`);
  lines.push(`  track ${ticket.trackId}${stored ? ' (served from storage; nothing was recomputed)' : ''}`);
  if (player) lines.push(`  stem player: ${player}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** What ran the separation (recorded in the processing job's options by the worker); null when unknown (older rows). */
async function separationEngine(
  em: Session['orm']['em'],
  processingId: string,
): Promise<{ backend: string; precision: string; device: string } | null> {
  const rows = await em.execute<{ options: Record<string, unknown> | null }[]>(`select options from processing_jobs where id = ?`, [processingId]);
  const o = rows[0]?.options;
  if (!o || typeof o.backend !== 'string' || typeof o.precision !== 'string') return null;
  return { backend: o.backend, precision: o.precision, device: String(o.device ?? 'cpu') };
}

function describeAnalysis(facts: AnalysisFacts): string {
  const tempo = tempoWords(facts);
  return `${tempo ? tempo.bpm : 'no steady beat'}, ${facts.key === null ? 'no clear key' : `key ${formatKey(facts)}`}`;
}
