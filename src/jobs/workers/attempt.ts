/**
 * Watching the rows of the jobs this process is running.
 *
 * One AttemptWatch per worker process. For every claimed row it
 * - touches the row every heartbeat (touchJob), so the reaper can tell a live
 *   worker from a vanished one even when progress does not move;
 * - stops the work when the row stops being ours: someone cancelled it (or the
 *   reaper settled it as lost). It hears that at once through ONE shared
 *   LISTEN sfa_progress connection, and in any case at the next heartbeat,
 *   whose conditional UPDATE finds the row no longer active (a missed
 *   notification, or a LISTEN connection being re-established).
 *
 * The attempt's signal combines that with pg-boss's job.signal (expiry), and
 * is what the engine, yt-dlp, ffmpeg and fetch get: the engine turns it into a
 * `cancel` (SIGKILL after a 2 s grace), runTool kills its child.
 */
import type { Orm } from '../../db/orm.ts';
import { touchJob, type JobKind } from '../../db/jobStatusWrites.ts';
import { followProgress, type ProgressEvent, type ProgressFollower } from '../pipeline/progressEvents.ts';
import type { Logger } from '../../log.ts';

export interface AttemptWatchOptions {
  /** Milliseconds between heartbeats (and fallback row checks). */
  heartbeatMs: number;
  /** Delay before re-LISTENing after the connection was lost (default 2000). */
  reconnectMs?: number;
}

export class Attempt {
  readonly kind: JobKind;
  readonly id: string;
  /** pg-boss's signal for this delivery: aborted when the job expired. */
  private readonly jobSignal: AbortSignal | undefined;
  private readonly onEnd: (attempt: Attempt) => void;
  readonly signal: AbortSignal;
  readonly #own = new AbortController();
  #gone: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(kind: JobKind, id: string, jobSignal: AbortSignal | undefined, onEnd: (attempt: Attempt) => void) {
    this.kind = kind;
    this.id = id;
    this.jobSignal = jobSignal;
    this.onEnd = onEnd;
    this.signal = jobSignal ? AbortSignal.any([jobSignal, this.#own.signal]) : this.#own.signal;
  }

  /**
   * Set when the row was settled by someone else (cancelled, or failed as lost):
   * the worker writes nothing more about it, removes its files, and it is not a loss to retry.
   */
  get rowGone(): string | undefined {
    return this.#gone;
  }

  /** pg-boss aborted this delivery (the job outlived its expiry). */
  get expired(): boolean {
    return this.jobSignal?.aborted ?? false;
  }

  /** The row is no longer ours: stop the work. */
  stop(why: string): void {
    if (this.#ended || this.#gone !== undefined) return;
    this.#gone = why;
    this.#own.abort(new Error(`job row ${this.id} ${why}`));
  }

  /** @internal */
  startHeartbeat(beat: () => void, ms: number): void {
    this.#timer = setInterval(beat, ms);
    this.#timer.unref();
  }

  /** The work is over (completed, failed or stopped): no more heartbeats or stops. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    this.onEnd(this);
  }
}

export class AttemptWatch {
  private readonly orm: Orm;
  private readonly log: Logger;
  private readonly options: AttemptWatchOptions;
  readonly #live = new Map<string, Attempt>();
  #follower: ProgressFollower | undefined;
  #url: string | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #closed = false;
  #heartbeatFailing = false;
  readonly #beating = new WeakSet<Attempt>();

  constructor(orm: Orm, log: Logger, options: AttemptWatchOptions) {
    this.orm = orm;
    this.log = log;
    this.options = options;
  }

  /** Listens for rows turning failed on `url`; re-listens after a lost connection. Resolves once listening. */
  async listen(url: string): Promise<void> {
    this.#url = url;
    await this.#connect();
  }

  begin(kind: JobKind, id: string, jobSignal?: AbortSignal): Attempt {
    const attempt = new Attempt(kind, id, jobSignal, (a) => {
      if (this.#live.get(a.id) === a) this.#live.delete(a.id);
    });
    this.#live.set(id, attempt);
    attempt.startHeartbeat(() => void this.#beat(attempt), this.options.heartbeatMs);
    return attempt;
  }

  /** How many attempts are being watched (for tests and logs). */
  get size(): number {
    return this.#live.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnect);
    for (const attempt of [...this.#live.values()]) attempt.end();
    const follower = this.#follower;
    this.#follower = undefined;
    await follower?.close().catch(() => undefined);
  }

  #onEvent = (event: ProgressEvent): void => {
    if (event.status !== 'failed') return;
    const attempt = this.#live.get(event.jobId);
    if (attempt && attempt.kind === event.kind) attempt.stop(`was failed elsewhere (${event.error ?? 'no reason given'})`);
  };

  async #beat(attempt: Attempt): Promise<void> {
    if (this.#beating.has(attempt)) return; // the previous one is still waiting for the database
    this.#beating.add(attempt);
    try {
      const active = await touchJob(this.orm.em.fork(), attempt.kind, attempt.id);
      if (this.#heartbeatFailing) this.log.info('heartbeats are being written again');
      this.#heartbeatFailing = false;
      if (!active) attempt.stop('is no longer active');
    } catch (error) {
      // The database is unreachable: the work goes on; the reaper judges by the row once it is back.
      if (!this.#heartbeatFailing) this.log.warn(`heartbeat of ${attempt.kind} job ${attempt.id} failed: ${String((error as Error).message ?? error)}`);
      this.#heartbeatFailing = true;
    } finally {
      this.#beating.delete(attempt);
    }
  }

  async #connect(): Promise<void> {
    if (this.#closed || !this.#url) return;
    let lost = false;
    const onError = (error: Error) => {
      if (lost) return;
      lost = true;
      this.log.warn(`progress listener lost its connection (${error.message}); heartbeats still check the rows`);
      const follower = this.#follower;
      this.#follower = undefined;
      void follower?.close().catch(() => undefined);
      this.#scheduleReconnect();
    };
    try {
      this.#follower = await followProgress(this.#url, this.#onEvent, onError);
    } catch (error) {
      if (!lost) onError(error as Error);
      return;
    }
    if (this.#closed) await this.#follower?.close().catch(() => undefined); // closed while connecting
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    clearTimeout(this.#reconnect);
    this.#reconnect = setTimeout(() => {
      void this.#connect().then(() => {
        if (this.#follower) this.log.info('progress listener connected again');
      });
    }, this.options.reconnectMs ?? 2_000);
    this.#reconnect.unref();
  }
}
