/**
 * A request as the user sees it: the rows (request, track, its download,
 * processing and analysis jobs) read in one query, and the request message
 * rendered from them (src/domain/messages.ts).
 */
import type { Orm } from '../db/orm.ts';
import type { JobStatus } from '../domain/jobStatus.ts';
import type { ModelFetchProgress } from '../domain/modelFiles.ts';
import { renderRequestMessage, type MessagePayload, type RequestView, type StageView, type TrackCard } from '../domain/messages.ts';
import * as lifecycle from '../domain/requestLifecycle.ts';

/** The columns of a row that owns a progress message: requests and batches have them alike. */
export interface MessageRow {
  guild_id: string | null;
  channel_id: string;
  message_id: string | null;
  application_id: string;
  interaction_token: string;
  interaction_expires_at: Date;
  progress_hash: string | null;
  progress_edited_at: Date | null;
  progress_message_posted_at: Date | null;
  channel_message_id: string | null;
  inserted_at: Date;
}

export interface RequestRow extends MessageRow {
  id: string;
  kind: 'separate' | 'analyze';
  requester_id: string;
  model: string | null;
  format: 'wav' | 'flac' | 'mp3' | null;
  track_id: string;
  processing_job_id: string | null;
  analysis_job_id: string | null;
  delivery_state: lifecycle.DeliveryState;
  delivery_error: string | null;
  reaction_window_ends_at: Date | null;
  attachment_size_limit: string | number | null;
  dm_state: lifecycle.DmState | null;
  /** The album or playlist request this track belongs to; null for a single track. */
  batch_id: string | null;
  title: string;
  artist: string | null;
  album: string | null;
  album_art_url: string | null;
  duration: number | null;
  spotify_url: string | null;
  source_url: string | null;
  d_status: JobStatus | null;
  d_progress: number | null;
  d_error: string | null;
  p_status: JobStatus | null;
  p_progress: number | null;
  p_error: string | null;
  /** processing_jobs.model_fetch: the model being fetched before the separation. */
  p_fetch: ModelFetchProgress | null;
  /** processing_jobs.stage_note: a slow step within the separation ("preparing model for this CPU"). */
  p_note: string | null;
  a_status: JobStatus | null;
  a_progress: number | null;
  a_error: string | null;
}

const SELECT = `
select r.*, t.title, t.artist, t.album, t.album_art_url, t.duration, t.spotify_url, t.source_url,
       d.status as d_status, d.progress as d_progress, d.error as d_error,
       p.status as p_status, p.progress as p_progress, p.error as p_error, p.model_fetch as p_fetch, p.stage_note as p_note,
       a.status as a_status, a.progress as a_progress, a.error as a_error
  from requests r
  join tracks t on t.id = r.track_id
  left join processing_jobs p on p.id = r.processing_job_id
  left join analysis_jobs a on a.id = r.analysis_job_id
  left join lateral (select status, progress, error from download_jobs where track_id = r.track_id order by inserted_at desc, id desc limit 1) d on true`;

/** A message row's timestamps; raw queries may hand them back as strings. */
const MESSAGE_DATES = ['interaction_expires_at', 'progress_edited_at', 'progress_message_posted_at', 'inserted_at'] as const;

export function withDates<Row extends MessageRow>(row: Row, more: readonly (keyof Row & string)[] = []): Row {
  const out = { ...row } as Record<string, unknown>;
  for (const f of [...MESSAGE_DATES, ...more]) {
    const v = out[f];
    if (v !== null && v !== undefined && !(v instanceof Date)) out[f] = new Date(v as string);
  }
  return out as Row;
}

const requestDates = (row: RequestRow) => withDates(row, ['reaction_window_ends_at']);

export async function loadRequest(orm: Orm, requestId: string): Promise<RequestRow | undefined> {
  const rows = await orm.em.getConnection().execute<RequestRow[]>(`${SELECT} where r.id = ?`, [requestId]);
  return rows[0] && requestDates(rows[0]);
}

/** The started tracks of an album or playlist request. */
export async function loadRequestsOfBatch(orm: Orm, batchId: string): Promise<RequestRow[]> {
  const rows = await orm.em.getConnection().execute<RequestRow[]>(`${SELECT} where r.batch_id = ?`, [batchId]);
  return rows.map(requestDates);
}

/** A user's requests, newest first; at most `limit` rows. */
export async function loadRequestsOf(orm: Orm, userId: string, limit: number): Promise<RequestRow[]> {
  const rows = await orm.em.getConnection().execute<RequestRow[]>(`${SELECT} where r.requester_id = ? order by r.inserted_at desc limit ?`, [userId, limit]);
  return rows.map(requestDates);
}

export function trackCard(row: RequestRow): TrackCard {
  const url = row.spotify_url ?? (row.source_url && /^https?:/i.test(row.source_url) ? row.source_url : null);
  return { title: row.title, artist: row.artist, album: row.album, artUrl: row.album_art_url, durationSeconds: row.duration, url };
}

function stage(status: JobStatus | null, progress: number | null, error: string | null): StageView | undefined {
  return status ? { status, progress: progress ?? 0, error } : undefined;
}

/** The work a request row waits for, in the lifecycle's terms. */
export function workOf(row: RequestRow): lifecycle.RequestWork {
  return {
    kind: row.kind,
    model: row.model,
    processingJobLinked: row.processing_job_id !== null,
    download: row.d_status,
    downloadError: row.d_error,
    separation: row.p_status,
    separationError: row.p_error,
    analysis: row.a_status,
    analysisError: row.a_error,
  };
}

/** All the work the request waits for has ended (completed or failed). */
export function workEnded(row: RequestRow): boolean {
  return lifecycle.workEnded(workOf(row));
}

/** Where the request stands: still running, or final (everything it waits for ended, or it was cancelled). */
export function isFinal(row: RequestRow): boolean {
  return lifecycle.isFinal(row.delivery_state, workOf(row));
}

/** The stages the request waits for, as far as they got; a separation not queued yet shows as queued. */
export function stagesOf(row: RequestRow): RequestView['stages'] {
  const stages: RequestView['stages'] = {};
  const download = stage(row.d_status, row.d_progress, row.d_error);
  if (download) stages.download = download;
  if (row.kind === 'separate') {
    const separation = stage(row.p_status, row.p_progress, row.p_error) ?? { status: 'queued', progress: 0 };
    const running = separation.status === 'processing';
    stages.separation = {
      ...separation,
      ...(running && row.p_fetch ? { fetch: row.p_fetch } : {}),
      ...(running && row.p_note ? { note: row.p_note } : {}),
    };
  }
  const analysis = stage(row.a_status, row.a_progress, row.a_error);
  if (analysis) stages.analysis = analysis;
  return stages;
}

export function renderRequest(row: RequestRow, now = Date.now()): MessagePayload {
  const stages = stagesOf(row);
  const choosing = row.kind === 'separate' && row.model === null && row.delivery_state === 'pending';
  const windowEnds = row.reaction_window_ends_at?.getTime() ?? null;
  const view: RequestView = {
    requesterId: row.requester_id,
    track: trackCard(row),
    model: row.model,
    stages,
    reactions: choosing && windowEnds !== null && windowEnds > now ? 'choose' : 'none',
    choiceEndsAt: windowEnds,
  };
  const payload = renderRequestMessage(view);
  if (row.delivery_state === 'failed' && row.delivery_error) {
    const note = lifecycle.lifecycleState(row.delivery_state, row.delivery_error) === 'cancelled' ? 'Cancelled at your request.' : `Not delivered: ${row.delivery_error.slice(0, 300)}`;
    return { ...payload, content: note };
  }
  return { ...payload, content: '' };
}
