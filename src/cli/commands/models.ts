/**
 * `sfa models list [--json]`, `sfa models check [MODEL]`,
 * `sfa models download [MODEL...|all] [--dir DIR] [--json]`,
 * `sfa models make-test-model --name N --size tiny|full --dir D`.
 * `sfa models prepare MODEL`: convert MODEL for this CPU ahead of time (python/sfa_engine/prepare_model.py).
 *
 * The model directory is demucs' local-repo layout: `<name>.yaml` plus
 * `<sig>-<sha256 prefix>.th` per catalog member (src/domain/modelFiles.ts).
 * Downloads go through src/jobs/models/install.ts, the same code the workers
 * use on first use.
 */
import path from 'node:path';
import { execa } from 'execa';
import { childEnv } from '../../domain/childEnv.ts';
import { parseConfig, REPO_ROOT, type Config } from '../../config.ts';
import { plainDownloadLine, rate, renderDownloadBar, type DownloadSample, type RateWindow } from '../../domain/downloadProgress.ts';
import { DEFAULT_MODEL, MODELS, getModel, unknownModelMessage, type ModelInfo } from '../../domain/modelCatalog.ts';
import { formatMB } from '../../domain/modelFiles.ts';
import { parseCommandLine } from '../args.ts';
import { chooseMode } from '../progressView.ts';
import { usageExit } from '../usage.ts';

const USAGE = `usage: sfa models list [--json]
       sfa models check [MODEL]
       sfa models download [MODEL...|all] [--dir DIR] [--json]
       sfa models make-test-model --name NAME|all --size tiny|full --dir DIR
       sfa models prepare MODEL

  list       the catalog: size on disk and state (installed, downloadable, unverified)
  check      verifies each file's sha256 against its name, then loads the model and runs it once
  download   fetches the model files (default ${DEFAULT_MODEL}) from demucs' server or
             SFA_MODEL_BASE_URL into SFA_MODEL_DIR (or --dir), verified; resumes after an
             interruption; --json prints one JSON object at the end
  prepare    converts the model for this CPU (OpenVINO) now, so the first separation does not pay for it
`;

const EXIT_INTERRUPTED = 130;

type Settings = Pick<Config, 'modelDir' | 'python' | 'modelBaseUrl'>;

function settingsOrReport(): Settings | undefined {
  const result = parseConfig(process.env);
  if (result.ok) return result.config;
  process.stderr.write(`sfa models: configuration problems:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  return undefined;
}

const usage = (message: string) => usageExit('sfa models', { ok: false, message }, USAGE);

/** Catalog models named on the command line (`all`: every one); a message for an unknown one. */
function pickModels(names: string[], fallback: readonly ModelInfo[]): readonly ModelInfo[] | string {
  if (names.length === 0) return fallback;
  if (names.includes('all')) return MODELS;
  const picked: ModelInfo[] = [];
  for (const name of names) {
    const model = getModel(name);
    if (!model) return unknownModelMessage(name);
    if (!picked.includes(model)) picked.push(model);
  }
  return picked;
}

async function list(args: string[]): Promise<number> {
  const line = parseCommandLine(args, { json: { type: 'boolean' } }, { min: 0, max: 0, name: 'arguments' });
  if (line.ok !== true) return usageExit('sfa models list', line, USAGE);
  const settings = settingsOrReport();
  if (!settings) return 2;
  const { inspectModel } = await import('../../jobs/models/inspect.ts');
  const rows = [];
  for (const m of MODELS) {
    const seen = await inspectModel(m, settings.modelDir);
    rows.push({ name: m.name, label: m.label, stems: m.stems, relativeCost: m.relativeCost, downloadMB: m.downloadMB, bytesOnDisk: seen.bytesOnDisk, state: seen.state, installed: seen.state === 'installed' });
  }
  if (line.options.values.json) {
    process.stdout.write(`${JSON.stringify({ modelDir: settings.modelDir, models: rows }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`model directory: ${settings.modelDir}\n\n`);
  const header = ['NAME', 'STEMS', 'COST', 'DOWNLOAD', 'ON DISK', 'STATE'];
  const table = rows.map((r) => [r.name, r.stems.join(','), `${r.relativeCost}x`, `~${r.downloadMB} MB`, r.bytesOnDisk ? formatMB(r.bytesOnDisk) : '-', r.state]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [header, ...table]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  if (rows.some((r) => r.state !== 'installed')) process.stdout.write(`\n\`sfa models download MODEL\` fetches a model (workers also fetch one on first use unless SFA_MODEL_DOWNLOAD=never).\n`);
  return 0;
}

async function check(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {}, { min: 0, max: 1, name: 'model' });
  if (line.ok !== true) return usageExit('sfa models check', line, USAGE);
  const models = pickModels(line.options.positionals, MODELS);
  if (typeof models === 'string') return usage(models);
  const settings = settingsOrReport();
  if (!settings) return 2;
  const { inspectModel } = await import('../../jobs/models/inspect.ts');
  let failed = false;
  for (const model of models) {
    const seen = await inspectModel(model, settings.modelDir);
    if (seen.state === 'downloadable') {
      failed = true;
      process.stdout.write(`${model.name}: NOT INSTALLED. Run \`npx sfa models download ${model.name}\`, or put these files in ${settings.modelDir}:\n`);
      for (const file of seen.files.filter((f) => !f.present)) process.stdout.write(`  ${file.name}\n`);
      continue;
    }
    if (seen.state === 'unverified') {
      failed = true;
      process.stdout.write(`${model.name}: FAILED verification in ${settings.modelDir}:\n`);
      for (const file of seen.files.filter((f) => !f.verified)) process.stdout.write(`  ${file.name}: ${file.problem}\n`);
      process.stdout.write(`  \`npx sfa models download ${model.name}\` fetches a good copy.\n`);
      continue;
    }
    // Files present and verified: prove they load through demucs and run one window.
    const run = await execa(settings.python, ['-m', 'sfa_engine.check_model', '--name', model.name, '--dir', settings.modelDir], {
      cwd: path.join(REPO_ROOT, 'python'),
      env: childEnv('engine'),
      extendEnv: false,
      reject: false,
    });
    if (run.exitCode !== 0) {
      failed = true;
      process.stdout.write(`${model.name}: FAILED to load from ${settings.modelDir}: ${run.stderr.trim().split('\n').at(-1)}\n`);
      continue;
    }
    process.stdout.write(`${model.name}: ok (${model.members.length} network(s), ${formatMB(seen.bytesOnDisk)} on disk, checksums match, loads and runs)\n`);
  }
  return failed ? 1 : 0;
}

/** Progress on stderr: a redrawn bar on a terminal, a line per 10 % otherwise, nothing for --json into a pipe. */
function downloadView(json: boolean) {
  const mode = chooseMode(process.stderr, json);
  let window: RateWindow | undefined;
  let decile: number | undefined;
  let drawn = false;
  return {
    show(sample: DownloadSample) {
      if (mode === 'none') return;
      if (mode === 'lines') {
        const next = plainDownloadLine(decile, sample);
        decile = next.decile;
        if (next.line) process.stderr.write(`${next.line}\n`);
        return;
      }
      window ??= { startedAt: Date.now(), startBytes: sample.doneBytes };
      process.stderr.write(`\r\x1b[K${renderDownloadBar(sample, rate(window, sample.doneBytes, Date.now()), process.stderr.columns)}`);
      drawn = true;
    },
    /** Ends the model's progress display (the next model starts afresh). */
    end() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
      window = undefined;
      decile = undefined;
    },
  };
}

async function download(args: string[]): Promise<number> {
  const line = parseCommandLine(args, { dir: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: MODELS.length + 1, name: 'models' });
  if (line.ok !== true) return usageExit('sfa models download', line, USAGE);
  const { values, positionals } = line.options;
  const models = pickModels(positionals, [getModel(DEFAULT_MODEL)!]);
  if (typeof models === 'string') return usage(models);
  if (values.dir === '') return usage('--dir needs a folder');
  const settings = settingsOrReport();
  if (!settings) return 2;
  const dir = path.resolve(values.dir ?? settings.modelDir);
  const json = values.json ?? false;

  const { installModel, resolveSourceOrExplain } = await import('../../jobs/models/install.ts');
  const { ModelDownloadError } = await import('../../jobs/models/errors.ts');

  // Ctrl-C stops the transfer; what was fetched stays as a hidden .part file and resumes next time.
  const interrupt = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalName) process.exit(signal === 'SIGTERM' ? 143 : EXIT_INTERRUPTED);
    signalName = signal;
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const view = downloadView(json);
  const results: Record<string, unknown>[] = [];
  let failed = false;
  try {
    const base = { python: settings.python, baseUrl: settings.modelBaseUrl, signal: interrupt.signal };
    let source;
    try {
      source = await resolveSourceOrExplain(models, { ...base, dir });
    } catch (error) {
      if (!(error instanceof ModelDownloadError)) throw error;
      if (signalName) return interrupted(signalName);
      process.stderr.write(`sfa models download: ${error.userMessage}\n`);
      if (json) process.stdout.write(`${JSON.stringify({ dir, error: { reason: error.reason, message: error.userMessage } }, null, 2)}\n`);
      return 1;
    }
    if (!json) process.stderr.write(`downloading into ${dir} from ${source.baseUrl} (list: ${source.listFrom})\n`);
    for (const model of models) {
      try {
        const report = await installModel(model, {
          ...base,
          dir,
          source,
          verifyExisting: true,
          onProgress: (p) => {
            if (p.phase !== 'verifying') view.show({ model: model.name, doneBytes: p.doneBytes, totalBytes: p.totalBytes, waiting: p.phase === 'waiting' });
          },
        });
        view.end();
        results.push({ model: model.name, state: 'installed', fetched: report.fetched, kept: report.kept, bytesFetched: report.bytesFetched });
        if (!json) {
          const what = report.fetched.length > 0 ? `fetched ${report.fetched.join(', ')} (${formatMB(report.bytesFetched)})` : 'already there';
          process.stdout.write(`${model.name}: installed and verified in ${dir} (${what})\n`);
        }
      } catch (error) {
        view.end();
        if (!(error instanceof ModelDownloadError)) throw error;
        if (signalName) return interrupted(signalName);
        failed = true;
        results.push({ model: model.name, state: 'failed', error: { reason: error.reason, message: error.userMessage } });
        process.stderr.write(`sfa models download: ${model.name}: ${error.userMessage}\n`);
      }
    }
    if (json) process.stdout.write(`${JSON.stringify({ dir, models: results }, null, 2)}\n`);
    return failed ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function interrupted(signal: NodeJS.Signals): number {
  process.stderr.write(`sfa models download: interrupted; the part already fetched is kept (hidden .part file) and the next run resumes it\n`);
  return signal === 'SIGTERM' ? 143 : EXIT_INTERRUPTED;
}

async function makeTestModel(args: string[]): Promise<number> {
  const line = parseCommandLine(args, { name: { type: 'string' }, size: { type: 'string', default: 'tiny' }, dir: { type: 'string' } }, { min: 0, max: 0, name: 'arguments' });
  if (line.ok !== true) return usageExit('sfa models make-test-model', line, USAGE);
  const values = line.options.values;
  if (!values.name || !values.dir) return usage('make-test-model needs --name and --dir');
  if (values.size !== 'tiny' && values.size !== 'full') return usage('--size must be tiny or full');
  if (values.name !== 'all' && !getModel(values.name)) return usage(`unknown model "${values.name}"`);
  const settings = settingsOrReport();
  if (!settings) return 2;
  const run = await execa(
    settings.python,
    ['-m', 'sfa_engine.make_test_model', '--name', values.name, '--size', values.size, '--dir', path.resolve(values.dir)],
    { cwd: path.join(REPO_ROOT, 'python'), env: childEnv('engine'), extendEnv: false, stdout: 'inherit', stderr: 'inherit', reject: false },
  );
  return run.exitCode === 0 ? 0 : 1;
}

/** Convert a model for this CPU now, so the first separation does not pay for it. */
async function prepare(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {}, { min: 1, max: 1, name: 'model' });
  if (line.ok !== true) return usageExit('sfa models prepare', line, USAGE);
  const model = getModel(line.options.positionals[0]!);
  if (!model) return usage(unknownModelMessage(line.options.positionals[0]!));
  const settings = settingsOrReport();
  if (!settings) return 2;
  const run = await execa(settings.python, ['-m', 'sfa_engine.prepare_model', '--name', model.name, '--dir', settings.modelDir], {
    cwd: path.join(REPO_ROOT, 'python'),
    env: childEnv('engine'),
    extendEnv: false,
    stderr: 'inherit',
    reject: false,
  });
  if (run.exitCode !== 0) return 1;
  const done = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { backend: string; precision: string; note: string | null; converted: boolean; seconds: number };
  const how = done.backend === 'openvino' ? `OpenVINO ${done.precision}, ${done.converted ? `converted in ${done.seconds} s` : 'already cached'}` : `runs on torch${done.note ? ` (${done.note})` : ''}`;
  process.stdout.write(`${model.name}: ready (${how})\n`);
  return 0;
}

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = { list, check, download, 'make-test-model': makeTestModel, prepare };

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === 'help') return usageExit('sfa models', { ok: 'help' }, USAGE);
  const command = sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!command) return usage(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
  return command(rest);
}
