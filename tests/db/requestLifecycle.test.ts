/**
 * Migration 0005 against the real database: the trigger refuses every
 * delivery-state and DM-state move the lifecycle (src/domain/requestLifecycle.ts)
 * forbids and lets the others through; the outbox's writes never move a
 * finished request; spawned_request_id is backfilled from the old
 * 'reprocess:<id>' outcomes.
 */
import { CheckConstraintViolationException } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrm } from '../../src/db/orm.ts';
import { DELIVERY_STATES, DM_STATES, canMoveDelivery, canMoveDm, type DeliveryState, type DmState } from '../../src/domain/requestLifecycle.ts';
import { failRequest, markDelivered, markDelivering, releaseDelivering, settleDm } from '../../src/requests/outbox.ts';
import { createDatabase, dropDatabase, insertReactionChoice, insertRequest, insertTrack, selectRow, uniqueDatabaseName, useTestOrm, withDatabase } from '../support/db.ts';

const db = useTestOrm();

const newRequest = async (fields: Record<string, unknown> = {}) => insertRequest(db.em, await insertTrack(db.em), fields);

const DELIVERY_PAIRS = DELIVERY_STATES.flatMap((from) => DELIVERY_STATES.filter((to) => to !== from).map((to) => ({ from, to, allowed: canMoveDelivery(from, to) })));
const DM_VALUES: (DmState | null)[] = [...DM_STATES, null];
const DM_PAIRS = DM_VALUES.flatMap((from) =>
  DM_VALUES.filter((to) => to !== from).map((to) => ({ from, to, allowed: from !== null && to !== null && canMoveDm(from, to) })),
);

it('checks 12 delivery moves (6 allowed) and 20 DM moves (3 allowed)', () => {
  expect(DELIVERY_PAIRS).toHaveLength(12);
  expect(DELIVERY_PAIRS.filter((p) => p.allowed)).toHaveLength(6);
  expect(DM_PAIRS).toHaveLength(20);
  expect(DM_PAIRS.filter((p) => p.allowed)).toHaveLength(3);
});

describe('the requests state trigger', () => {
  /** Writes one move of `column` with plain SQL (no guard of ours), and checks it was written or refused. */
  async function move(column: 'delivery_state' | 'dm_state', from: string | null, to: string | null, allowed: boolean, message?: string) {
    const id = await newRequest({ [column]: from });
    const write = db.em.execute(`update requests set ${column} = ? where id = ?`, [to, id]);
    if (allowed) await write;
    else {
      await expect(write).rejects.toBeInstanceOf(CheckConstraintViolationException);
      if (message) await expect(write).rejects.toThrow(message);
    }
    expect((await selectRow(db.em, 'requests', id))?.[column]).toBe(allowed ? to : from);
  }

  it.for(DELIVERY_PAIRS)('delivery_state $from -> $to: allowed $allowed', ({ from, to, allowed }) =>
    move('delivery_state', from, to, allowed, `request delivery state cannot move from ${from} to ${to}`),
  );

  it.for(DM_PAIRS)('dm_state $from -> $to: allowed $allowed', ({ from, to, allowed }) => move('dm_state', from, to, allowed));

  it('lets other columns of a finished request change', async () => {
    const id = await newRequest({ delivery_state: 'delivered', dm_state: 'sent' });
    await db.em.execute(`update requests set progress_hash = 'h', delivery_state = 'delivered' where id = ?`, [id]);
    expect(await selectRow(db.em, 'requests', id)).toMatchObject({ progress_hash: 'h', delivery_state: 'delivered' });
  });
});

describe('the outbox writes (src/requests/outbox.ts)', () => {
  it('never deliver a cancelled request, nor fail a delivered one, nor settle a DM twice', async () => {
    const cancelled = await newRequest({ delivery_state: 'failed', delivery_error: 'cancelled by the requester' });
    await markDelivering(db.orm, cancelled);
    await markDelivered(db.orm, cancelled, null);
    expect(await selectRow(db.em, 'requests', cancelled)).toMatchObject({ delivery_state: 'failed', delivery_error: 'cancelled by the requester', delivered_at: null });

    const delivered = await newRequest({ delivery_state: 'delivered' });
    await failRequest(db.orm, delivered, 'too late');
    await releaseDelivering(db.orm, delivered);
    expect(await selectRow(db.em, 'requests', delivered)).toMatchObject({ delivery_state: 'delivered', delivery_error: null });

    const dm = await newRequest({ dm_state: 'sent' });
    await settleDm(db.orm, dm, 'failed');
    expect((await selectRow(db.em, 'requests', dm))?.dm_state).toBe('sent');
  });

  it('take a request through pending -> delivering -> pending -> delivering -> delivered', async () => {
    const id = await newRequest();
    const states: DeliveryState[] = [];
    for (const write of [markDelivering, releaseDelivering, markDelivering, (o: typeof db.orm, r: string) => markDelivered(o, r, 'some stems were not delivered (x)')]) {
      await write(db.orm, id);
      states.push((await selectRow(db.em, 'requests', id))?.delivery_state as DeliveryState);
    }
    expect(states).toEqual(['delivering', 'pending', 'delivering', 'delivered']);
    expect(await selectRow(db.em, 'requests', id)).toMatchObject({ delivery_error: 'some stems were not delivered (x)' });
  });
});

describe('migration 0005 on its own database', () => {
  const admin = inject('adminDatabaseUrl');
  const name = uniqueDatabaseName('sfa_test_0005');
  const url = withDatabase(admin, name);
  beforeAll(() => createDatabase(admin, name));
  afterAll(() => dropDatabase(admin, name));

  it('backfills spawned_request_id from the outcome and rolls back to it', async () => {
    const scratch = await createOrm(url);
    try {
      await scratch.migrator.up({ to: '0004_model_fetch' });
      const e = scratch.em.fork();
      const trackId = await insertTrack(e);
      const original = await insertRequest(e, trackId);
      const spawned = await insertRequest(e, trackId, { requester_id: '100000000000000009', dm_state: null });
      const cached = await insertRequest(e, trackId, { requester_id: '100000000000000010', dm_state: null });
      const gone = randomUUID();
      const reprocess = await insertReactionChoice(e, original, { state: 'handled', handled_at: new Date(), outcome: `reprocess:${spawned}` });
      const fromCache = await insertReactionChoice(e, original, { state: 'handled', handled_at: new Date(), outcome: `from_cache:${cached}` });
      const dangling = await insertReactionChoice(e, original, { state: 'handled', handled_at: new Date(), outcome: `reprocess:${gone}` });
      const ignored = await insertReactionChoice(e, original, { state: 'ignored', handled_at: new Date(), outcome: 'over_limit' });

      await scratch.migrator.up();
      const after = async (id: string) => {
        const row = await selectRow(e, 'reaction_choices', id);
        return [row?.outcome, row?.spawned_request_id];
      };
      expect(await after(reprocess)).toEqual(['reprocess', spawned]);
      expect(await after(fromCache)).toEqual(['from_cache', cached]);
      expect(await after(dangling)).toEqual(['reprocess', null]);
      expect(await after(ignored)).toEqual(['over_limit', null]);

      // The foreign key: deleting the spawned request keeps the choice and clears the link.
      await e.execute(`delete from requests where id = ?`, [cached]);
      expect(await after(fromCache)).toEqual(['from_cache', null]);

      await scratch.migrator.down({ to: '0004_model_fetch' });
      expect((await selectRow(e, 'reaction_choices', reprocess))?.outcome).toBe(`reprocess:${spawned}`);
      // Without the trigger, any move is written again.
      await e.execute(`update requests set delivery_state = 'delivered' where id = ?`, [original]);
      await e.execute(`update requests set delivery_state = 'pending' where id = ?`, [original]);
      await scratch.migrator.up();
    } finally {
      await scratch.close();
    }
  });
});
