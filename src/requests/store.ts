/**
 * The statements on `requests` (besides the rendered view, ./view.ts, the
 * per-user limit, ./slots.ts, and the delivery outbox, ./outbox.ts): creating
 * and cancelling a request, the model choice, the progress message's columns,
 * the lookups the bot's loops and the job side need.
 *
 * Functions that take an EntityManager run inside the caller's transaction;
 * those that take the Orm run on their own connection.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ModelSource } from '../db/entities/request.ts';
import type { Orm } from '../db/orm.ts';
import { CANCELLED_BY_REQUESTER } from '../domain/requestLifecycle.ts';
import { hourlyAllowance, type Allowance } from '../domain/batchLifecycle.ts';
import { dropSlot } from './slots.ts';

const OPEN = `delivery_state in ('pending', 'delivering')`;

async function ids(orm: Orm, sql: string, params: unknown[] = []): Promise<string[]> {
  const rows = await orm.em.getConnection().execute<{ id: string }[]>(sql, params);
  return rows.map((r) => r.id);
}

/** Who asked, where, and the interaction whose reply is the request's message (a single track's or an album's). */
export interface RequestOrigin {
  kind: 'separate' | 'analyze';
  requesterId: string;
  guildId: string | null;
  channelId: string;
  applicationId: string;
  interactionToken: string;
  interactionExpiresAt: Date;
}

export interface NewRequest extends RequestOrigin {
  model: string | null;
  modelSource: ModelSource | null;
  format: string | null;
  trackId: string;
  processingJobId: string | null;
  analysisJobId: string;
  reactionWindowEndsAt: Date | null;
  attachmentSizeLimit: number | null;
  /** A track of an album or playlist request: its message, thread and DM are the batch's (no DM of its own). */
  batchId?: string;
}

/** Writes a command's Request row in place of its slot, in one transaction: the user's count never has a gap nor a double. */
export async function createRequest(orm: Orm, slotId: string, r: NewRequest): Promise<string> {
  return orm.em.fork().transactional(async (em) => {
    await dropSlot(em, slotId);
    return insertRequest(em, r);
  });
}

/** The Request row, inside the caller's transaction. */
export async function insertRequest(em: EntityManager, r: NewRequest): Promise<string> {
  const rows = await em.execute<{ id: string }[]>(
      `insert into requests (kind, requester_id, guild_id, channel_id, application_id, interaction_token, interaction_expires_at,
                             model, model_source, format, track_id, processing_job_id, analysis_job_id, reaction_window_ends_at,
                             attachment_size_limit, dm_state, batch_id)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
      [
        r.kind,
        r.requesterId,
        r.guildId,
        r.channelId,
        r.applicationId,
        r.interactionToken,
        r.interactionExpiresAt,
        r.model,
        r.modelSource,
        r.format,
        r.trackId,
        r.processingJobId,
        r.analysisJobId,
        r.reactionWindowEndsAt,
        r.attachmentSizeLimit,
        r.batchId ? null : 'pending',
        r.batchId ?? null,
      ],
    );
  return rows[0]!.id;
}

export interface ReprocessRequest {
  id: string;
  requesterId: string;
  guildId: string | null;
  channelId: string;
  applicationId: string;
  /** A placeholder no webhook accepts: the request has no interaction of its own. */
  interactionToken: string;
  model: string;
  format: string | null;
  trackId: string;
  attachmentSizeLimit: string | number | null;
}

/** A re-processing request made by reaction: model chosen, no DM, token expired at once. */
export async function insertReprocessRequest(em: EntityManager, r: ReprocessRequest): Promise<void> {
  await em.execute(
    `insert into requests (id, kind, requester_id, guild_id, channel_id, message_id, application_id, interaction_token, interaction_expires_at,
                           model, model_source, format, track_id, attachment_size_limit, dm_state)
     values (?, 'separate', ?, ?, ?, null, ?, ?, now(), ?, 'reaction', ?, ?, ?, null)`,
    [r.id, r.requesterId, r.guildId, r.channelId, r.applicationId, r.interactionToken, r.model, r.format, r.trackId, r.attachmentSizeLimit],
  );
}

export interface CancelledRequest {
  id: string;
  track_id: string;
  processing_job_id: string | null;
  analysis_job_id: string | null;
  title: string;
}

/**
 * Fails the user's latest pending single-track request as cancelled (an album's tracks are cancelled with their batch) (only if still pending): the window timer,
 * deliveries and other /cancel calls then leave it alone. FOR UPDATE waits for a progress edit or
 * delivery holding the row; SKIP LOCKED would answer "nothing to cancel".
 */
export async function cancelLatestPending(orm: Orm, userId: string): Promise<CancelledRequest | undefined> {
  const rows = await orm.em.getConnection().execute<CancelledRequest[]>(
    `update requests r set delivery_state = 'failed', delivery_error = ?, updated_at = now()
      from tracks t
      where t.id = r.track_id and r.id = (select id from requests where requester_id = ? and batch_id is null and delivery_state = 'pending' order by inserted_at desc limit 1 for update)
        and r.delivery_state = 'pending'
      returning r.id, r.track_id, r.processing_job_id, r.analysis_job_id, t.title`,
    [CANCELLED_BY_REQUESTER, userId],
  );
  return rows[0];
}

/** Other open requests of the same track (someone else still waits for the song). */
export async function otherOpenRequestsOfTrack(orm: Orm, trackId: string, requestId: string): Promise<number> {
  const rows = await orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from requests where track_id = ? and id <> ? and ${OPEN}`, [trackId, requestId]);
  return Number(rows[0]!.n);
}

/** Open requests (other than `exceptRequestId`) that wait for a download of the track or for one job. Inside the cancel's transaction. */
export async function openRequestsWaitingFor(
  em: EntityManager,
  what: { track: string } | { processingJob: string } | { analysisJob: string },
  exceptRequestId: string | undefined,
): Promise<number> {
  const [column, key] = 'track' in what ? ['track_id', what.track] : 'processingJob' in what ? ['processing_job_id', what.processingJob] : ['analysis_job_id', what.analysisJob];
  const found = await em.execute<{ n: string }[]>(`select count(*) as n from requests where ${column} = ? and ${OPEN} and id is distinct from ?::uuid`, [
    key,
    exceptRequestId ?? null,
  ]);
  return Number(found[0]!.n);
}

/** First choice wins: sets the model only while it is still NULL (one atomic UPDATE). */
export async function chooseModel(orm: Orm, requestId: string, model: string, source: ModelSource): Promise<boolean> {
  const won = await orm.em.getConnection().execute<{ id: string }[]>(
    `update requests set model = ?, model_source = ?, reaction_window_ends_at = least(reaction_window_ends_at, now()), updated_at = now()
      where id = ? and kind = 'separate' and model is null returning id`,
    [model, source, requestId],
  );
  return won.length > 0;
}

export interface SeparationAsked {
  model: string;
  format: string | null;
  requester_id: string;
  track_id: string;
}

/** What the separation of a request whose model is chosen needs. */
export async function separationAsked(orm: Orm, requestId: string): Promise<SeparationAsked | undefined> {
  const rows = await orm.em.getConnection().execute<SeparationAsked[]>(`select model, format, requester_id, track_id from requests where id = ?`, [requestId]);
  return rows[0];
}

export async function linkProcessingJob(orm: Orm, requestId: string, processingJobId: string): Promise<void> {
  await orm.em.getConnection().execute(`update requests set processing_job_id = ?, updated_at = now() where id = ?`, [processingJobId, requestId]);
}

/** A job retried as a new row (the status machine is forward-only): requests follow the new row. */
export async function relinkJob(em: EntityManager, kind: 'processing' | 'analysis', oldId: string, newId: string): Promise<void> {
  const column = kind === 'processing' ? 'processing_job_id' : 'analysis_job_id';
  await em.execute(`update requests set ${column} = ? where ${column} = ?`, [newId, oldId]);
}

/** Separations whose model was chosen but whose processing row was never linked (a crash in between). */
export function unlinkedChoices(orm: Orm): Promise<string[]> {
  return ids(orm, `select id from requests where kind = 'separate' and model is not null and processing_job_id is null and delivery_state = 'pending'`);
}

/** Separations still without a model whose reaction window has ended, earliest first. */
export function endedWindows(orm: Orm, limit: number): Promise<string[]> {
  return ids(
    orm,
    `select id from requests where kind = 'separate' and model is null and delivery_state = 'pending' and reaction_window_ends_at <= now() order by reaction_window_ends_at limit ?`,
    [limit],
  );
}

/** Requests still owed something (work, stems or the DM), oldest first: resumed on start. */
export function unfinishedRequests(orm: Orm): Promise<string[]> {
  return ids(orm, `select id from requests where ${OPEN} or (delivery_state = 'delivered' and dm_state = 'pending') order by inserted_at`);
}

/** The requests a progress event concerns: open ones, and delivered ones still showing progress or owed the DM. */
export function requestsFollowing(orm: Orm, event: { download: string } | { processing: string } | { analysis: string }): Promise<string[]> {
  const [column, key] = 'download' in event ? ['track_id', event.download] : 'processing' in event ? ['processing_job_id', event.processing] : ['analysis_job_id', event.analysis];
  return ids(
    orm,
    `select id from requests where ${column} = ?
          and (${OPEN} or (delivery_state = 'delivered' and (dm_state = 'pending' or delivered_at > now() - interval '1 hour')))`,
    [key],
  );
}

/** The tables whose rows own a progress message (a request's, or an album's or playlist's): the same columns on both. */
export type MessageTable = 'requests' | 'batches';

/** The progress message that reached Discord: a new channel message replaced the interaction reply. */
export async function recordProgressPosted(orm: Orm, table: MessageTable, requestId: string, hash: string, at: Date, channelMessageId: string): Promise<void> {
  await orm.em
    .getConnection()
    .execute(`update ${table} set progress_hash = ?, progress_edited_at = ?, channel_message_id = ?, progress_message_posted_at = ?, updated_at = now() where id = ?`, [
      hash,
      at,
      channelMessageId,
      at,
      requestId,
    ]);
}

/** The progress message that reached Discord: an edit (the reply's id is kept once known). */
export async function recordProgressEdited(orm: Orm, table: MessageTable, requestId: string, hash: string, at: Date, replyMessageId: string | null): Promise<void> {
  await orm.em
    .getConnection()
    .execute(`update ${table} set progress_hash = ?, progress_edited_at = ?, message_id = coalesce(message_id, ?), updated_at = now() where id = ?`, [
      hash,
      at,
      replyMessageId,
      requestId,
    ]);
}

/** The /separate request whose reply or channel message this is. */
export async function separationOfMessage(orm: Orm, messageId: string): Promise<string | undefined> {
  const found = await ids(orm, `select id from requests where kind = 'separate' and (message_id = ? or channel_message_id = ?) order by inserted_at limit 1`, [
    messageId,
    messageId,
  ]);
  return found[0];
}

export interface RequestMessageRow {
  id: string;
  channel_id: string;
  message_id: string | null;
  channel_message_id: string | null;
}

/**
 * Separate requests younger than `maxAgeSeconds` with a message, newest first. Failed ones (also
 * cancelled) are left out.
 */
export async function recentSeparationMessages(orm: Orm, maxAgeSeconds: number, limit: number): Promise<RequestMessageRow[]> {
  return orm.em.getConnection().execute<RequestMessageRow[]>(
    `select id, channel_id, message_id, channel_message_id from requests
      where kind = 'separate' and delivery_state <> 'failed' and (message_id is not null or channel_message_id is not null)
        and inserted_at > now() - make_interval(secs => ?)
      order by inserted_at desc, id limit ?`,
    [maxAgeSeconds, limit],
  );
}

/** Locks the request row to the end of `em`'s transaction (serialises decisions on it); undefined when gone. */
export async function lockRequest<Row = { id: string }>(em: EntityManager, requestId: string): Promise<Row | undefined> {
  const rows = await em.execute<Row[]>(`select * from requests where id = ? for update`, [requestId]);
  return rows[0];
}

/** Models queued or running for one request message: the original's and those its reactions asked for. */
export async function runningModelsOfMessage(em: EntityManager, requestId: string): Promise<string[]> {
  const rows = await em.execute<{ model: string }[]>(
    `select distinct p.model from requests r join processing_jobs p on p.id = r.processing_job_id
      where p.status not in ('completed', 'failed')
        and (r.id = ? or r.id in (select spawned_request_id from reaction_choices where request_id = ? and outcome = 'reprocess'))`,
    [requestId, requestId],
  );
  return rows.map((r) => r.model);
}

/**
 * When the user asked for each track of the last hour (epoch ms): the hourly allowance counts tracks.
 * A single request is one; an album or playlist counts every track it was to run, at the time it was
 * asked for (its started tracks' own rows are not counted again); tracks a cancel kept from starting
 * are given back.
 */
export async function requestTimesOfLastHour(em: EntityManager | Orm, userId: string): Promise<number[]> {
  const db = 'em' in em ? em.em.getConnection() : em;
  const rows = await db.execute<{ at: Date | string }[]>(
    `select inserted_at as at from requests where requester_id = ? and batch_id is null and inserted_at > now() - interval '1 hour'
     union all
     select b.inserted_at from batches b join batch_tracks t on t.batch_id = b.id
      where b.requester_id = ? and t.skip_reason is null and (t.request_id is not null or b.state = 'running') and b.inserted_at > now() - interval '1 hour'`,
    [userId, userId],
  );
  // Raw queries may hand timestamps back as Date or as text.
  return rows.map((r) => new Date(r.at).getTime());
}

/** The completed stem set a player link names: a processing job, a track's latest, or a request's. */
export async function completedStemSet(orm: Orm, id: string): Promise<string | undefined> {
  return (
    await ids(
      orm,
      `select p.id from processing_jobs p
      where p.status = 'completed'
        and (p.id = ? or p.track_id = ? or p.id = (select processing_job_id from requests where id = ?))
      order by p.updated_at desc limit 1`,
      [id, id, id],
    )
  )[0];
}

/** A chat request is waiting while its delivery is pending/delivering, or (bot schema) its analysis DM is pending: gc keeps its files. */
const WAITING_REQUEST = `(delivery_state in ('pending', 'delivering') or to_jsonb(r) ->> 'dm_state' = 'pending')`;

/** The jobs requests still wait to deliver. */
export async function jobsAwaitingDelivery(em: EntityManager): Promise<{ processing_job_id: string | null; analysis_job_id: string | null }[]> {
  return em.execute(`select processing_job_id, analysis_job_id from requests r where ${WAITING_REQUEST}`);
}

export async function isJobAwaitingDelivery(em: EntityManager, jobId: string): Promise<boolean> {
  const waiting = await em.execute(`select 1 from requests r where (processing_job_id = ? or analysis_job_id = ?) and ${WAITING_REQUEST} limit 1`, [jobId, jobId]);
  return waiting.length > 0;
}

/** What is left of the user's hourly allowance (SFA_USER_REQUESTS_PER_HOUR), in tracks. */
export async function allowanceLeft(orm: Orm, userId: string, perHour: number): Promise<Allowance> {
  return hourlyAllowance(await requestTimesOfLastHour(orm, userId), perHour, Date.now());
}
