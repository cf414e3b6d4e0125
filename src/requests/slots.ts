/**
 * The per-user limit (SFA_USER_CONCURRENCY), counted here and nowhere else.
 * A user's requests in progress are their open requests (delivery pending or
 * delivering: /separate, /analyze and re-processing by reaction alike) plus
 * the slots of their commands still being prepared. The count is taken under
 * a per-user advisory lock held to the end of the caller's transaction, so
 * whoever counts and then writes a slot or a request is never overtaken.
 *
 * A command takes a slot BEFORE its slow part (fetching an attachment can
 * take minutes), so parallel commands of one user see each other. The slot is
 * given back in the transaction that writes the Request row (which then
 * counts instead), or when the command fails.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../db/orm.ts';

/** A slot left by a process that died frees itself after this long. */
export const SLOT_LIFETIME_MS = 30 * 60_000;

export type SlotResult = { ok: true; slotId: string } | { ok: false; running: number };

/** The user's requests in progress; locks the user's count until `em`'s transaction ends. */
export async function requestsInProgress(em: EntityManager, userId: string): Promise<number> {
  await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`sfa-user-slots:${userId}`]);
  const rows = await em.execute<{ n: string }[]>(
    `select (select count(*) from requests where requester_id = ? and delivery_state in ('pending', 'delivering'))
          + (select count(*) from request_slots where requester_id = ? and expires_at > now()) as n`,
    [userId, userId],
  );
  return Number(rows[0]!.n);
}

export async function takeSlot(orm: Orm, userId: string, limit: number): Promise<SlotResult> {
  return orm.em.fork().transactional(async (em) => {
    const running = await requestsInProgress(em, userId);
    if (running >= limit) return { ok: false, running };
    const slot = await em.execute<{ id: string }[]>(
      `insert into request_slots (requester_id, expires_at) values (?, now() + make_interval(secs => ?)) returning id`,
      [userId, SLOT_LIFETIME_MS / 1000],
    );
    return { ok: true, slotId: slot[0]!.id };
  });
}

/** Gives a slot back (the command failed, or its Request row was written). Also sweeps expired slots. */
export async function releaseSlot(orm: Orm, slotId: string): Promise<void> {
  await orm.em.fork().execute(`delete from request_slots where id = ? or expires_at <= now()`, [slotId]);
}

/** Inside the transaction that writes the slot's Request row: the row counts instead. */
export async function dropSlot(em: EntityManager, slotId: string): Promise<void> {
  await em.execute(`delete from request_slots where id = ?`, [slotId]);
}
