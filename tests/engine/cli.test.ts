/** `sfa models ...` end to end (real engine, tiny models). */
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.ts';
import { makeTinyModels, tempDir } from './helpers.ts';

let modelDir: string;

function sfa(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [path.join(REPO_ROOT, 'bin/sfa.js'), ...args], {
    cwd: REPO_ROOT,
    env: { SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu', ...env },
    reject: false,
  });
}

beforeAll(async () => {
  modelDir = await makeTinyModels(['htdemucs']);
}, 120_000);

describe('sfa models', () => {
  it('lists the catalog with what is installed', async () => {
    const run = await sfa(['models', 'list', '--json']);
    expect(run.exitCode).toBe(0);
    const listed = JSON.parse(run.stdout) as { modelDir: string; models: { name: string; installed: boolean }[] };
    expect(listed.modelDir).toBe(modelDir);
    expect(Object.fromEntries(listed.models.map((m) => [m.name, m.installed]))).toEqual({
      htdemucs: true,
      htdemucs_ft: false,
      htdemucs_6s: false,
      mdx_extra: false,
    });
  }, 30_000);

  it('stops writing, not working, when the reader closes the pipe early', async () => {
    // `sfa models list | head -1`: the shell closes the pipe after one line.
    const child = execa(process.execPath, [path.join(REPO_ROOT, 'bin/sfa.js'), 'models', 'list'], {
      cwd: REPO_ROOT,
      env: { SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu' },
      reject: false,
      stdout: 'pipe',
      buffer: { stdout: false },
    });
    child.stdout.destroy();
    const run = await child;
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
  }, 30_000);

  it('check: ok for an installed model, exit 1 with the exact missing files otherwise', async () => {
    const ok = await sfa(['models', 'check', 'htdemucs']);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('htdemucs: ok');
    const missing = await sfa(['models', 'check', 'htdemucs_ft']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stdout).toContain(`htdemucs_ft: NOT INSTALLED. Run \`npx sfa models download htdemucs_ft\`, or put these files in ${modelDir}:`);
    for (const f of ['htdemucs_ft.yaml', 'f7e0c4bc-*.th', 'd12395a8-*.th', '92cfc3b6-*.th', '04573f0d-*.th']) expect(missing.stdout).toContain(f);
    expect((await sfa(['models', 'check', 'nope'])).exitCode).toBe(2);
  }, 60_000);

  it('make-test-model writes a loadable model', async () => {
    const dir = tempDir('made');
    const made = await sfa(['models', 'make-test-model', '--name', 'htdemucs_6s', '--size', 'tiny', '--dir', dir]);
    expect(made.exitCode).toBe(0);
    const check = await sfa(['models', 'check', 'htdemucs_6s'], { SFA_MODEL_DIR: dir });
    expect(check.exitCode).toBe(0);
  }, 60_000);

  it('prepare converts a model for this CPU once; the second run finds it cached', async () => {
    const env = { SFA_CACHE_DIR: tempDir('ov-cache'), SFA_INFERENCE_PRECISION: 'f32' };
    const first = await sfa(['models', 'prepare', 'htdemucs'], env);
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toContain('htdemucs: preparing model for this CPU');
    expect(first.stdout).toMatch(/^htdemucs: ready \(OpenVINO f32, converted in [\d.]+ s\)$/);
    const again = await sfa(['models', 'prepare', 'htdemucs'], env);
    expect(again.stdout).toBe('htdemucs: ready (OpenVINO f32, already cached)');
    const torch = await sfa(['models', 'prepare', 'htdemucs'], { ...env, SFA_SEPARATION_BACKEND: 'torch' });
    expect(torch.stdout).toBe('htdemucs: ready (runs on torch)');
    const unknown = await sfa(['models', 'prepare', 'nope']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Unknown model "nope"');
  }, 300_000);
});

// `sfa separate` runs the pipeline now: tests/cli/separate.test.ts covers it end to end.
