/**
 * A local stand-in for demucs' download server: tiny generated checkpoints
 * (python -m sfa_engine.make_test_model, named `<sig>-<sha256[:8]>.th` from
 * their content) under `hybrid_transformer/`, and a `files.txt` in demucs'
 * format listing them (a mirror's own list). HTTP Range is honoured; each
 * file can be told how to misbehave on its next requests.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { execa } from 'execa';
import { REPO_ROOT } from '../../src/config.ts';
import { PYTHON, tempDir } from '../engine/helpers.ts';
import { startFakeHttp, type FakeHttp, type RecordedRequest } from './fakeHttp.ts';

export const ROOT = 'hybrid_transformer/';

export type Behaviour =
  | 'ok'
  /** Half the bytes asked for, then the connection is dropped. */
  | 'cut'
  /** Half the bytes, then nothing (the connection stays open). */
  | 'stall'
  /** Small chunks with pauses (~4 s for a tiny model): time for a second process or a Ctrl-C. */
  | 'slow'
  | 'not_found'
  | 'forbidden'
  | 'html'
  /** The right length, one byte changed. */
  | 'corrupt';

export interface ModelServer {
  baseUrl: string;
  http: FakeHttp;
  /** File name -> content. */
  files: Map<string, Buffer>;
  /** The next requests of `name` behave like this, in order (then 'ok'). */
  plan(name: string, ...behaviours: Behaviour[]): void;
  /** Whether the server's root has a files.txt (false: clients use demucs' packaged list). */
  serveList: boolean;
  /** Pause between the 16 KiB chunks of a 'slow' answer (default 100 ms). */
  slowMs: number;
  /** Body bytes sent per file. */
  sent: Map<string, number>;
  requestsFor(name: string): RecordedRequest[];
  close(): Promise<void>;
}

/** Generates tiny checkpoints of `models` (and their yaml, unused: clients take demucs' own). */
export async function makeServedFiles(models: string[]): Promise<Map<string, Buffer>> {
  const dir = tempDir('served');
  for (const name of models) {
    await execa(PYTHON, ['-m', 'sfa_engine.make_test_model', '--name', name, '--size', 'tiny', '--dir', dir], { cwd: path.join(REPO_ROOT, 'python') });
  }
  const files = new Map(readdirSync(dir).filter((n) => n.endsWith('.th')).map((n) => [n, readFileSync(path.join(dir, n))]));
  rmSync(dir, { recursive: true, force: true });
  return files;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startModelServer(files: Map<string, Buffer>): Promise<ModelServer> {
  const plans = new Map<string, Behaviour[]>();
  const sent = new Map<string, number>();
  const state = { serveList: true, slowMs: 100 };
  const count = (name: string, n: number) => sent.set(name, (sent.get(name) ?? 0) + n);

  async function sendFile(req: RecordedRequest, res: ServerResponse, name: string, content: Buffer, behaviour: Behaviour): Promise<void> {
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const from = range ? Number(range[1]) : 0;
    if (from >= content.length && range) {
      res.writeHead(416, { 'content-range': `bytes */${content.length}` });
      return void res.end();
    }
    const body = behaviour === 'corrupt' ? Buffer.from(content) : content.subarray(from);
    if (behaviour === 'corrupt') body.writeUInt8(body.readUInt8(body.length >> 1) ^ 0xff, body.length >> 1);
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': body.length, 'accept-ranges': 'bytes' };
    if (range) headers['content-range'] = `bytes ${from}-${content.length - 1}/${content.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (behaviour === 'cut' || behaviour === 'stall') {
      const half = body.subarray(0, body.length >> 1);
      await new Promise<void>((resolve) => res.write(half, () => resolve()));
      count(name, half.length);
      if (behaviour === 'cut') res.socket?.destroy();
      return; // 'stall': never ends
    }
    if (behaviour === 'slow') {
      for (let at = 0; at < body.length; at += 16_384) {
        if (res.destroyed) return;
        const chunk = body.subarray(at, at + 16_384);
        res.write(chunk);
        count(name, chunk.length);
        await pause(state.slowMs);
      }
      return void res.end();
    }
    count(name, body.length);
    res.end(body);
  }

  const http = await startFakeHttp(async (req, res) => {
    if (req.path === '/files.txt') {
      if (!state.serveList) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no list here');
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(`# test models\nroot: ${ROOT}\n${[...files.keys()].join('\n')}\n`);
    }
    const name = req.path.startsWith(`/${ROOT}`) ? req.path.slice(ROOT.length + 1) : undefined;
    const content = name === undefined ? undefined : files.get(name);
    const behaviour = (name && plans.get(name)?.shift()) || 'ok';
    if (!name || !content || behaviour === 'not_found') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    if (behaviour === 'forbidden') return void res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
    if (behaviour === 'html') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Sign in to the Wi-Fi</title>');
    await sendFile(req, res, name, content, behaviour);
  });

  return {
    baseUrl: http.baseUrl,
    http,
    files,
    sent,
    get serveList() {
      return state.serveList;
    },
    set serveList(value: boolean) {
      state.serveList = value;
    },
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(value: number) {
      state.slowMs = value;
    },
    plan(name, ...behaviours) {
      plans.set(name, [...(plans.get(name) ?? []), ...behaviours]);
    },
    requestsFor: (name) => http.requests.filter((r) => r.path === `/${ROOT}${name}`),
    close: () => http.close(),
  };
}

/** The served checkpoint of signature `sig` (its name and content). */
export function servedCheckpoint(server: ModelServer, sig: string): { name: string; content: Buffer } {
  const name = [...server.files.keys()].find((n) => n.startsWith(`${sig}-`));
  if (!name) throw new Error(`no served checkpoint for ${sig}`);
  return { name, content: server.files.get(name)! };
}
