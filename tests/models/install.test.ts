/**
 * The installer the CLI and the workers share (src/jobs/models/install.ts),
 * called directly where the CLI's defaults would make a test slow: a server
 * that stops answering fails after the idle timeout instead of hanging.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireModel } from '../../src/domain/modelCatalog.ts';
import { DEMUCS_ROOT_URL } from '../../src/domain/modelFiles.ts';
import { ModelDownloadError } from '../../src/jobs/models/errors.ts';
import { installModel } from '../../src/jobs/models/install.ts';
import { demucsRemoteDir } from '../../src/jobs/models/source.ts';
import { execa } from 'execa';
import { PYTHON, tempDir } from '../engine/helpers.ts';
import { makeServedFiles, servedCheckpoint, startModelServer, type ModelServer } from '../support/modelServer.ts';

let server: ModelServer;
let dir: string;

beforeAll(async () => {
  server = await startModelServer(await makeServedFiles(['htdemucs']));
  dir = tempDir('install');
}, 180_000);
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('installModel', () => {
  it('fails clearly when the server stops answering half way, keeping the part for a later resume', async () => {
    const { name, content } = servedCheckpoint(server, '955717e8');
    server.plan(name, 'stall');
    const started = Date.now();
    const failure = await installModel(requireModel('htdemucs'), { dir, python: PYTHON, baseUrl: server.baseUrl, idleTimeoutMs: 1500, verifyExisting: true }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelDownloadError);
    expect((failure as ModelDownloadError).reason).toBe('timeout');
    expect((failure as ModelDownloadError).userMessage).toContain(`${new URL(server.baseUrl).host} stopped answering while sending ${name} (nothing for 2 s). Try again later (the download resumes)`);
    expect((failure as ModelDownloadError).userMessage).toContain(`To install htdemucs by hand`);
    expect(Date.now() - started).toBeLessThan(60_000); // bounded, not hung
    expect(existsSync(path.join(dir, name))).toBe(false);
    expect(statSync(path.join(dir, `.${name}.part`)).size).toBe(content.length >> 1);

    const report = await installModel(requireModel('htdemucs'), { dir, python: PYTHON, baseUrl: server.baseUrl, idleTimeoutMs: 1500, verifyExisting: true });
    expect(report.fetched).toEqual([name]);
    expect(server.requestsFor(name).at(-1)!.headers.range).toBe(`bytes=${content.length >> 1}-`);
    expect(readdirSync(dir).sort()).toEqual([name, 'htdemucs.yaml']);
  }, 120_000);

  it("takes the file list and yaml from the installed demucs, whose published root is DEMUCS_ROOT_URL", async () => {
    const remote = await demucsRemoteDir(PYTHON);
    expect(existsSync(path.join(remote, 'files.txt'))).toBe(true);
    const root = await execa(PYTHON, ['-c', 'import demucs.pretrained as p; print(p.ROOT_URL)']);
    expect(root.stdout.trim()).toBe(DEMUCS_ROOT_URL);
  }, 60_000);
});
