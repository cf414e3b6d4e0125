/**
 * `sfa models list [--json]`, `sfa models check [M]`,
 * `sfa models make-test-model --name N --size tiny|full --dir D`,
 * `sfa models prepare M`: convert M for this CPU ahead of time (python/sfa_engine/prepare_model.py).
 *
 * The model directory is demucs' local-repo layout (see python/sfa_engine/models.py):
 * `<name>.yaml` plus `<sig>-<sha256[:8]>.th` per catalog member.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { parseConfig } from '../../config.ts';
import { MODELS, getModel, type ModelInfo } from '../../domain/modelCatalog.ts';
import { REPO_ROOT } from '../../jobs/engine/client.ts';

const USAGE = `usage: sfa models list [--json]
       sfa models check [MODEL]
       sfa models make-test-model --name NAME|all --size tiny|full --dir DIR
       sfa models prepare MODEL
`;

/** Files a model still needs in `dir` (empty = installed). Mirrors sfa_engine.models.missing_files. */
export function missingModelFiles(model: ModelInfo, dir: string): string[] {
  let names: Set<string>;
  try {
    names = new Set(readdirSync(dir));
  } catch {
    names = new Set();
  }
  const missing = names.has(`${model.name}.yaml`) ? [] : [`${model.name}.yaml`];
  for (const sig of model.members) {
    const present = names.has(`${sig}.th`) || [...names].some((n) => n.startsWith(`${sig}-`) && n.endsWith('.th'));
    if (!present) missing.push(`${sig}-*.th`);
  }
  return missing;
}

function engineSettings(): { modelDir: string; python: string } | string[] {
  const result = parseConfig(process.env);
  if (!result.ok) return result.problems;
  return { modelDir: result.config.modelDir, python: result.config.python };
}

function sizeOnDisk(model: ModelInfo, dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    if (model.members.some((sig) => name.startsWith(`${sig}-`) || name === `${sig}.th`)) total += statSync(path.join(dir, name)).size;
  }
  return total;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const settings = engineSettings();
  if (Array.isArray(settings)) return configProblems(settings);
  const rows = MODELS.map((m) => {
    const installed = missingModelFiles(m, settings.modelDir).length === 0;
    return { name: m.name, stems: m.stems, relativeCost: m.relativeCost, installed, label: m.label };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ modelDir: settings.modelDir, models: rows }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`model directory: ${settings.modelDir}\n\n`);
  const header = ['NAME', 'STEMS', 'COST', 'INSTALLED'];
  const table = rows.map((r) => [r.name, r.stems.join(','), `${r.relativeCost}x`, r.installed ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [header, ...table]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  return 0;
}

async function check(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) return usage('models check takes at most one model name');
  const settings = engineSettings();
  if (Array.isArray(settings)) return configProblems(settings);
  const models = positionals.length ? [getModel(positionals[0]!)] : MODELS;
  if (models[0] === undefined) return usage(`unknown model "${positionals[0]}"; models: ${MODELS.map((m) => m.name).join(', ')}`);
  let failed = false;
  for (const model of models as ModelInfo[]) {
    const missing = missingModelFiles(model, settings.modelDir);
    if (missing.length > 0) {
      failed = true;
      process.stdout.write(`${model.name}: NOT INSTALLED. Put these files in ${settings.modelDir}:\n`);
      for (const file of missing) process.stdout.write(`  ${file}\n`);
      continue;
    }
    // Files present: prove they load through demucs and run one window.
    const run = await execa(settings.python, ['-m', 'sfa_engine.check_model', '--name', model.name, '--dir', settings.modelDir], {
      cwd: path.join(REPO_ROOT, 'python'),
      reject: false,
    });
    if (run.exitCode !== 0) {
      failed = true;
      process.stdout.write(`${model.name}: FAILED to load from ${settings.modelDir}: ${run.stderr.trim().split('\n').at(-1)}\n`);
      continue;
    }
    const mb = (sizeOnDisk(model, settings.modelDir) / 2 ** 20).toFixed(1);
    process.stdout.write(`${model.name}: ok (${model.members.length} network(s), ${mb} MB on disk, loads and runs)\n`);
  }
  return failed ? 1 : 0;
}

async function makeTestModel(args: string[]): Promise<number> {
  let values: { name?: string; size?: string; dir?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { name: { type: 'string' }, size: { type: 'string', default: 'tiny' }, dir: { type: 'string' } },
    }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (!values.name || !values.dir) return usage('make-test-model needs --name and --dir');
  if (values.size !== 'tiny' && values.size !== 'full') return usage('--size must be tiny or full');
  if (values.name !== 'all' && !getModel(values.name)) return usage(`unknown model "${values.name}"`);
  const settings = engineSettings();
  if (Array.isArray(settings)) return configProblems(settings);
  const run = await execa(
    settings.python,
    ['-m', 'sfa_engine.make_test_model', '--name', values.name, '--size', values.size, '--dir', path.resolve(values.dir)],
    { cwd: path.join(REPO_ROOT, 'python'), stdout: 'inherit', stderr: 'inherit', reject: false },
  );
  return run.exitCode === 0 ? 0 : 1;
}

/** Convert a model for this CPU now, so the first separation does not pay for it. */
async function prepare(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) return usage('models prepare takes one model name');
  const model = getModel(positionals[0]!);
  if (!model) return usage(`unknown model "${positionals[0]}"; models: ${MODELS.map((m) => m.name).join(', ')}`);
  const settings = engineSettings();
  if (Array.isArray(settings)) return configProblems(settings);
  const run = await execa(settings.python, ['-m', 'sfa_engine.prepare_model', '--name', model.name, '--dir', settings.modelDir], {
    cwd: path.join(REPO_ROOT, 'python'),
    stderr: 'inherit',
    reject: false,
  });
  if (run.exitCode !== 0) return 1;
  const done = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { backend: string; precision: string; note: string | null; converted: boolean; seconds: number };
  const how = done.backend === 'openvino' ? `OpenVINO ${done.precision}, ${done.converted ? `converted in ${done.seconds} s` : 'already cached'}` : `runs on torch${done.note ? ` (${done.note})` : ''}`;
  process.stdout.write(`${model.name}: ready (${how})\n`);
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`sfa models: ${problem}\n\n${USAGE}`);
  return 2;
}

function configProblems(problems: string[]): number {
  process.stderr.write(`sfa models: configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  return 2;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'list') return await list(rest);
    if (sub === 'check') return await check(rest);
    if (sub === 'make-test-model') return await makeTestModel(rest);
    if (sub === 'prepare') return await prepare(rest);
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return usage((error as Error).message);
    throw error;
  }
  return usage(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
}
