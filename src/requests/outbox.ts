/**
 * The delivery outbox (`deliveries`) and the delivery state of `requests`.
 * Every delivery_state write is conditional on the states the lifecycle
 * (src/domain/requestLifecycle.ts) allows it from; the DB trigger of
 * migration 0005 refuses any other move.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../db/orm.ts';
import { deliverySources, type DeliveryState, type DmState } from '../domain/requestLifecycle.ts';

const conn = (orm: Orm) => orm.em.getConnection();
const from = (to: DeliveryState) => deliverySources(to).map((s) => `'${s}'`).join(', ');

export interface ClaimedDelivery {
  id: string;
  /** The request the row is for; null for a batch's DM (batch_id instead). */
  request_id: string | null;
  batch_id: string | null;
  kind: 'stems' | 'dm' | 'batch_dm';
  payload: Record<string, string>;
  attempts: number;
}

/**
 * Claims one due stems/dm row and marks it `sending` in the same statement (FOR UPDATE SKIP LOCKED:
 * two bot processes never send the same row). A row left `sending` longer than `staleSeconds` was
 * lost with its process and is taken up again.
 */
export async function claimDueDelivery(orm: Orm, staleSeconds: number): Promise<ClaimedDelivery | undefined> {
  const rows = await conn(orm).execute<ClaimedDelivery[]>(
    `update deliveries set state = 'sending', attempts = attempts + 1, updated_at = now()
      where id = (select id from deliveries
                   where kind in ('stems', 'dm', 'batch_dm')
                     and ((state = 'pending' and next_attempt_at <= now())
                       or (state = 'sending' and updated_at < now() - make_interval(secs => ?)))
                   order by next_attempt_at for update skip locked limit 1)
      returning id, request_id, batch_id, kind, payload, attempts`,
    [staleSeconds],
  );
  return rows[0];
}

export async function markDeliverySent(orm: Orm, deliveryId: string): Promise<void> {
  await conn(orm).execute(`update deliveries set state = 'sent', sent_at = now(), last_error = null, updated_at = now() where id = ?`, [deliveryId]);
}

export async function retryDeliveryLater(orm: Orm, deliveryId: string, error: string, afterSeconds: number): Promise<void> {
  await conn(orm).execute(`update deliveries set state = 'pending', last_error = ?, next_attempt_at = now() + make_interval(secs => ?), updated_at = now() where id = ?`, [
    error.slice(0, 1000),
    afterSeconds,
    deliveryId,
  ]);
}

export async function markDeliveryFailed(orm: Orm, deliveryId: string, error: string): Promise<void> {
  await conn(orm).execute(`update deliveries set state = 'failed', last_error = ?, updated_at = now() where id = ?`, [error.slice(0, 1000), deliveryId]);
}

/** Locks the request row for deciding what is due; its delivery state, undefined when gone. */
export async function lockDeliveryState(em: EntityManager, requestId: string): Promise<DeliveryState | undefined> {
  const locked = await em.execute<{ delivery_state: DeliveryState }[]>(`select delivery_state from requests where id = ? for update`, [requestId]);
  return locked[0]?.delivery_state;
}

/** One `stems` row per processing row of a request (cached answers may send them again for another row). */
export async function enqueueStems(em: EntityManager, requestId: string, processingJobId: string): Promise<boolean> {
  const inserted = await em.execute<{ id: string }[]>(
    `insert into deliveries (request_id, kind, payload)
     select ?, 'stems', ?::jsonb
      where not exists (select 1 from deliveries where request_id = ? and kind = 'stems' and payload->>'processingJobId' = ?)
     returning id`,
    [requestId, JSON.stringify({ processingJobId }), requestId, processingJobId],
  );
  return inserted.length > 0;
}

/** The analysis DM: at most one per request (the partial unique index). */
export async function enqueueDm(em: EntityManager, requestId: string, analysisJobId: string): Promise<boolean> {
  const inserted = await em.execute<{ id: string }[]>(
    `insert into deliveries (request_id, kind, payload) values (?, 'dm', ?::jsonb)
     on conflict (request_id, kind) where kind in ('progress_edit', 'dm') do nothing returning id`,
    [requestId, JSON.stringify({ analysisJobId })],
  );
  return inserted.length > 0;
}

/** Fails an open request with its reason; a delivered or failed one is left as it is. */
export function failRequest(db: Orm | EntityManager, requestId: string, reason: string): Promise<void> {
  return moveDelivery(db, requestId, 'failed', ', delivery_error = ?', [reason]);
}

/** A sender claims the upload of a pending request. */
export function markDelivering(orm: Orm, requestId: string): Promise<void> {
  return moveDelivery(orm, requestId, 'delivering');
}

/** The sender gives its claim back after a failure that will be retried. */
export function releaseDelivering(orm: Orm, requestId: string): Promise<void> {
  return moveDelivery(orm, requestId, 'pending');
}

/** Delivered (with a note when part of it failed); only an open request becomes delivered. */
export function markDelivered(db: Orm | EntityManager, requestId: string, note: string | null = null): Promise<void> {
  return moveDelivery(db, requestId, 'delivered', ', delivery_error = ?, delivered_at = now()', [note]);
}

/** The one delivery_state write: to `to`, only from the states the lifecycle allows, with `set` (its `?` taking `params`). */
async function moveDelivery(db: Orm | EntityManager, requestId: string, to: DeliveryState, set = '', params: unknown[] = []): Promise<void> {
  const sql = `update requests set delivery_state = '${to}'${set}, updated_at = now() where id = ? and delivery_state in (${from(to)})`;
  await ('em' in db ? conn(db) : db).execute(sql, [...params, requestId]);
}

/** Settles the analysis DM (only a pending one moves). */
export async function settleDm(orm: Orm, requestId: string, state: Exclude<DmState, 'pending'>): Promise<void> {
  await conn(orm).execute(`update requests set dm_state = ?, updated_at = now() where id = ? and dm_state = 'pending'`, [state, requestId]);
}
