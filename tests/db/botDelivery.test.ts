/**
 * Migration 0002 (what the bot keeps in PostgreSQL): it applies and rolls
 * back on its own, the database refuses bad rows, and the outbox and reaction
 * rows go with their request.
 */
import {
  CheckConstraintViolationException,
  ForeignKeyConstraintViolationException,
  NotNullConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Delivery, ReactionChoice, Request, Track } from '../../src/db/entities/index.ts';
import { DELIVERY_KINDS, OUTBOX_STATES } from '../../src/db/entities/delivery.ts';
import { REACTION_STATES } from '../../src/db/entities/reactionChoice.ts';
import { DM_STATES, MODEL_SOURCES } from '../../src/db/entities/request.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import {
  countRows,
  createDatabase,
  dropDatabase,
  insertDelivery,
  insertReactionChoice,
  insertRequest,
  insertTrack,
  selectRow,
  uniqueDatabaseName,
  useTestOrm,
  withDatabase,
} from '../support/db.ts';

const NEW_REQUEST_COLUMNS = [
  'attachment_size_limit',
  'channel_message_id',
  'dm_state',
  'model_source',
  'progress_edited_at',
  'progress_hash',
  'progress_message_posted_at',
  'reaction_window_ends_at',
];

const db = useTestOrm();

async function newRequest(fields: Record<string, unknown> = {}): Promise<string> {
  return insertRequest(db.em, await insertTrack(db.em), fields);
}

function rejects(promise: Promise<unknown>, constructor: unknown, constraint?: string) {
  return expect(promise).rejects.toMatchObject(constraint ? { constructor, constraint } : { constructor });
}

describe('migration 0002 on its own database', () => {
  const admin = inject('adminDatabaseUrl');
  const name = uniqueDatabaseName('sfa_test_0002');
  const url = withDatabase(admin, name);
  beforeAll(() => createDatabase(admin, name));
  afterAll(() => dropDatabase(admin, name));

  async function columnsOf(o: Orm, table: string): Promise<string[]> {
    const rows = await o.em
      .fork()
      .execute<{ column_name: string }[]>(
        `select column_name from information_schema.columns where table_schema = 'public' and table_name = ? order by 1`,
        [table],
      );
    return rows.map((r) => r.column_name);
  }
  async function tableExists(o: Orm, table: string): Promise<boolean> {
    const rows = await o.em.fork().execute<{ n: string }[]>(`select count(*) as n from information_schema.tables where table_name = ?`, [
      table,
    ]);
    return Number(rows[0]!.n) === 1;
  }

  it('rolls back to 0001 keeping the requests, and re-applies with defaults filled in', async () => {
    await migrate(url);
    const scratch = await createOrm(url);
    try {
      const e = scratch.em.fork();
      const requestId = await insertRequest(e, await insertTrack(e), { dm_state: 'sent', channel_message_id: '600000000000000006' });
      await insertDelivery(e, requestId);
      await insertReactionChoice(e, requestId);

      await scratch.migrator.down({ to: '0001_initial_schema' }); // back to 0001: 0002 and the migrations after it
      expect((await scratch.migrator.getExecuted()).map((m) => m.name)).toEqual(['0001_initial_schema']);
      expect(await tableExists(scratch, 'deliveries')).toBe(false);
      expect(await tableExists(scratch, 'reaction_choices')).toBe(false);
      const columns = await columnsOf(scratch, 'requests');
      for (const column of NEW_REQUEST_COLUMNS) expect(columns).not.toContain(column);
      expect(await selectRow(e, 'requests', requestId)).toMatchObject({ id: requestId, delivery_state: 'pending' });

      await scratch.migrator.up();
      expect(await columnsOf(scratch, 'requests')).toEqual(expect.arrayContaining(NEW_REQUEST_COLUMNS));
      // The old row gets the column defaults: a DM is owed, nothing else is known yet.
      expect(await selectRow(e, 'requests', requestId)).toMatchObject({
        dm_state: 'pending',
        channel_message_id: null,
        model_source: null,
        attachment_size_limit: null,
      });
      expect(await countRows(e, 'deliveries', 'request_id = ?', [requestId])).toBe(0);
    } finally {
      await scratch.close();
    }
  });
});

describe('requests (0002 columns)', () => {
  it('default to a pending DM and nothing about the progress message yet', async () => {
    const id = await newRequest();
    expect(await selectRow(db.em, 'requests', id)).toMatchObject({
      dm_state: 'pending',
      model_source: null,
      reaction_window_ends_at: null,
      attachment_size_limit: null,
      progress_hash: null,
      progress_edited_at: null,
      progress_message_posted_at: null,
      channel_message_id: null,
    });
  });

  it('accept every model source and DM state, and NULL for "no DM"', async () => {
    for (const source of MODEL_SOURCES) await newRequest({ model: 'htdemucs', model_source: source });
    for (const state of DM_STATES) await newRequest({ dm_state: state });
    const id = await newRequest({ dm_state: null });
    expect(await selectRow(db.em, 'requests', id)).toMatchObject({ dm_state: null });
  });

  it.each([
    ['model_source', { model: 'htdemucs', model_source: 'guess' }, 'requests_model_source_check'],
    ['dm_state', { dm_state: 'lost' }, 'requests_dm_state_check'],
    ['model source without a model', { model: null, model_source: 'reaction' }, 'requests_model_chosen_check'],
    ['zero attachment limit', { attachment_size_limit: 0 }, 'requests_attachment_size_limit_check'],
    ['negative attachment limit', { attachment_size_limit: -1 }, 'requests_attachment_size_limit_check'],
  ])('reject a bad %s', async (_label, fields, constraint) => {
    await rejects(newRequest(fields), CheckConstraintViolationException, constraint);
  });

  it('store a 1 byte limit and one past 2^31 (bigint)', async () => {
    const small = await newRequest({ attachment_size_limit: 1 });
    const big = await newRequest({ attachment_size_limit: 2 ** 31 + 1 });
    expect(Number((await selectRow(db.em, 'requests', small))?.attachment_size_limit)).toBe(1);
    expect(Number((await selectRow(db.em, 'requests', big))?.attachment_size_limit)).toBe(2 ** 31 + 1);
  });
});

describe('deliveries', () => {
  it('default to pending, no attempts, due now', async () => {
    const requestId = await newRequest();
    const id = await insertDelivery(db.em, requestId);
    const row = await selectRow(db.em, 'deliveries', id);
    expect(row).toMatchObject({ state: 'pending', attempts: 0, last_error: null, sent_at: null, payload: { content: 'hello' } });
    expect(Math.abs(Date.now() - new Date(String(row?.next_attempt_at)).getTime())).toBeLessThan(60_000);
  });

  it('accept every kind, and every state with what it requires', async () => {
    const requestId = await newRequest();
    const requestKinds = DELIVERY_KINDS.filter((k) => k !== 'batch_dm');
    for (const kind of requestKinds) await insertDelivery(db.em, requestId, { kind });
    for (const state of OUTBOX_STATES) {
      await insertDelivery(db.em, requestId, {
        state,
        sent_at: state === 'sent' ? new Date() : null,
        last_error: state === 'failed' ? 'Missing Access' : null,
      });
    }
    expect(await countRows(db.em, 'deliveries', 'request_id = ?', [requestId])).toBe(requestKinds.length + OUTBOX_STATES.length);
  });

  it('a batch_dm row names a batch and no request, one per batch; other kinds name a request', async () => {
    const batch = await db.em.execute<{ id: string }[]>(
      `insert into batches (kind, requester_id, channel_id, application_id, interaction_token, interaction_expires_at, record_kind, spotify_id, name, url, track_count, summary)
       values ('analyze', 'u', 'c', 'a', 't', now(), 'album', 'x', 'Album', 'https://open.spotify.com/album/x', 1, 'its one track') returning id`,
    );
    const batchId = batch[0]!.id;
    const insert = (requestId: string | null, owner: string | null, kind: string) =>
      db.em.execute(`insert into deliveries (request_id, batch_id, kind, payload) values (?, ?, ?, '{}'::jsonb)`, [requestId, owner, kind]);
    await insert(null, batchId, 'batch_dm');
    await rejects(insert(null, batchId, 'batch_dm'), UniqueConstraintViolationException, 'deliveries_batch_dm_unique');
    await rejects(insert(await newRequest(), null, 'batch_dm'), CheckConstraintViolationException, 'deliveries_owner_check');
    await rejects(insert(await newRequest(), batchId, 'batch_dm'), CheckConstraintViolationException, 'deliveries_owner_check');
    await rejects(insert(null, batchId, 'dm'), CheckConstraintViolationException, 'deliveries_owner_check');
  });

  it.each([
    ['kind', { kind: 'carrier_pigeon' }, 'deliveries_kind_check'],
    ['state', { state: 'lost' }, 'deliveries_state_check'],
    ['attempt count', { attempts: -1 }, 'deliveries_attempts_check'],
    ['sent row without sent_at', { state: 'sent' }, 'deliveries_sent_at_check'],
    ['sent_at on a pending row', { sent_at: new Date() }, 'deliveries_sent_at_check'],
    ['failed row without an error', { state: 'failed' }, 'deliveries_failed_error_check'],
  ])('reject a bad %s', async (_label, fields, constraint) => {
    await rejects(insertDelivery(db.em, await newRequest(), fields), CheckConstraintViolationException, constraint);
  });

  it('reject a missing payload and an unknown request', async () => {
    await rejects(insertDelivery(db.em, await newRequest(), { payload: null }), NotNullConstraintViolationException);
    await rejects(insertDelivery(db.em, randomUUID()), ForeignKeyConstraintViolationException, 'deliveries_request_id_foreign');
  });

  it.each(['progress_edit', 'dm'])('allow one %s row per request', async (kind) => {
    const requestId = await newRequest();
    await insertDelivery(db.em, requestId, { kind });
    await rejects(insertDelivery(db.em, requestId, { kind }), UniqueConstraintViolationException, 'deliveries_request_id_kind_unique');
    // Another request is unaffected.
    await insertDelivery(db.em, await newRequest(), { kind });
  });

  it.each(['stems', 'notice'])('allow several %s rows per request', async (kind) => {
    const requestId = await newRequest();
    await insertDelivery(db.em, requestId, { kind });
    await insertDelivery(db.em, requestId, { kind });
    expect(await countRows(db.em, 'deliveries', 'request_id = ? and kind = ?', [requestId, kind])).toBe(2);
  });

  it('coalesce progress by upserting on the partial unique index (latest state wins)', async () => {
    const requestId = await newRequest();
    const upsert = (percent: number) =>
      db.em.execute(
        `insert into deliveries (request_id, kind, payload) values (?, 'progress_edit', ?)
         on conflict (request_id, kind) where kind in ('progress_edit', 'dm')
         do update set payload = excluded.payload, state = 'pending', updated_at = now()`,
        [requestId, JSON.stringify({ percent })],
      );
    await upsert(10);
    await upsert(40);
    const rows = await db.em.execute<{ payload: { percent: number } }[]>(`select payload from deliveries where request_id = ?`, [requestId]);
    expect(rows.map((r) => r.payload)).toEqual([{ percent: 40 }]);
  });
});

describe('reaction choices', () => {
  it('default to pending, not yet handled', async () => {
    const id = await insertReactionChoice(db.em, await newRequest());
    expect(await selectRow(db.em, 'reaction_choices', id)).toMatchObject({
      state: 'pending',
      handled_at: null,
      outcome: null,
      emoji: '💎',
      model: 'htdemucs_ft',
    });
  });

  it('accept every state with handled_at set exactly when it left pending', async () => {
    const requestId = await newRequest();
    for (const state of REACTION_STATES) {
      await insertReactionChoice(db.em, requestId, { state, handled_at: state === 'pending' ? null : new Date() });
    }
    expect(await countRows(db.em, 'reaction_choices', 'request_id = ?', [requestId])).toBe(REACTION_STATES.length);
  });

  it.each([
    ['state', { state: 'maybe', handled_at: new Date() }, 'reaction_choices_state_check'],
    ['handled row without handled_at', { state: 'handled' }, 'reaction_choices_handled_at_check'],
    ['ignored row without handled_at', { state: 'ignored' }, 'reaction_choices_handled_at_check'],
    ['pending row with handled_at', { handled_at: new Date() }, 'reaction_choices_handled_at_check'],
  ])('reject a bad %s', async (_label, fields, constraint) => {
    await rejects(insertReactionChoice(db.em, await newRequest(), fields), CheckConstraintViolationException, constraint);
  });

  it.each(['message_id', 'user_id', 'emoji', 'model'])('require %s', async (column) => {
    await rejects(insertReactionChoice(db.em, await newRequest(), { [column]: null }), NotNullConstraintViolationException);
  });

  it('reject an unknown request', async () => {
    await rejects(insertReactionChoice(db.em, randomUUID()), ForeignKeyConstraintViolationException, 'reaction_choices_request_id_foreign');
  });
});

describe('cascades', () => {
  it('deleting a request deletes its deliveries and reaction choices, and nothing of other requests', async () => {
    const gone = await newRequest();
    const kept = await newRequest();
    for (const id of [gone, kept]) {
      await insertDelivery(db.em, id);
      await insertReactionChoice(db.em, id);
    }
    await db.em.execute('delete from requests where id = ?', [gone]);
    expect(await countRows(db.em, 'deliveries', 'request_id = ?', [gone])).toBe(0);
    expect(await countRows(db.em, 'reaction_choices', 'request_id = ?', [gone])).toBe(0);
    expect(await countRows(db.em, 'deliveries', 'request_id = ?', [kept])).toBe(1);
    expect(await countRows(db.em, 'reaction_choices', 'request_id = ?', [kept])).toBe(1);
  });

  it('deleting a track reaches them through its requests', async () => {
    const trackId = await insertTrack(db.em);
    const requestId = await insertRequest(db.em, trackId);
    await insertDelivery(db.em, requestId);
    await insertReactionChoice(db.em, requestId);
    await db.em.execute('delete from tracks where id = ?', [trackId]);
    expect(await countRows(db.em, 'deliveries', 'request_id = ?', [requestId])).toBe(0);
    expect(await countRows(db.em, 'reaction_choices', 'request_id = ?', [requestId])).toBe(0);
  });
});

describe('entities', () => {
  it('persist a request with its bot state, a delivery and a reaction, and load them back', async () => {
    const e = db.orm.em.fork();
    const track = e.create(Track, { title: 'Windowlicker' });
    const windowEnd = new Date('2030-01-01T00:00:30Z');
    const request = e.create(Request, {
      kind: 'separate',
      track,
      requesterId: '1',
      channelId: '2',
      applicationId: '3',
      interactionToken: 'tok',
      interactionExpiresAt: new Date('2030-01-01T00:15:00Z'),
      model: 'htdemucs_ft',
      modelSource: 'reaction',
      reactionWindowEndsAt: windowEnd,
      attachmentSizeLimit: 25 * 1024 * 1024,
      progressHash: 'abc',
    });
    const delivery = e.create(Delivery, { request, kind: 'stems', payload: { stemIds: ['x'] } });
    const reaction = e.create(ReactionChoice, { request, messageId: '4', userId: '1', emoji: '💎', model: 'htdemucs_ft' });
    await e.flush();
    expect(delivery).toMatchObject({ state: 'pending', attempts: 0 });
    expect(delivery.nextAttemptAt).toBeInstanceOf(Date);
    expect(reaction.state).toBe('pending');

    const fresh = db.orm.em.fork();
    const loaded = await fresh.findOneOrFail(Request, request.id);
    expect(loaded).toMatchObject({
      modelSource: 'reaction',
      reactionWindowEndsAt: windowEnd,
      attachmentSizeLimit: 25 * 1024 * 1024,
      progressHash: 'abc',
      dmState: 'pending',
      channelMessageId: null,
    });
    const loadedDelivery = await fresh.findOneOrFail(Delivery, delivery.id);
    expect(loadedDelivery).toMatchObject({ kind: 'stems', payload: { stemIds: ['x'] }, state: 'pending' });
    expect(loadedDelivery.request?.id).toBe(request.id);
    expect(await fresh.findOneOrFail(ReactionChoice, reaction.id)).toMatchObject({
      state: 'pending',
      handledAt: null,
      outcome: null,
      emoji: '💎',
    });
  });
});
