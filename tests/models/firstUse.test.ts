/**
 * First use through the pipeline: `sfa separate` with an empty model folder
 * fetches the model from the (local) download server before separating and
 * shows it on the separation line; with SFA_MODEL_DOWNLOAD=never it refuses,
 * pointing at `sfa models download`.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, createCliDatabase, sfa, type CliDatabase } from '../cli/helpers.ts';
import { tempDir, toneWav } from '../pipeline/helpers.ts';
import { makeServedFiles, servedCheckpoint, startModelServer, type ModelServer } from '../support/modelServer.ts';

let db: CliDatabase;
let server: ModelServer;
let work: string;
let tone: string;

beforeAll(async () => {
  const [database, files] = await Promise.all([createCliDatabase(), makeServedFiles(['htdemucs'])]);
  db = database;
  server = await startModelServer(files);
  work = tempDir('first-use');
  tone = await toneWav(path.join(work, 'tone.wav'), 3);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a model missing on first use', () => {
  it('is fetched before the separation, with its progress on the separate line', async () => {
    const modelDir = path.join(work, 'models');
    const { name } = servedCheckpoint(server, '955717e8');
    server.plan(name, 'slow');
    const env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: path.join(work, 'data'), SFA_MODEL_DIR: modelDir, SFA_MODEL_BASE_URL: server.baseUrl });
    const r = await sfa(['separate', tone, '--out', path.join(work, 'stems')], { env });
    expect(r.code, r.stderr).toBe(0);
    const fetching = r.stderr.split('\n').filter((l) => l.startsWith('separate: fetching model htdemucs ('));
    const shown = fetching.map((l) => Number(/\) (\d+) %$/.exec(l)?.[1]));
    expect(fetching.length, r.stderr).toBeGreaterThanOrEqual(2);
    expect(fetching[0]).toMatch(/^separate: fetching model htdemucs \(0\.\d\d MB\) \d+ %$/);
    expect(shown.some((p) => p > 0 && p < 100)).toBe(true);
    // Then the separation itself, after the fetch.
    const lines = r.stderr.split('\n');
    expect(lines.findIndex((l) => l === 'separate: completed')).toBeGreaterThan(lines.indexOf(fetching.at(-1)!));
    expect(readdirSync(modelDir).sort()).toEqual([name, 'htdemucs.yaml']);
    expect(readdirSync(path.join(work, 'stems')).sort()).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    expect(server.requestsFor(name)).toHaveLength(1);
  }, 240_000);

  it('with SFA_MODEL_DOWNLOAD=never fails the separation, pointing at `sfa models download`', async () => {
    const modelDir = path.join(work, 'no-models');
    const before = server.http.requests.length;
    const env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: path.join(work, 'data'), SFA_MODEL_DIR: modelDir, SFA_MODEL_BASE_URL: server.baseUrl, SFA_MODEL_DOWNLOAD: 'never' });
    const r = await sfa(['separate', tone, '--model', 'htdemucs_6s', '--out', path.join(work, 'stems6')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `sfa separate: separate failed: model 'htdemucs_6s' is not installed: missing htdemucs_6s.yaml, 5c90dfd2-*.th in ${modelDir}. Install it with \`npx sfa models download htdemucs_6s\``,
    );
    expect(server.http.requests.length).toBe(before); // nothing fetched
  }, 240_000);
});
