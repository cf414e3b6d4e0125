/**
 * The part `sfa separate` and `sfa analyze` share: open a session, make the
 * request, run the workers here (unless --no-worker), follow the rows with
 * live progress until they settle, hand the outcome to the command, and shut
 * everything down — also on Ctrl-C (exit 130; a second Ctrl-C exits at once).
 */
import type { Config } from '../config.ts';
import { allSettled, type StageStates } from '../domain/cliProgress.ts';
import { EngineClient } from '../jobs/engine/client.ts';
import type { CancelTicket } from '../jobs/pipeline/cancel.ts';
import type { Logger } from '../log.ts';
import type { FollowedRow, FollowOutcome } from './follow.ts';
import { chooseMode, createProgressView } from './progressView.ts';
import type { Session } from './session.ts';

export const EXIT_INTERRUPTED = 130;

export interface PipelineSessionSpec {
  /** For messages: `sfa <command>: ...`. */
  command: string;
  config: Config;
  /** false: other processes serve the queues (`--no-worker`). */
  inProcessWorkers: boolean;
  json: boolean;
}

export interface PipelineRunSpec<T extends CancelTicket> extends PipelineSessionSpec {
  request(session: Session): Promise<T>;
  rowsOf(ticket: T): FollowedRow[];
  /** Called once the rows settled; prints the result and returns the exit code. */
  finish(session: Session, ticket: T, outcome: FollowOutcome): Promise<number>;
}

/** What a command does its requests through, inside withPipelineSession. */
export interface PipelineRunner {
  readonly session: Session;
  /** Ctrl-C (or SIGTERM) was received: make no further request. */
  readonly interrupted: boolean;
  /** The exit code an interrupted run ends with (130 after Ctrl-C, 143 after SIGTERM). */
  interruptedExit(): number;
  /** A line on stderr between progress updates (nothing with `--json` into a pipe). */
  note(line: string): void;
  /**
   * Follows one request's rows with live progress (starting the in-process workers when
   * something must run). Unsettled (Ctrl-C, workers that cannot start): the ticket is
   * cancelled, the engine stopped, and the exit code to end with is returned instead.
   */
  follow<T extends CancelTicket>(ticket: T, rows: FollowedRow[]): Promise<{ outcome: FollowOutcome } | { exit: number }>;
}

/** Seconds a stage may sit queued with --no-worker before the user is told why nothing moves. */
const WORKER_HINT_AFTER_MS = 15_000;

export async function runPipeline<T extends CancelTicket>(spec: PipelineRunSpec<T>): Promise<number> {
  return withPipelineSession(spec, async (runner) => {
    const ticket = await spec.request(runner.session);
    const followed = await runner.follow(ticket, spec.rowsOf(ticket));
    if ('exit' in followed) return followed.exit;
    await runner.session.stopFetching();
    return spec.finish(runner.session, ticket, followed.outcome);
  });
}

/**
 * The session around a command's requests: signals, the early-started engine, the database,
 * the workers, and the shutdown of all of it however `body` ends.
 */
export async function withPipelineSession(spec: PipelineSessionSpec, body: (runner: PipelineRunner) => Promise<number>): Promise<number> {
  const mode = chooseMode(process.stderr, spec.json);
  let view = createProgressView(mode, process.stderr);
  const verbose = spec.config.verbose || spec.config.logLevel === 'debug' || spec.config.logLevel === 'trace';
  // After Ctrl-C the workers report the rows they could not finish; that is expected, not news.
  let stopping = false;
  const log: Logger = {
    info: (m) => (verbose ? view.log(`[worker] ${m}`) : undefined),
    warn: (m) => (verbose || !stopping ? view.log(`[worker] ${m}`) : undefined),
    error: (m) => view.log(`[worker] ${m}`),
  };
  const interrupt = new AbortController();
  let signals = 0;
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    interruptedBy ??= signal;
    if (signals > 1) {
      process.stderr.write(`\n${spec.command}: interrupted again; exiting now\n`);
      process.exit(signal === 'SIGTERM' ? 143 : EXIT_INTERRUPTED);
    }
    view.log(`${spec.command}: interrupted; stopping (press Ctrl-C again to quit at once)`);
    stopping = true;
    process.on('uncaughtException', onDroppedConnection);
    interrupt.abort();
  };
  // The database may go away while we stop (a server shut down by the same signal, e.g. a
  // DATABASE_URL server run from the same terminal): those dropped connections are expected
  // then; anything else still ends the process as an uncaught exception would.
  const onDroppedConnection = (error: Error) => {
    if (isDroppedConnection(error)) {
      if (verbose) view.log(`${spec.command}: database connection dropped while stopping (${error.message})`);
      return;
    }
    process.stderr.write(`${spec.command}: ${error.stack ?? String(error)}\n`);
    process.exit(1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // The engine imports torch for a few seconds: start it now, alongside the database
  // set-up. If the request turns out to be served from storage it is stopped unused.
  const engine = spec.inProcessWorkers
    ? new EngineClient({
        python: spec.config.python,
        env: { SFA_MODEL_DIR: spec.config.modelDir, SFA_DEVICE: spec.config.device },
        logger: { info: (m) => (verbose ? view.log(`[engine] ${m}`) : undefined), warn: (m) => view.log(`[engine] ${m}`), error: (m) => view.log(`[engine] ${m}`) },
      })
    : undefined;
  engine?.start().catch(() => undefined); // a start-up failure surfaces as the job's failure, if a job needs it

  let session: Session | undefined;
  let hint: NodeJS.Timeout | undefined;
  let workersStarted = false;
  let workersFailed: string | undefined;
  try {
    const { openSession } = await import('./session.ts');
    try {
      session = await openSession({ config: spec.config, ...(engine ? { engine } : {}), log });
    } catch (error) {
      process.stderr.write(`${spec.command}: cannot open the database: ${(error as Error).message}\n`);
      return 1;
    }
    if (interrupt.signal.aborted) return interruptedExit(interruptedBy);
    const open = session;

    const follow = async <T extends CancelTicket>(ticket: T, rows: FollowedRow[]): Promise<{ outcome: FollowOutcome } | { exit: number }> => {
      // A fresh view per request: plain lines start again from "queued" for each track of a batch.
      view.finish();
      view = createProgressView(mode, process.stderr);
      let latest: StageStates = {};
      const onChange = (stages: StageStates) => {
        latest = stages;
        view.update(stages);
        if (!workersStarted && !allSettled(stages) && open.runsWorkers) {
          workersStarted = true;
          open.startWorkers().catch((error: unknown) => {
            // Nothing would run the rows: stop following, cancel them, fail.
            workersFailed = `cannot start the workers: ${(error as Error).message}`;
            interrupt.abort();
          });
        }
      };
      clearTimeout(hint);
      hint = open.runsWorkers
        ? undefined
        : setTimeout(() => {
            if (Object.values(latest).some((s) => s.status === 'queued')) {
              view.log(`${spec.command}: still queued; with --no-worker a worker process must serve the queues (\`npm start -- --role worker\` on this database)`);
            }
          }, WORKER_HINT_AFTER_MS);
      const outcome = await open.follower.follow(rows, onChange, interrupt.signal);
      clearTimeout(hint);
      if (outcome.settled) {
        view.finish();
        return { outcome };
      }
      const what = await open.interrupt(ticket, workersFailed && !interruptedBy ? `the command line's workers could not start` : undefined);
      view.finish();
      if (workersFailed && !interruptedBy) {
        process.stderr.write(`${spec.command}: ${workersFailed} (${what})\n`);
        return { exit: 1 };
      }
      process.stderr.write(`${spec.command}: interrupted (${what})\n`);
      return { exit: interruptedExit(interruptedBy) };
    };

    return await body({
      session: open,
      get interrupted() {
        return interrupt.signal.aborted;
      },
      interruptedExit: () => interruptedExit(interruptedBy),
      note: (line) => (mode === 'none' ? undefined : view.log(line)),
      follow,
    });
  } catch (error) {
    // The database went away mid-run, a row vanished, ...: say what, and fail.
    view.finish();
    process.stderr.write(`${spec.command}: ${(error as Error).message}\n`);
    return interruptedBy ? interruptedExit(interruptedBy) : 1;
  } finally {
    clearTimeout(hint);
    view.finish();
    if (session) await session.close();
    else await engine?.close(1000).catch(() => undefined); // no session: the engine is still ours to close
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onDroppedConnection);
  }
}

/** 130 after Ctrl-C (SIGINT), 143 after SIGTERM: 128 + the signal number, as shells report it. */
function interruptedExit(signal: NodeJS.Signals | undefined): number {
  return signal === 'SIGTERM' ? 143 : EXIT_INTERRUPTED;
}

/** PostgreSQL's admin shutdown / crash codes, and node-postgres' "Connection terminated". */
export function isDroppedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '57P01' || code === '57P02' || code === '57P03') return true;
  return /connection terminated/i.test(String((error as Error | null)?.message ?? ''));
}
