/**
 * EngineClient against the REAL Python engine with tiny random models.
 * Kept short: 3 s inputs, one engine shared by the file.
 */
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient, EngineError } from '../../src/jobs/engine/client.ts';
import { SeparateResult } from '../../src/jobs/engine/protocol.ts';
import { makeTinyModels, memoryLogger, tempDir, wavInfo, writeToneWav } from './helpers.ts';

let modelDir: string;
let audioDir: string;
let tone3: string;
let tone30: string;
let client: EngineClient;
const logger = memoryLogger();

beforeAll(async () => {
  modelDir = await makeTinyModels(['htdemucs']);
  audioDir = tempDir('audio');
  tone3 = writeToneWav(path.join(audioDir, 'tone3.wav'), 3);
  tone30 = writeToneWav(path.join(audioDir, 'tone30.wav'), 30);
  writeFileSync(path.join(audioDir, 'not-audio.mp3'), 'hello\n'.repeat(100));
  client = new EngineClient({ env: { SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu' }, logger });
  await client.start();
}, 120_000);

afterAll(async () => {
  await client?.close();
});

function separate(input: string, extra: Record<string, unknown> = {}) {
  return { cmd: 'separate' as const, input, out_dir: tempDir('out'), model: 'htdemucs', ...extra };
}

/** Waits until a request reports separation progress, so a cancel/kill hits a running job. */
function whenSeparating(): { onProgress: (p: number, stage: string) => void; started: Promise<void> } {
  let resolve!: () => void;
  const started = new Promise<void>((r) => (resolve = r));
  return { onProgress: (_p, stage) => stage === 'separating' && resolve(), started };
}

describe('EngineClient with the real engine', () => {
  it('answers ping after the ready handshake', async () => {
    const ready = await client.start();
    expect(ready).toMatchObject({ type: 'ready', device: 'cpu' });
    const pong = await client.request({ cmd: 'ping' });
    expect(pong.pong).toBe(true);
  });

  it('separates a 3 s tone into four decodable stems with monotonic progress', async () => {
    const progress: number[] = [];
    const result = await client.request(separate(tone3), { onProgress: (p) => progress.push(p) });
    expect(SeparateResult.parse(result)).toBeTruthy();
    expect(result.stems.map((s) => s.name)).toEqual(['drums', 'bass', 'other', 'vocals']);
    expect(result.duration).toBeCloseTo(3, 2);
    for (const stem of result.stems) {
      expect(wavInfo(stem.path)).toEqual({ channels: 2, sampleRate: 44100, bits: 16, frames: 3 * 44100 });
    }
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
  }, 60_000);

  it('turns bad input into a typed error and keeps serving', async () => {
    const missing = client.request(separate(path.join(audioDir, 'nope.wav')));
    await expect(missing).rejects.toMatchObject({ name: 'EngineError', code: 'bad_input' });
    const notAudio = client.request(separate(path.join(audioDir, 'not-audio.mp3')));
    await expect(notAudio).rejects.toMatchObject({ code: 'unsupported_audio' });
    await expect(client.request(separate(tone3, { model: 'htdemucs_ft' }))).rejects.toMatchObject({
      code: 'model_missing',
      details: { files: ['htdemucs_ft.yaml', 'f7e0c4bc-*.th', 'd12395a8-*.th', '92cfc3b6-*.th', '04573f0d-*.th'] },
    });
    expect((await client.request({ cmd: 'ping' })).pong).toBe(true);
  }, 60_000);

  it('rejects an invalid request before sending it', async () => {
    await expect(client.request({ cmd: 'separate', input: 'a.wav', out_dir: '/tmp', model: 'htdemucs', shifts: -1 })).rejects.toMatchObject({
      code: 'bad_input',
    });
  });

  it('cancels through an AbortSignal within 2 s and removes partial files', async () => {
    const req = separate(tone30, { shifts: 2 });
    const controller = new AbortController();
    const watch = whenSeparating();
    const pending = client.request(req, { signal: controller.signal, onProgress: watch.onProgress });
    await watch.started;
    const pidBefore = client.pid;
    const t0 = performance.now();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(client.pid).toBe(pidBefore); // the engine honoured the cancel: no kill needed
    expect(readdirSync(req.out_dir)).toEqual([]);
  }, 60_000);

  it('fails only the running request when the engine is killed, then restarts', async () => {
    const watch = whenSeparating();
    const running = client.request(separate(tone30), { onProgress: watch.onProgress });
    const queued = client.request(separate(tone3));
    await watch.started;
    const pid = client.pid!;
    process.kill(pid, 'SIGKILL');
    await expect(running).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('engine crashed') });
    const result = await queued; // re-sent to the new engine
    expect(result.stems).toHaveLength(4);
    expect(client.pid).not.toBe(pid);
    expect((await client.request({ cmd: 'ping' })).pong).toBe(true);
  }, 90_000);

  it('times out a request and still serves the next one', async () => {
    const t0 = performance.now();
    await expect(client.request(separate(tone30), { timeoutMs: 1500 })).rejects.toMatchObject({ code: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(1500 + 2500);
    expect((await client.request({ cmd: 'ping' })).pong).toBe(true);
  }, 60_000);
});

describe('EngineClient with an engine that ignores cancel', () => {
  it('kills it after the grace period and restarts it for the next request', async () => {
    // A stand-in "python" that says ready, answers ping, and never ends a separate.
    const dir = tempDir('stub');
    const script = path.join(dir, 'engine.mjs');
    writeFileSync(
      script,
      `import { createInterface } from 'node:readline';
console.log(JSON.stringify({ id: null, type: 'ready', version: 'stub', device: 'cpu' }));
createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  if (req.cmd === 'ping') console.log(JSON.stringify({ id: req.id, type: 'result', result: { pong: true, version: 'stub', device: 'cpu', busy: null, models_loaded: [] } }));
  if (req.cmd === 'separate') console.log(JSON.stringify({ id: req.id, type: 'progress', progress: 1, stage: 'separating' }));
});
setInterval(() => {}, 1000);
`,
    );
    const fakePython = path.join(dir, 'python');
    writeFileSync(fakePython, `#!/bin/sh\nexec "${process.execPath}" "${script}"\n`);
    chmodSync(fakePython, 0o755);
    const stub = new EngineClient({ python: fakePython, cancelGraceMs: 500, logger: memoryLogger() });
    try {
      await stub.start();
      const pid = stub.pid;
      const controller = new AbortController();
      const watch = whenSeparating();
      const pending = stub.request(separate(tone3), { signal: controller.signal, onProgress: watch.onProgress });
      await watch.started;
      const t0 = performance.now();
      controller.abort();
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect(error).toMatchObject({ code: 'cancelled' });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(450);
      expect((await stub.request({ cmd: 'ping' })).pong).toBe(true);
      expect(stub.pid).not.toBe(pid);
    } finally {
      await stub.close();
    }
    expect(existsSync(script)).toBe(true);
  }, 30_000);
});
