import { execa } from 'execa';
import { childEnv } from '../../domain/childEnv.ts';

/** Outcome of running an external tool; never throws for a non-zero exit. */
export interface ToolRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  spawnErrorCode: string | undefined;
}

export interface RunToolOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  cwd?: string;
  /** Set on top of the child's minimal environment (see childEnv); the parent's is never passed whole. */
  env?: Record<string, string | undefined>;
  /** Called for each stdout line as it arrives (progress parsing). */
  onStdoutLine?: (line: string) => void;
}

const KILL_GRACE_MS = 2000;

/**
 * Runs `file` with an argv array — never through a shell, so titles and URLs can
 * contain anything. Bounded by a timeout and an optional AbortSignal.
 *
 * The tool runs in its own process group and the whole group is killed on
 * timeout/cancel: yt-dlp and spotdl start ffmpeg children which would otherwise
 * survive, keep our pipes open and make us wait for them.
 */
export async function runTool(file: string, args: readonly string[], opts: RunToolOptions): Promise<ToolRun> {
  const onLine = opts.onStdoutLine;
  const subprocess = execa(file, args, {
    reject: false,
    detached: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: childEnv('tool', { PYTHONUNBUFFERED: '1', ...opts.env }),
    extendEnv: false,
    stdin: 'ignore',
    maxBuffer: 32 * 1024 * 1024,
    stdout: onLine
      ? function* (line: unknown) {
          const text = String(line);
          try {
            onLine(text);
          } catch {
            // a faulty progress callback must not break the download
          }
          yield text;
        }
      : 'pipe',
  });

  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = () => {
    const pid = subprocess.pid;
    if (pid === undefined) return;
    const send = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    send('SIGTERM');
    killTimer ??= setTimeout(() => send('SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    killGroup();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const result = await subprocess;
    const killedByUs = timedOut || cancelled;
    return {
      exitCode: result.exitCode,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut,
      cancelled,
      spawnErrorCode: result.exitCode === undefined && !killedByUs && result.signal === undefined ? result.code : undefined,
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
