/**
 * Live progress for any process: every status change and progress write is
 * announced with NOTIFY on PROGRESS_CHANNEL (inside the writing transaction, so
 * listeners hear about committed changes only). Rows stay the source of truth;
 * a listener that missed events re-reads them.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { z } from 'zod';
import { JOB_STATUSES } from '../../domain/jobStatus.ts';
import { STAGES } from '../../domain/stages.ts';

export const PROGRESS_CHANNEL = 'sfa_progress';

/** processing_jobs.model_fetch: how far the worker got fetching the model's files. */
export const ModelFetch = z.object({ model: z.string().max(100), totalBytes: z.number().nonnegative(), doneBytes: z.number().nonnegative() });

export const ProgressEvent = z.object({
  kind: z.enum(STAGES),
  jobId: z.uuid(),
  trackId: z.uuid(),
  status: z.enum(JOB_STATUSES),
  progress: z.int().min(0).max(100),
  /** Set when status is failed. */
  error: z.string().nullable().optional(),
  /** A separation fetching its model first (processing_jobs.model_fetch); null once fetched. */
  fetch: ModelFetch.nullable().optional(),
  /** A slow step worth telling the user about, e.g. the engine's "preparing model for this CPU" (processing_jobs.stage_note). */
  note: z.string().max(200).optional(),
});
export type ProgressEvent = z.infer<typeof ProgressEvent>;

/** NOTIFY payloads are limited to 8000 bytes; errors are clipped to stay far below. */
export async function announce(em: EntityManager, event: ProgressEvent): Promise<void> {
  const payload = JSON.stringify({ ...event, ...(event.error ? { error: event.error.slice(0, 1000) } : {}) });
  await em.execute('select pg_notify(?, ?)', [PROGRESS_CHANNEL, payload]);
}

export interface ProgressFollower {
  close(): Promise<void>;
}

/**
 * LISTENs on PROGRESS_CHANNEL on a dedicated connection and calls onEvent for each
 * valid event. Resolves once listening. Malformed payloads are ignored.
 */
export async function followProgress(
  url: string,
  onEvent: (event: ProgressEvent) => void,
  onError: (error: Error) => void = () => undefined,
): Promise<ProgressFollower> {
  const client = new Client({ connectionString: url, application_name: 'sfa-progress' });
  client.on('error', onError);
  client.on('notification', (message) => {
    if (message.channel !== PROGRESS_CHANNEL || !message.payload) return;
    let raw: unknown;
    try {
      raw = JSON.parse(message.payload);
    } catch {
      return;
    }
    const parsed = ProgressEvent.safeParse(raw);
    if (parsed.success) onEvent(parsed.data);
  });
  await client.connect();
  await client.query(`listen ${PROGRESS_CHANNEL}`);
  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      await client.end();
    },
  };
}
