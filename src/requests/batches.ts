/**
 * The statements on `batches` and `batch_tracks`: an album's or playlist's
 * request. Creating it (in place of the command's slot), starting its next
 * track as an ordinary Request row, reading it back for its message and DM,
 * settling and cancelling it, and where its stems go.
 *
 * Decisions are src/domain/batchLifecycle.ts; every state write here is
 * conditional on the states it allows (the DB trigger of migration 0007
 * refuses any other move).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../db/orm.ts';
import type { AnalysisRowLike } from '../domain/analysisWording.ts';
import { isSettled, nextBatchState, type BatchState, type EntryFacts, type RecordKind, type StemsPlace } from '../domain/batchLifecycle.ts';
import type { DmState } from '../domain/requestLifecycle.ts';
import { CANCELLED_BY_REQUESTER } from '../domain/requestLifecycle.ts';
import { dropSlot } from './slots.ts';
import { insertRequest, type NewRequest, type RequestOrigin } from './store.ts';
import { loadRequestsOfBatch, withDates, type MessageRow, type RequestRow } from './view.ts';

const conn = (orm: Orm) => orm.em.getConnection();

export interface NewBatchEntry {
  position: number;
  title: string;
  artist: string | null;
  durationSeconds: number | null;
  /** The Spotify track to run; null when the entry cannot run. */
  spotifyId: string | null;
  /** Why it does not run; null for the tracks that run. */
  skipReason: string | null;
}

export interface NewBatch extends RequestOrigin {
  recordKind: RecordKind;
  spotifyId: string;
  name: string;
  byline: string | null;
  artUrl: string | null;
  url: string;
  trackCount: number;
  durationSeconds: number | null;
  summary: string;
  rest: string | null;
  model: string | null;
  format: string | null;
  attachmentSizeLimit: number | null;
  entries: readonly NewBatchEntry[];
}

/** Writes the batch and its entries in place of the command's slot, in one transaction. */
export async function createBatch(orm: Orm, slotId: string, b: NewBatch): Promise<string> {
  return orm.em.fork().transactional(async (em) => {
    await dropSlot(em, slotId);
    const rows = await em.execute<{ id: string }[]>(
      `insert into batches (kind, requester_id, guild_id, channel_id, application_id, interaction_token, interaction_expires_at,
                            record_kind, spotify_id, name, byline, art_url, url, track_count, duration, summary, rest, model, format,
                            attachment_size_limit)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
      [
        b.kind, b.requesterId, b.guildId, b.channelId, b.applicationId, b.interactionToken, b.interactionExpiresAt,
        b.recordKind, b.spotifyId, b.name, b.byline, b.artUrl, b.url, b.trackCount, b.durationSeconds, b.summary, b.rest, b.model, b.format,
        b.attachmentSizeLimit,
      ],
    );
    const batchId = rows[0]!.id;
    // One statement for every entry (an album may list hundreds).
    await em.execute(
      `insert into batch_tracks (batch_id, position, title, artist, duration, spotify_id, skip_reason)
       select ?, e.position, e.title, e.artist, e.duration, e.spotify_id, e.skip_reason
         from jsonb_to_recordset(?::jsonb) as e(position int, title text, artist text, duration double precision, spotify_id text, skip_reason text)`,
      [
        batchId,
        JSON.stringify(
          b.entries.map((e) => ({ position: e.position, title: e.title, artist: e.artist, duration: e.durationSeconds, spotify_id: e.spotifyId, skip_reason: e.skipReason })),
        ),
      ],
    );
    return batchId;
  });
}

export interface BatchRow extends MessageRow {
  id: string;
  kind: 'separate' | 'analyze';
  requester_id: string;
  record_kind: RecordKind;
  spotify_id: string;
  name: string;
  byline: string | null;
  art_url: string | null;
  url: string;
  track_count: number;
  duration: number | null;
  summary: string;
  rest: string | null;
  model: string | null;
  format: 'wav' | 'flac' | 'mp3' | null;
  attachment_size_limit: string | number | null;
  state: BatchState;
  stems_place: StemsPlace | null;
  thread_id: string | null;
  dm_state: DmState | null;
}

export interface BatchEntryRow {
  id: string;
  position: number;
  title: string;
  artist: string | null;
  duration: number | null;
  spotify_id: string | null;
  skip_reason: string | null;
  request_id: string | null;
  link: string | null;
}

/** A batch with its entries, each started one's request as the single-track view reads it, and the analyses that finished. */
export interface BatchSnapshot {
  batch: BatchRow;
  entries: BatchEntryRow[];
  requests: Map<string, RequestRow>;
  /** Analysis results by analysis job id. */
  analyses: Map<string, AnalysisRowLike>;
}

export async function loadBatch(orm: Orm, batchId: string): Promise<BatchRow | undefined> {
  const rows = await conn(orm).execute<BatchRow[]>(`select * from batches where id = ?`, [batchId]);
  return rows[0] && withDates(rows[0]);
}

export async function loadBatchSnapshot(orm: Orm, batchId: string): Promise<BatchSnapshot | undefined> {
  const batch = await loadBatch(orm, batchId);
  if (!batch) return undefined;
  const entries = await conn(orm).execute<BatchEntryRow[]>(
    `select id, position, title, artist, duration, spotify_id, skip_reason, request_id, link from batch_tracks where batch_id = ? order by position`,
    [batchId],
  );
  const requests = new Map((await loadRequestsOfBatch(orm, batchId)).map((r) => [r.id, r]));
  const analysisIds = [...requests.values()].filter((r) => r.a_status === 'completed' && r.analysis_job_id).map((r) => r.analysis_job_id!);
  const analyses = new Map<string, AnalysisRowLike>();
  if (analysisIds.length) {
    const rows = await conn(orm).execute<(AnalysisRowLike & { analysis_job_id: string })[]>(
      `select analysis_job_id, tempo, key, energy, spectral_centroid, features from analysis_results where analysis_job_id = any(?::uuid[])`,
      [`{${analysisIds.join(',')}}`],
    );
    for (const r of rows) analyses.set(r.analysis_job_id, r);
  }
  return { batch, entries, requests, analyses };
}

/** The batch a track's request belongs to; undefined for a single-track request. */
export async function batchOfRequest(orm: Orm, requestId: string): Promise<string | undefined> {
  const rows = await conn(orm).execute<{ batch_id: string | null }[]>(`select batch_id from requests where id = ?`, [requestId]);
  return rows[0]?.batch_id ?? undefined;
}

/** Batches still owed something: tracks to start or finish, or the DM. Resumed on start. */
export async function unfinishedBatches(orm: Orm): Promise<string[]> {
  const rows = await conn(orm).execute<{ id: string }[]>(`select id from batches where state = 'running' or dm_state = 'pending' order by inserted_at`);
  return rows.map((r) => r.id);
}

/** Running batches with a track still waiting to start (it starts when the user has a free slot). */
export async function batchesWaitingToStart(orm: Orm, limit: number): Promise<string[]> {
  const rows = await conn(orm).execute<{ id: string }[]>(
    `select b.id from batches b where b.state = 'running'
        and exists (select 1 from batch_tracks t where t.batch_id = b.id and t.request_id is null and t.skip_reason is null)
      order by b.inserted_at limit ?`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/** The next entry of a running batch waiting to start, in the record's order. */
export async function nextQueuedEntry(orm: Orm, batchId: string): Promise<{ id: string; spotify_id: string } | undefined> {
  const rows = await conn(orm).execute<{ id: string; spotify_id: string }[]>(
    `select t.id, t.spotify_id from batch_tracks t join batches b on b.id = t.batch_id
      where t.batch_id = ? and b.state = 'running' and t.request_id is null and t.skip_reason is null
      order by t.position limit 1`,
    [batchId],
  );
  return rows[0];
}

/**
 * Starts an entry: its Request row replaces the slot, in one transaction with the batch row locked.
 * Nothing is written (undefined) when the batch stopped running or the entry was started meanwhile.
 */
export async function startEntry(orm: Orm, slotId: string, batchId: string, entryId: string, r: NewRequest): Promise<string | undefined> {
  return orm.em.fork().transactional(async (em) => {
    const batch = await em.execute<{ state: BatchState }[]>(`select state from batches where id = ? for update`, [batchId]);
    if (batch[0]?.state !== 'running') return undefined;
    const entry = await em.execute<{ id: string }[]>(`select id from batch_tracks where id = ? and batch_id = ? and request_id is null and skip_reason is null for update`, [entryId, batchId]);
    if (!entry.length) return undefined;
    await dropSlot(em, slotId);
    const requestId = await insertRequest(em, { ...r, batchId });
    await em.execute(`update batch_tracks set request_id = ?, updated_at = now() where id = ?`, [requestId, entryId]);
    return requestId;
  });
}

/** An entry that could not be queued (the pipeline refused its input): it is skipped with the reason. */
export async function skipEntry(orm: Orm, entryId: string, reason: string): Promise<void> {
  await conn(orm).execute(`update batch_tracks set skip_reason = ?, updated_at = now() where id = ? and request_id is null`, [reason.slice(0, 500), entryId]);
}

/** What the lifecycle needs to know of each entry (under the batch's lock). */
async function entryFacts(em: EntityManager, batchId: string): Promise<EntryFacts[]> {
  const rows = await em.execute<{ skip_reason: string | null; delivery_state: string | null; delivery_error: string | null; a_status: string | null }[]>(
    `select t.skip_reason, r.delivery_state, r.delivery_error, a.status as a_status
       from batch_tracks t
       left join requests r on r.id = t.request_id
       left join analysis_jobs a on a.id = r.analysis_job_id
      where t.batch_id = ?`,
    [batchId],
  );
  return rows.map((r) => ({ skipReason: r.skip_reason, request: requestFact(r.delivery_state, r.delivery_error, r.a_status) }));
}

/**
 * A started track's request as the batch counts it: open until its delivery is settled and its
 * analysis (the DM's BPM and key) has ended.
 */
export function requestFact(deliveryState: string | null, deliveryError: string | null, analysisStatus: string | null): EntryFacts['request'] {
  if (deliveryState === null) return null;
  if (deliveryState === 'failed') return deliveryError === CANCELLED_BY_REQUESTER ? 'cancelled' : 'failed';
  if (deliveryState !== 'delivered') return 'open';
  return analysisStatus === null || analysisStatus === 'completed' || analysisStatus === 'failed' ? 'delivered' : 'open';
}

/**
 * Moves a running batch to done once every track has ended, and owes the batch's DM once it is settled
 * (done, or cancelled with its started tracks ended). Returns whether the DM was enqueued now.
 */
export async function settleBatch(orm: Orm, batchId: string): Promise<{ dm: boolean }> {
  return orm.em.fork().transactional(async (em) => {
    const locked = await em.execute<{ state: BatchState; dm_state: DmState | null }[]>(`select state, dm_state from batches where id = ? for update`, [batchId]);
    const batch = locked[0];
    if (!batch) return { dm: false };
    const facts = await entryFacts(em, batchId);
    const next = nextBatchState(batch.state, facts);
    if (next !== batch.state) await em.execute(`update batches set state = ?, updated_at = now() where id = ? and state = 'running'`, [next, batchId]);
    if (batch.dm_state !== 'pending' || !isSettled(next, facts)) return { dm: false };
    const started = facts.some((f) => f.request !== null);
    if (!started) {
      // Nothing ran (cancelled before any track started): no DM to send.
      await em.execute(`update batches set dm_state = 'failed', updated_at = now() where id = ? and dm_state = 'pending'`, [batchId]);
      return { dm: false };
    }
    const inserted = await em.execute<{ id: string }[]>(
      `insert into deliveries (batch_id, kind, payload) values (?, 'batch_dm', '{}'::jsonb)
       on conflict (batch_id) where kind = 'batch_dm' do nothing returning id`,
      [batchId],
    );
    return { dm: inserted.length > 0 };
  });
}

export interface CancelledBatch {
  id: string;
  name: string;
  /** The batch's requests still open, to stop. */
  open: { id: string; track_id: string; processing_job_id: string | null; analysis_job_id: string | null }[];
}

/**
 * The user's latest running batch, if it is newer than their latest pending single-track request:
 * /cancel stops the most recent thing they asked for.
 */
export async function latestRunningBatch(orm: Orm, userId: string): Promise<string | undefined> {
  const rows = await conn(orm).execute<{ id: string }[]>(
    `select b.id from batches b where b.requester_id = ? and b.state = 'running'
        and b.inserted_at >= coalesce((select max(inserted_at) from requests where requester_id = ? and batch_id is null and delivery_state = 'pending'), '-infinity')
      order by b.inserted_at desc limit 1`,
    [userId, userId],
  );
  return rows[0]?.id;
}

/**
 * Cancels a running batch: no queued track starts any more, its open requests fail as cancelled (the
 * caller stops their work). Undefined when it was not running any more.
 */
export async function cancelBatch(orm: Orm, batchId: string): Promise<CancelledBatch | undefined> {
  return orm.em.fork().transactional(async (em) => {
    const moved = await em.execute<{ id: string; name: string }[]>(
      `update batches set state = 'cancelled', updated_at = now() where id = ? and state = 'running' returning id, name`,
      [batchId],
    );
    if (!moved.length) return undefined;
    const open = await em.execute<CancelledBatch['open']>(
      `update requests set delivery_state = 'failed', delivery_error = ?, updated_at = now()
        where batch_id = ? and delivery_state = 'pending'
        returning id, track_id, processing_job_id, analysis_job_id`,
      [CANCELLED_BY_REQUESTER, batchId],
    );
    return { id: batchId, name: moved[0]!.name, open };
  });
}

/** Where the batch's stems go, decided once (the first delivery that needs it). */
export async function setStemsPlace(orm: Orm, batchId: string, place: StemsPlace, threadId: string | null): Promise<void> {
  await conn(orm).execute(`update batches set stems_place = ?, thread_id = ?, updated_at = now() where id = ? and stems_place is null`, [place, threadId, batchId]);
}

/** The stems' link shown on the track's line (no thread to post them in). */
export async function setEntryLink(orm: Orm, requestId: string, link: string): Promise<void> {
  await conn(orm).execute(`update batch_tracks set link = ?, updated_at = now() where request_id = ?`, [link, requestId]);
}

/** Settles the batch's DM (only a pending one moves). */
export async function settleBatchDm(orm: Orm, batchId: string, state: Exclude<DmState, 'pending'>): Promise<void> {
  await conn(orm).execute(`update batches set dm_state = ?, updated_at = now() where id = ? and dm_state = 'pending'`, [state, batchId]);
}
