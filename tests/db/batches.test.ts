/**
 * An album's or playlist's request in the database (src/requests/batches.ts):
 * created in place of its slot, tracks started one at a time and only while
 * the batch runs, settled (done, the DM owed once), cancelled, the state
 * guard trigger, and the hourly allowance counted in tracks.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cancelBatch, createBatch, latestRunningBatch, nextQueuedEntry, settleBatch, startEntry, type NewBatch } from '../../src/requests/batches.ts';
import { takeSlot } from '../../src/requests/slots.ts';
import { requestTimesOfLastHour, type NewRequest, type RequestOrigin } from '../../src/requests/store.ts';
import { insertJob, insertRequest, insertTrack, useTestOrm } from '../support/db.ts';

const db = useTestOrm();

const origin = (userId: string): RequestOrigin => ({
  kind: 'analyze',
  requesterId: userId,
  guildId: 'g',
  channelId: 'c',
  applicationId: 'a',
  interactionToken: 't',
  interactionExpiresAt: new Date(Date.now() + 60_000),
});

/** An analyze request of a new track and analysis row (a started track). */
async function trackRequest(userId: string): Promise<{ request: NewRequest; analysisJobId: string }> {
  const trackId = await insertTrack(db.em);
  const analysisJobId = await insertJob(db.em, 'analysis', trackId);
  return {
    request: { ...origin(userId), model: null, modelSource: null, format: null, trackId, processingJobId: null, analysisJobId, reactionWindowEndsAt: null, attachmentSizeLimit: null },
    analysisJobId,
  };
}

function newBatch(userId: string, entries: NewBatch['entries']): NewBatch {
  return {
    ...origin(userId),
    recordKind: 'album',
    spotifyId: 'x'.repeat(22),
    name: 'An Album',
    byline: 'Someone',
    artUrl: null,
    url: 'https://open.spotify.com/album/x',
    trackCount: entries.length,
    durationSeconds: 100,
    summary: `all ${entries.length} tracks`,
    rest: null,
    model: null,
    format: null,
    attachmentSizeLimit: null,
    entries,
  };
}

const entry = (position: number, skipReason: string | null = null) => ({
  position,
  title: `Song ${position}`,
  artist: null,
  durationSeconds: 2,
  spotifyId: skipReason === 'a local file' ? null : `s${String(position).padStart(21, '0')}`,
  skipReason,
});

async function created(userId: string, entries: NewBatch['entries']): Promise<string> {
  const slot = await takeSlot(db.orm, userId, 5);
  if (!slot.ok) throw new Error('no slot');
  return createBatch(db.orm, slot.slotId, newBatch(userId, entries));
}

/** Starts the next queued entry as an analyze request of its own track and analysis row. */
async function startNext(userId: string, batchId: string): Promise<{ requestId: string | undefined; analysisJobId: string }> {
  const next = await nextQueuedEntry(db.orm, batchId);
  if (!next) throw new Error('nothing queued');
  const { request, analysisJobId } = await trackRequest(userId);
  const slot = await takeSlot(db.orm, userId, 5);
  if (!slot.ok) throw new Error('no slot');
  return { requestId: await startEntry(db.orm, slot.slotId, batchId, next.id, request), analysisJobId };
}

const one = async <T>(sql: string, params: unknown[]) => (await db.orm.em.fork().execute<T[]>(sql, params))[0]!;

describe('a batch', () => {
  it('is written with every entry in place of the slot, and starts its tracks in order, each once', async () => {
    const user = randomUUID();
    const batchId = await created(user, [entry(1), entry(2, 'a local file'), entry(3)]);
    expect(await one<{ n: string }>(`select count(*) as n from request_slots where requester_id = ?`, [user])).toEqual({ n: '0' });
    const first = await startNext(user, batchId);
    expect(first.requestId).toBeDefined();
    const row = await one<{ batch_id: string; dm_state: string | null }>(`select batch_id, dm_state from requests where id = ?`, [first.requestId]);
    expect(row).toEqual({ batch_id: batchId, dm_state: null }); // the batch sends the one DM
    expect((await nextQueuedEntry(db.orm, batchId))).toMatchObject({ spotify_id: 's000000000000000000003' });
    await startNext(user, batchId);
    expect(await nextQueuedEntry(db.orm, batchId)).toBeUndefined();
  });

  it('is done once every track ended; its DM is owed once', async () => {
    const user = randomUUID();
    const batchId = await created(user, [entry(1), entry(2)]);
    const a = await startNext(user, batchId);
    expect(await settleBatch(db.orm, batchId)).toEqual({ dm: false });
    const b = await startNext(user, batchId);
    for (const r of [a, b]) {
      // The status machine moves one step at a time.
      for (const s of ['processing', 'completed']) await db.orm.em.fork().execute(`update analysis_jobs set status = ? where id = ?`, [s, r.analysisJobId]);
      await db.orm.em.fork().execute(`update requests set delivery_state = 'delivered', delivered_at = now() where id = ?`, [r.requestId]);
    }
    expect(await settleBatch(db.orm, batchId)).toEqual({ dm: true });
    expect(await settleBatch(db.orm, batchId)).toEqual({ dm: false });
    expect(await one<{ state: string }>(`select state from batches where id = ?`, [batchId])).toEqual({ state: 'done' });
    expect(await one<{ n: string }>(`select count(*) as n from deliveries where batch_id = ? and kind = 'batch_dm'`, [batchId])).toEqual({ n: '1' });
  });

  it('cancelled: open tracks fail as cancelled, no queued track starts, and it cannot run again', async () => {
    const user = randomUUID();
    const batchId = await created(user, [entry(1), entry(2), entry(3)]);
    const started = await startNext(user, batchId);
    expect(await latestRunningBatch(db.orm, user)).toBe(batchId);
    const cancelled = await cancelBatch(db.orm, batchId);
    expect(cancelled?.open.map((r) => r.id)).toEqual([started.requestId]);
    expect(await cancelBatch(db.orm, batchId)).toBeUndefined();
    expect(await latestRunningBatch(db.orm, user)).toBeUndefined();
    expect(await nextQueuedEntry(db.orm, batchId)).toBeUndefined();
    // A start that raced the cancel writes nothing (and keeps its slot to give back).
    const queued = await one<{ id: string }>(`select id from batch_tracks where batch_id = ? and position = 2`, [batchId]);
    const slot = await takeSlot(db.orm, user, 5);
    if (!slot.ok) throw new Error('no slot');
    const r = await startEntry(db.orm, slot.slotId, batchId, queued.id, (await trackRequest(user)).request);
    expect(r).toBeUndefined();
    expect(await one<{ n: string }>(`select count(*) as n from request_slots where id = ?`, [slot.slotId])).toEqual({ n: '1' });
    // Settled (its one started track ended): the DM of what finished is owed.
    expect(await settleBatch(db.orm, batchId)).toEqual({ dm: true });
  });

  it('the state guard refuses moves out of done or cancelled', async () => {
    const user = randomUUID();
    const batchId = await created(user, [entry(1)]);
    await cancelBatch(db.orm, batchId);
    await expect(db.orm.em.fork().execute(`update batches set state = 'running' where id = ?`, [batchId])).rejects.toThrow(/batch state cannot move from cancelled to running/);
    await expect(db.orm.em.fork().execute(`update batches set state = 'done' where id = ?`, [batchId])).rejects.toThrow(/batch state cannot move from cancelled to done/);
    await db.orm.em.fork().execute(`update batches set dm_state = 'sent' where id = ?`, [batchId]);
    await expect(db.orm.em.fork().execute(`update batches set dm_state = 'pending' where id = ?`, [batchId])).rejects.toThrow(/batch DM state cannot move from sent to pending/);
  });
});

describe('the hourly allowance in tracks', () => {
  it('counts a single request once, an album by the tracks it runs (not its skipped ones nor its started rows again), and gives back what a cancel kept from starting', async () => {
    const user = randomUUID();
    await insertRequest(db.em, await insertTrack(db.em), { requester_id: user });
    const batchId = await created(user, [entry(1), entry(2), entry(3, 'a local file'), entry(4, 'over the limit of 3 tracks per request')]);
    expect(await requestTimesOfLastHour(db.orm, user)).toHaveLength(1 + 2);
    await startNext(user, batchId);
    expect(await requestTimesOfLastHour(db.orm, user)).toHaveLength(3);
    await cancelBatch(db.orm, batchId);
    expect(await requestTimesOfLastHour(db.orm, user)).toHaveLength(2); // the single one and the started track
  });
});
