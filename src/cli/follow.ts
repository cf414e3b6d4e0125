/**
 * Follows a request's job rows live: LISTEN on the progress channel (started
 * before the request is made, so no event is missed), plus a slow re-read of
 * the rows as a backstop — the rows are the truth, NOTIFY only says "look now".
 *
 * A row failed as "worker lost" is replaced by a new row inserted in the same
 * transaction (claim.ts): the follower then follows the replacement, found by
 * its inserted_at being the failed row's updated_at (the same now()).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { JOB_TABLES, type JobKind } from '../db/jobStatusWrites.ts';
import type { Orm } from '../db/orm.ts';
import { allSettled, type CliStage, type StageState, type StageStates } from '../domain/cliProgress.ts';
import { isTerminal, type JobStatus } from '../domain/jobStatus.ts';
import type { ModelFetchProgress } from '../domain/modelFiles.ts';
import { followProgress, type ProgressEvent, type ProgressFollower } from '../jobs/pipeline/progressEvents.ts';

export interface FollowedRow {
  stage: CliStage;
  kind: JobKind;
  id: string;
  /** The request reused this row rather than creating it; completed at the first read = served from storage. */
  reused: boolean;
}

export interface FollowOutcome {
  stages: StageStates;
  /** The row each stage ended on (a replacement's id when a row was replaced). */
  ids: Partial<Record<CliStage, string>>;
  /** Followed to the end (false: stopped by the abort signal). */
  settled: boolean;
}

export interface TicketFollower {
  follow(rows: readonly FollowedRow[], onChange: (stages: StageStates) => void, signal?: AbortSignal): Promise<FollowOutcome>;
  close(): Promise<void>;
}

const RANK: Record<JobStatus, number> = { queued: 0, downloading: 1, processing: 2, completed: 3, failed: 3 };

/** The newer of two observations of one row: status forward only, progress upward only. */
export function mergeObservation(current: StageState, seen: StageState): StageState {
  if (isTerminal(current.status)) return withoutNote(current);
  if (RANK[seen.status] > RANK[current.status]) return seen.note ? { ...current, ...seen } : withoutNote({ ...current, ...seen });
  if (seen.status !== current.status) return current;
  let next = current;
  if (seen.note) next = { ...next, note: seen.note };
  // The percentage moving on means the noted step is over.
  if (seen.progress > current.progress) next = seen.note ? { ...next, progress: seen.progress } : withoutNote({ ...next, progress: seen.progress });
  // A model fetch reports bytes, not progress: the latest observation wins (null: fetched).
  if (seen.fetch !== undefined && JSON.stringify(seen.fetch) !== JSON.stringify(current.fetch ?? null)) next = { ...next, fetch: seen.fetch };
  return next;
}

function withoutNote(state: StageState): StageState {
  if (state.note === undefined) return state;
  const { note: _note, ...rest } = state;
  return rest;
}

type RowRead = { id: string; status: JobStatus; progress: number; error: string | null; fetch?: ModelFetchProgress | null };

/** Milliseconds between the backstop re-reads of the followed rows. */
const POLL_MS = 2000;

export async function startFollowing(url: string, orm: Orm): Promise<TicketFollower> {
  const early = new Map<string, ProgressEvent>();
  let onEvent: ((event: ProgressEvent) => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  const listener: ProgressFollower = await followProgress(
    url,
    (event) => {
      if (onEvent) onEvent(event);
      else early.set(event.jobId, event);
    },
    (error) => onError?.(error),
  );

  return {
    async close() {
      await listener.close();
    },
    follow(rows, onChange, signal) {
      const em = orm.em.fork();
      const watched = rows.map((row) => ({
        ...row,
        state: { status: 'queued', progress: 0 } as StageState,
        replacing: false,
      }));
      const snapshot = (): StageStates => Object.fromEntries(watched.map((w) => [w.stage, { ...w.state }]));
      let last = '';
      const changed = () => {
        const s = snapshot();
        const key = JSON.stringify(s);
        if (key !== last) {
          last = key;
          onChange(s);
        }
      };

      return new Promise<FollowOutcome>((resolve, reject) => {
        let done = false;
        let timer: NodeJS.Timeout | undefined;
        /** Ends the follow once: stops the poll and the listeners, then resolves or rejects. */
        const end = (settle: () => void) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          onEvent = undefined;
          onError = undefined;
          signal?.removeEventListener('abort', onAbort);
          settle();
        };
        const finish = (settled: boolean) =>
          end(() => resolve({ stages: snapshot(), ids: Object.fromEntries(watched.map((w) => [w.stage, w.id])), settled }));
        const fail = (error: unknown) => end(() => reject(error instanceof Error ? error : new Error(String(error))));
        const onAbort = () => finish(false);
        if (signal?.aborted) return finish(false);
        signal?.addEventListener('abort', onAbort, { once: true });

        const observe = (w: (typeof watched)[number], seen: StageState) => {
          w.state = mergeObservation(w.state, seen);
          if (w.state.status === 'failed' && !w.replacing) void lookForReplacement(w);
        };
        const check = () => {
          if (done) return;
          changed();
          if (allSettled(snapshot()) && watched.every((w) => !w.replacing)) finish(true);
        };
        const lookForReplacement = async (w: (typeof watched)[number]) => {
          w.replacing = true;
          try {
            // A replacement may itself have been lost and replaced: walk the chain.
            for (let next = await findReplacement(em, w.kind, w.id); next && !done; next = await findReplacement(em, w.kind, w.id)) {
              w.id = next.id;
              w.state = { status: next.status, progress: next.progress, error: next.error, stored: false };
              if (w.state.status !== 'failed') break;
            }
          } catch (error) {
            w.replacing = false;
            return fail(error);
          }
          w.replacing = false;
          check();
        };
        const readAll = async () => {
          for (const w of watched) {
            const row = await readRow(em, w.kind, w.id);
            if (!row) throw new Error(`the ${w.kind} job ${w.id} no longer exists`);
            if (row.id === w.id) observe(w, { status: row.status, progress: row.progress, error: row.error, ...(row.fetch !== undefined ? { fetch: row.fetch } : {}) });
          }
        };
        const poll = () => {
          timer = setTimeout(() => {
            readAll().then(() => {
              check();
              if (!done) poll();
            }, fail);
          }, POLL_MS);
        };

        onError = fail;
        onEvent = (event) => {
          const w = watched.find((x) => x.id === event.jobId);
          if (!w) return;
          observe(w, {
            status: event.status,
            progress: event.progress,
            error: event.error ?? null,
            ...(event.fetch !== undefined ? { fetch: event.fetch } : {}),
            ...(event.note ? { note: event.note } : {}),
          });
          check();
        };
        readAll().then(() => {
          for (const w of watched) {
            if (w.reused && w.state.status === 'completed') w.state = { ...w.state, stored: true };
            const event = early.get(w.id);
            if (event) observe(w, { status: event.status, progress: event.progress, error: event.error ?? null });
          }
          early.clear();
          check();
          if (!done) poll();
        }, fail);
      });
    },
  };
}

async function readRow(em: EntityManager, kind: JobKind, id: string): Promise<RowRead | undefined> {
  const fetch = kind === 'processing' ? ', model_fetch as fetch' : '';
  const rows = await em.execute<RowRead[]>(`select id, status, progress, error${fetch} from ${JOB_TABLES[kind]} where id = ?`, [id]);
  return rows[0] ? { ...rows[0], progress: Number(rows[0].progress) } : undefined;
}

/** The row that replaced a failed one in the same transaction (same work; inserted_at = its updated_at). */
async function findReplacement(em: EntityManager, kind: JobKind, failedId: string): Promise<RowRead | undefined> {
  const table = JOB_TABLES[kind];
  const sameWork =
    kind === 'processing' ? `and n.model = o.model and coalesce(n.options->>'format', 'wav') = coalesce(o.options->>'format', 'wav')` : '';
  const rows = await em.execute<RowRead[]>(
    `select n.id, n.status, n.progress, n.error from ${table} n join ${table} o on o.id = ?
      where n.track_id = o.track_id and n.id <> o.id and o.status = 'failed' and n.inserted_at = o.updated_at ${sameWork}
      order by n.id limit 1`,
    [failedId],
  );
  return rows[0] ? { ...rows[0], progress: Number(rows[0].progress) } : undefined;
}
