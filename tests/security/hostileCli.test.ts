/**
 * Hostile links handed to the CLI (`sfa analyze`, a child process with its own
 * database): a name that is not valid percent-encoding (`%E0%A4%A`, which
 * crashed with "URI malformed"), and a 2 KB link of every kind of
 * percent-encoding that answers with a web page. Each: exit 1, a specific
 * message, nothing left queued or running. (The CLI user's own requests may
 * reach their private network: the test server is on 127.0.0.1.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, startFakeHttp, type FakeHttp } from '../support/fakeHttp.ts';
import { cliEnv, createCliDatabase, sfa, type CliDatabase } from '../cli/helpers.ts';

let db: CliDatabase;
let dir: string;
let env: Record<string, string>;
let server: FakeHttp;

const NASTY = '%E0%A4%A%00%0D%0A%2F%2e%2E%5C%25%FF%C0%AF%ED%A0%80+%20%3Cb%3E%F0%9F%8E%B5%%zz';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sfa-hostile-cli-'));
  db = await createCliDatabase();
  env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: path.join(dir, 'data') });
  server = await startFakeHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>not audio</html>');
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function nothingLeftRunning(): Promise<void> {
  for (const table of ['download_jobs', 'processing_jobs', 'analysis_jobs']) {
    const rows = await db.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from ${table} where status in ('queued', 'downloading', 'processing')`);
    expect(Number(rows[0]!.n), table).toBe(0);
  }
}

describe('sfa analyze with hostile links', () => {
  it('a name that is not valid percent-encoding is kept encoded: exit 1 with the download problem, no crash', async () => {
    const url = `${await closedPortUrl()}/%E0%A4%A.mp3`;
    const { code, stderr } = await sfa(['analyze', url], { env, timeoutMs: 150_000 });
    expect(stderr).not.toMatch(/URI malformed|Something went wrong/);
    expect(stderr).toMatch(/Could not download from 127\.0\.0\.1:\d+: connection refused/);
    expect(code).toBe(1);
    const tracks = await db.orm.em.fork().execute<{ title: string }[]>(`select title from tracks where source_url = ?`, [url]);
    expect(tracks.map((t) => t.title)).toEqual(['%E0%A4%A']);
    await nothingLeftRunning();
  }, 180_000);

  it('a 2 KB link of every kind of percent-encoding answering with a web page: exit 1, says so', async () => {
    const head = `${server.baseUrl}/`;
    const tail = `.mp3?q=${NASTY}`;
    const url = `${head}${NASTY.repeat(40).slice(0, 2040 - head.length - tail.length).replace(/%[0-9A-Fa-f]?$/, '')}${tail}`;
    expect(url.length).toBeGreaterThan(2000);
    expect(url.length).toBeLessThanOrEqual(2048);
    const { code, stderr } = await sfa(['analyze', url], { env, timeoutMs: 150_000 });
    expect(stderr).toMatch(/That link is a web page \(text\/html\), not an audio file\./);
    expect(code).toBe(1);
    const tracks = await db.orm.em.fork().execute<{ title: string }[]>(`select title from tracks where source_url like ?`, [`${server.baseUrl}/%`]);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]!.title.length).toBeLessThanOrEqual(200);
    await nothingLeftRunning();
  }, 180_000);

  it('a link over 2 KB is a usage error (exit 2) that says the limit, and queues nothing', async () => {
    const url = `${server.baseUrl}/${NASTY.repeat(30)}.mp3`;
    const before = server.requests.length;
    const { code, stderr } = await sfa(['analyze', url], { env, timeoutMs: 150_000 });
    expect(stderr).toMatch(/That input is too long \(\d+ characters; the limit is 2048\)/);
    expect(code).toBe(2);
    expect(server.requests.length).toBe(before);
    await nothingLeftRunning();
  }, 180_000);
});
