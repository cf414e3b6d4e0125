/**
 * Per-user concurrency (SFA_USER_CONCURRENCY) without a race: a command takes
 * a slot — counted together with the user's unfinished requests, under a
 * per-user advisory lock, in one transaction — BEFORE its slow part (fetching
 * an attachment can take minutes). Parallel commands of one user therefore
 * see each other. The slot is given back in the transaction that writes the
 * Request row (which then counts instead), or when the command fails.
 */
import type { Orm } from '../../db/orm.ts';

/** A slot left by a process that died frees itself after this long. */
export const SLOT_LIFETIME_MS = 30 * 60_000;

export type SlotResult = { ok: true; slotId: string } | { ok: false; running: number };

export async function takeSlot(orm: Orm, userId: string, limit: number): Promise<SlotResult> {
  return orm.em.fork().transactional(async (em) => {
    await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`sfa-user-slots:${userId}`]);
    const rows = await em.execute<{ n: string }[]>(
      `select (select count(*) from requests where requester_id = ? and delivery_state in ('pending', 'delivering'))
            + (select count(*) from request_slots where requester_id = ? and expires_at > now()) as n`,
      [userId, userId],
    );
    const running = Number(rows[0]!.n);
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
