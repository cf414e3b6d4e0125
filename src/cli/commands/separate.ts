/**
 * `sfa separate <file> [--model M] [--out DIR] [--format wav|flac|mp3] [--two-stems STEM] [--json]`
 *
 * Runs the Python engine directly (one EngineClient for this process). The
 * queued pipeline will replace the direct call later; the output contract
 * (stem files in --out, `--json` = the engine's result object) stays.
 * Progress goes to stderr: a bar on a TTY, plain lines otherwise.
 * Exit codes: 0 ok, 1 separation failed, 2 usage or configuration.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../config.ts';
import { DEFAULT_MODEL, getModel, unknownModelMessage } from '../../domain/modelCatalog.ts';
import { EngineClient, EngineError, type EngineLogger } from '../../jobs/engine/client.ts';

const USAGE = `usage: sfa separate <file> [--model M] [--out DIR] [--format wav|flac|mp3] [--two-stems STEM] [--json]
`;
const FORMATS = ['wav', 'flac', 'mp3'] as const;
type Format = (typeof FORMATS)[number];

/** Bar on a TTY (redrawn in place), otherwise a line per stage and per 10%. */
export function progressPrinter(stream: NodeJS.WriteStream): { update(p: number, stage: string): void; done(): void } {
  let lastStage = '';
  let lastDecile = -1;
  return {
    update(progress, stage) {
      if (stream.isTTY) {
        const width = 30;
        const filled = Math.round((progress / 100) * width);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progress.toFixed(0).padStart(3)}% ${stage.padEnd(14)}`);
        return;
      }
      const decile = Math.floor(progress / 10);
      if (stage !== lastStage || decile !== lastDecile) {
        stream.write(`${progress.toFixed(0)}% ${stage}\n`);
        lastStage = stage;
        lastDecile = decile;
      }
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

function usage(problem: string): number {
  process.stderr.write(`sfa separate: ${problem}\n\n${USAGE}`);
  return 2;
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: 'string', short: 'm', default: DEFAULT_MODEL },
        out: { type: 'string', short: 'o' },
        format: { type: 'string', short: 'f', default: 'wav' },
        'two-stems': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) return usage('expected exactly one input file');
  const input = positionals[0]!;
  if (/^[a-z]+:\/\//i.test(input)) return usage('URLs go through the download pipeline (not wired yet); pass a local file');
  if (!existsSync(input)) return usage(`no such file: ${input}`);
  const model = getModel(values.model);
  if (!model) return usage(unknownModelMessage(values.model));
  if (!(FORMATS as readonly string[]).includes(values.format)) return usage(`--format must be one of ${FORMATS.join(', ')}`);
  const twoStems = values['two-stems'];
  if (twoStems !== undefined && !(model.stems as readonly string[]).includes(twoStems)) {
    return usage(`model ${model.name} has no "${twoStems}" stem (it has ${model.stems.join(', ')})`);
  }
  const config = parseConfig(process.env);
  if (!config.ok) return usage(`configuration problems:\n  - ${config.problems.join('\n  - ')}`);
  const outDir = path.resolve(values.out ?? path.join('separated', `${path.parse(input).name}-${model.name}`));

  const logger: EngineLogger = {
    info: (m) => process.env.SFA_VERBOSE && process.stderr.write(`[engine] ${m}\n`),
    warn: (m) => process.stderr.write(`[engine] ${m}\n`),
    error: (m) => process.stderr.write(`[engine] ${m}\n`),
  };
  const client = new EngineClient({
    python: config.config.python,
    env: { SFA_MODEL_DIR: config.config.modelDir, SFA_DEVICE: config.config.device },
    logger,
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const bar = progressPrinter(process.stderr);
  try {
    const result = await client.request(
      {
        cmd: 'separate',
        input: path.resolve(input),
        out_dir: outDir,
        model: model.name,
        format: values.format as Format,
        max_duration: config.config.limits.maxDurationSeconds,
        ...(twoStems ? { two_stems: twoStems } : {}),
      },
      { onProgress: (p, stage) => bar.update(p, stage), signal: controller.signal },
    );
    bar.done();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${model.name}: ${result.stems.length} stems in ${outDir} (${result.elapsed_seconds.toFixed(1)} s on ${result.device})\n`);
      for (const stem of result.stems) process.stdout.write(`  ${stem.name.padEnd(14)} ${stem.path}\n`);
      const clipped = Object.entries(result.clipped).filter(([, n]) => n > 0);
      if (clipped.length > 0) {
        process.stderr.write(`warning: samples clipped (${clipped.map(([s, n]) => `${s}: ${n}`).join(', ')}); float WAV keeps them\n`);
      }
    }
    return 0;
  } catch (error) {
    bar.done();
    if (error instanceof EngineError) {
      process.stderr.write(`sfa separate: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    await client.close();
  }
}
