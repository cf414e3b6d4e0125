/**
 * EngineClient: owns one long-lived Python engine process (`python -m sfa_engine`)
 * and turns the JSON-lines protocol into promises.
 *
 * - The engine is spawned lazily (or by `start()`), and a request waits for its
 *   `ready` line. Requests are sent at once; the engine queues them and runs one at a time.
 * - Cancelling (AbortSignal) or a per-request timeout sends `cancel`; if the
 *   engine has not ended the request within `cancelGraceMs`, the process is
 *   SIGKILLed and restarted.
 * - If the process dies, only the request it was running fails (`internal`,
 *   "engine crashed"); requests queued behind it are re-sent to a new process.
 * - stderr lines go to the logger and are never parsed.
 */
import { createInterface } from 'node:readline';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { defaultPython, REPO_ROOT } from '../../config.ts';
import { childEnv } from '../../domain/childEnv.ts';
import type { Logger } from '../../log.ts';
import {
  EngineRequest,
  RESULT_SCHEMAS,
  parseEngineLine,
  type EngineCommand,
  type EngineErrorCode,
  type EngineMessage,
  type ReadyMessage,
  type ResultFor,
} from './protocol.ts';

/** `timeout` is client-side only: the engine never sends it. */
export type EngineClientErrorCode = EngineErrorCode | 'timeout';

export class EngineError extends Error {
  readonly code: EngineClientErrorCode;
  readonly details?: Record<string, unknown>;
  override readonly name = 'EngineError';
  constructor(code: EngineClientErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
  }
}


export const stderrLogger: Logger = {
  info: (m) => process.stderr.write(`[engine] ${m}\n`),
  warn: (m) => process.stderr.write(`[engine] ${m}\n`),
  error: (m) => process.stderr.write(`[engine] ${m}\n`),
};

export interface EngineClientOptions {
  /** Python interpreter (the config's `python`, SFA_PYTHON); default <repo>/python/.venv/bin/python. */
  python?: string;
  /** Extra environment for the engine (SFA_MODEL_DIR, SFA_DEVICE, ...), on top of its minimal one (childEnv). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** How long to wait for the `ready` line (imports torch: a few seconds). */
  readyTimeoutMs?: number;
  /** After a cancel, how long the engine gets before it is killed. */
  cancelGraceMs?: number;
}

export interface RequestOptions {
  onProgress?: (progress: number, stage: string) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
}

interface Pending {
  id: string;
  request: EngineRequest;
  resolve(value: unknown): void;
  reject(error: EngineError): void;
  onProgress?: RequestOptions['onProgress'];
  /** Set once a cancel was sent: the error the request ends with if it is not answered. */
  ending?: EngineError;
  graceTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  cleanup(): void;
}

interface EngineProcess {
  child: ResultPromise<{ buffer: false; reject: false; stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe' }>;
  ready: Promise<ReadyMessage>;
  exited: boolean;
  /** Requests sent to this process, in send order (the engine runs them FIFO). */
  sent: Pending[];
}

export class EngineClient {
  private readonly python: string;
  private readonly env: Record<string, string | undefined>;
  private readonly logger: Logger;
  private readonly readyTimeoutMs: number;
  private readonly cancelGraceMs: number;
  private proc: EngineProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(options: EngineClientOptions = {}) {
    this.python = options.python ?? defaultPython();
    this.env = options.env ?? {};
    this.logger = options.logger ?? stderrLogger;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    this.cancelGraceMs = options.cancelGraceMs ?? 2_000;
  }

  /** The running engine's pid (undefined before start / between restarts). */
  get pid(): number | undefined {
    return this.proc && !this.proc.exited ? this.proc.child.pid : undefined;
  }

  /** Spawns the engine if needed and resolves with its `ready` message. */
  start(): Promise<ReadyMessage> {
    if (this.closed) return Promise.reject(new EngineError('internal', 'engine client is closed'));
    if (!this.proc || this.proc.exited) this.proc = this.spawn();
    return this.proc.ready;
  }

  async request<C extends EngineCommand>(command: C, options: RequestOptions = {}): Promise<ResultFor<C>> {
    const id = `r${this.nextId++}`;
    const parsed = EngineRequest.safeParse({ ...command, id });
    if (!parsed.success) throw new EngineError('bad_input', `invalid engine request: ${parsed.error.message}`);
    if (options.signal?.aborted) throw new EngineError('cancelled', 'cancelled before it was sent');

    const result = new Promise<unknown>((resolve, reject) => {
      const pending: Pending = {
        id,
        request: parsed.data,
        resolve,
        reject,
        onProgress: options.onProgress,
        cleanup: () => {
          clearTimeout(pending.graceTimer);
          clearTimeout(pending.timeoutTimer);
          options.signal?.removeEventListener('abort', onAbort);
          this.pending.delete(id);
        },
      };
      const onAbort = () => this.endEarly(pending, new EngineError('cancelled', 'cancelled by the caller'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        pending.timeoutTimer = setTimeout(
          () => this.endEarly(pending, new EngineError('timeout', `engine request timed out after ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      }
      this.pending.set(id, pending);
      this.send(pending).catch((error: unknown) => this.settle(pending, toEngineError(error)));
    });
    const value = await result;
    const schema = RESULT_SCHEMAS[command.cmd as keyof typeof RESULT_SCHEMAS];
    const checked = schema.safeParse(value);
    if (!checked.success) throw new EngineError('internal', `unexpected ${command.cmd} result: ${checked.error.message}`);
    return checked.data as ResultFor<C>;
  }

  /** Ends stdin (the engine finishes nothing new), waits, then kills if needed. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    for (const p of [...this.pending.values()]) this.settle(p, new EngineError('internal', 'engine client closed'));
    const proc = this.proc;
    if (!proc || proc.exited) return;
    proc.child.stdin.end();
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
    await proc.child;
    clearTimeout(timer);
  }

  // --- internals ---------------------------------------------------------------

  private async send(pending: Pending): Promise<void> {
    const proc = !this.proc || this.proc.exited ? (this.proc = this.spawn()) : this.proc;
    await proc.ready;
    if (!this.pending.has(pending.id)) return; // ended while waiting for ready
    if (proc.exited) throw new EngineError('internal', 'engine exited before the request was sent');
    proc.sent.push(pending);
    proc.child.stdin.write(`${JSON.stringify(pending.request)}\n`);
  }

  /** Cancel (or time out) a request: ask the engine, kill it if it does not comply in time. */
  private endEarly(pending: Pending, error: EngineError): void {
    if (!this.pending.has(pending.id) || pending.ending) return;
    pending.ending = error;
    const proc = this.proc;
    if (!proc || proc.exited || !proc.sent.includes(pending)) {
      this.settle(pending, error); // not sent yet: nothing to stop
      return;
    }
    const cancel = { id: `c${this.nextId++}`, cmd: 'cancel', target: pending.id };
    proc.child.stdin.write(`${JSON.stringify(cancel)}\n`);
    pending.graceTimer = setTimeout(() => {
      if (!this.pending.has(pending.id)) return;
      this.logger.warn(`request ${pending.id} did not stop within ${this.cancelGraceMs} ms; killing the engine`);
      proc.child.kill('SIGKILL'); // onExit settles it with `ending` and restarts the rest
    }, this.cancelGraceMs);
  }

  private settle(pending: Pending, outcome: EngineError | { value: unknown }): void {
    if (!this.pending.has(pending.id)) return;
    pending.cleanup();
    if (outcome instanceof EngineError) pending.reject(outcome);
    else pending.resolve(outcome.value);
  }

  private spawn(): EngineProcess {
    const env = childEnv('engine', { PYTHONUNBUFFERED: '1', ...this.env });
    // Unless the environment names one: the numba cache that `npm run setup` warms (saves ~60 s on a fresh engine's first analysis).
    env.NUMBA_CACHE_DIR ??= path.join(REPO_ROOT, '.cache/numba');
    const child = execa(this.python, ['-m', 'sfa_engine'], {
      cwd: path.join(REPO_ROOT, 'python'),
      env,
      extendEnv: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    let markReady!: (m: ReadyMessage) => void;
    let failReady!: (e: EngineError) => void;
    const ready = new Promise<ReadyMessage>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => {}); // observed by whoever awaits it; avoid unhandled rejections
    const proc: EngineProcess = { child, ready, exited: false, sent: [] };
    const readyTimer = setTimeout(() => {
      failReady(new EngineError('internal', `engine not ready after ${this.readyTimeoutMs} ms`));
      child.kill('SIGKILL');
    }, this.readyTimeoutMs);

    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: EngineMessage;
      try {
        message = parseEngineLine(line);
      } catch (error) {
        this.logger.error(String((error as Error).message));
        return;
      }
      if (message.type === 'ready') {
        clearTimeout(readyTimer);
        markReady(message);
      } else this.onMessage(proc, message);
    });
    createInterface({ input: child.stderr }).on('line', (line) => this.logger.info(line));
    child.stdin.on('error', () => {}); // EPIPE after a crash is reported through the exit below

    void child.then((result) => {
      proc.exited = true;
      clearTimeout(readyTimer);
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      failReady(new EngineError('internal', `engine exited during start-up (${how})`));
      this.onExit(proc, how);
    });
    return proc;
  }

  private onMessage(proc: EngineProcess, message: EngineMessage): void {
    if (message.id === null) {
      if (message.type === 'error') this.logger.error(`engine: ${message.code}: ${message.message}`);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return; // e.g. the answer to our own `cancel`, or a request we already gave up on
    if (message.type === 'progress') {
      pending.onProgress?.(message.progress, message.stage);
      return;
    }
    proc.sent = proc.sent.filter((p) => p !== pending);
    if (message.type === 'result') this.settle(pending, { value: message.result });
    else if (message.type === 'error') {
      // A cancel we asked for ends with our reason (cancelled or timeout).
      const error =
        message.code === 'cancelled' && pending.ending
          ? pending.ending
          : new EngineError(message.code, message.message, message.details);
      this.settle(pending, error);
    }
  }

  private onExit(proc: EngineProcess, how: string): void {
    if (this.proc === proc) this.proc = undefined;
    const unanswered = proc.sent.filter((p) => this.pending.has(p.id));
    proc.sent = [];
    // The engine runs one job at a time, FIFO; pings are answered at once. So the
    // first unanswered separate/analyze was the one running: only it fails.
    const running = unanswered.find((p) => p.request.cmd !== 'ping');
    for (const p of unanswered) {
      if (p === running || p.ending) {
        this.settle(p, p.ending ?? new EngineError('internal', `engine crashed (${how}) while running this request`));
      }
    }
    const resend = unanswered.filter((p) => this.pending.has(p.id));
    if (this.closed) {
      for (const p of resend) this.settle(p, new EngineError('internal', 'engine client closed'));
      return;
    }
    if (resend.length > 0) this.logger.warn(`engine ${how}; restarting it for ${resend.length} queued request(s)`);
    for (const p of resend) this.send(p).catch((error: unknown) => this.settle(p, toEngineError(error)));
  }
}

function toEngineError(error: unknown): EngineError {
  return error instanceof EngineError ? error : new EngineError('internal', String((error as Error)?.message ?? error));
}
