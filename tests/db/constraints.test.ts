/**
 * What the database itself refuses, whoever writes: uniqueness, NOT NULL,
 * CHECKs on status/progress/stem_type/request fields and foreign keys.
 */
import {
  CheckConstraintViolationException,
  ForeignKeyConstraintViolationException,
  NotNullConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JOB_KINDS, JOB_TABLES } from '../../src/db/jobStatusWrites.ts';
import { KNOWN_STEM_TYPES } from '../../src/domain/modelCatalog.ts';
import { JOB_STATUSES } from '../../src/domain/jobStatus.ts';
import {
  countRows,
  insertAnalysisResult,
  insertJob,
  insertRequest,
  insertStem,
  insertTrack,
  insertTrackWithJob,
  selectRow,
  uniqueSpotifyId,
  useTestOrm,
} from '../support/db.ts';

const db = useTestOrm();

describe('tracks', () => {
  it('rejects a duplicate spotify_id', async () => {
    const spotifyId = uniqueSpotifyId();
    await insertTrack(db.em, { spotify_id: spotifyId });
    await expect(insertTrack(db.em, { spotify_id: spotifyId })).rejects.toMatchObject({
      constructor: UniqueConstraintViolationException,
      constraint: 'tracks_spotify_id_unique',
    });
  });

  it('allows any number of tracks without a spotify_id (direct URLs, files)', async () => {
    const sourceUrl = `https://example.test/${randomUUID()}.mp3`;
    await insertTrack(db.em, { spotify_id: null, source_url: sourceUrl });
    await insertTrack(db.em, { spotify_id: null, source_url: sourceUrl });
    expect(await countRows(db.em, 'tracks', 'source_url = ?', [sourceUrl])).toBe(2);
  });

  it('rejects a NULL title', async () => {
    await expect(insertTrack(db.em, { title: null })).rejects.toMatchObject({
      constructor: NotNullConstraintViolationException,
      column: 'title',
    });
  });

  it('generates a uuid v4 id and timestamps in the database', async () => {
    const id = await insertTrack(db.em);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const row = await selectRow(db.em, 'tracks', id);
    // Raw results keep timestamptz as text; entities map it to Date.
    expect(Date.now() - new Date(String(row?.inserted_at)).getTime()).toBeLessThan(60_000);
    expect(row?.updated_at).toEqual(row?.inserted_at);
  });
});

describe.each(JOB_KINDS)('%s jobs', (kind) => {
  const table = JOB_TABLES[kind];

  it('defaults to queued with progress 0', async () => {
    const { jobId } = await insertTrackWithJob(db.em, kind);
    expect(await selectRow(db.em, table, jobId)).toMatchObject({ status: 'queued', progress: 0, error: null });
  });

  it.each([101, -1])('rejects progress %i', async (progress) => {
    await expect(insertTrackWithJob(db.em, kind, { progress })).rejects.toMatchObject({
      constructor: CheckConstraintViolationException,
      constraint: `${table}_progress_check`,
    });
  });

  it('accepts progress 0 and 100', async () => {
    const trackId = await insertTrack(db.em);
    await insertJob(db.em, kind, trackId, { progress: 0 });
    await insertJob(db.em, kind, trackId, { progress: 100 });
  });

  it('rejects an unknown status and accepts every known one', async () => {
    await expect(insertTrackWithJob(db.em, kind, { status: 'paused' as never })).rejects.toMatchObject({
      constructor: CheckConstraintViolationException,
      constraint: `${table}_status_check`,
    });
    const trackId = await insertTrack(db.em);
    for (const status of JOB_STATUSES) await insertJob(db.em, kind, trackId, { status });
  });

  it('rejects a NULL status', async () => {
    await expect(insertTrackWithJob(db.em, kind, { status: null as never })).rejects.toBeInstanceOf(
      NotNullConstraintViolationException,
    );
  });

  it('rejects a track_id that does not exist, and a missing one', async () => {
    await expect(insertJob(db.em, kind, randomUUID())).rejects.toMatchObject({
      constructor: ForeignKeyConstraintViolationException,
      constraint: `${table}_track_id_foreign`,
    });
    await expect(insertJob(db.em, kind, null as never)).rejects.toBeInstanceOf(NotNullConstraintViolationException);
  });
});

describe('processing jobs', () => {
  it('default to the htdemucs model', async () => {
    const { jobId } = await insertTrackWithJob(db.em, 'processing');
    expect(await selectRow(db.em, 'processing_jobs', jobId)).toMatchObject({ model: 'htdemucs', options: null });
  });
});

describe('stems', () => {
  it('accepts every catalog stem type and rejects others', async () => {
    const { trackId, jobId } = await insertTrackWithJob(db.em, 'processing');
    for (const stemType of KNOWN_STEM_TYPES) await insertStem(db.em, jobId, trackId, { stem_type: stemType });
    await expect(insertStem(db.em, jobId, trackId, { stem_type: 'kazoo' })).rejects.toMatchObject({
      constructor: CheckConstraintViolationException,
      constraint: 'stems_stem_type_check',
    });
  });

  it('rejects a second stem of the same type from one job', async () => {
    const { trackId, jobId } = await insertTrackWithJob(db.em, 'processing');
    await insertStem(db.em, jobId, trackId, { stem_type: 'drums' });
    await expect(insertStem(db.em, jobId, trackId, { stem_type: 'drums' })).rejects.toMatchObject({
      constructor: UniqueConstraintViolationException,
      constraint: 'stems_processing_job_id_stem_type_unique',
    });
  });

  it('rejects unknown processing jobs and tracks', async () => {
    const { trackId, jobId } = await insertTrackWithJob(db.em, 'processing');
    await expect(insertStem(db.em, randomUUID(), trackId)).rejects.toMatchObject({
      constructor: ForeignKeyConstraintViolationException,
      constraint: 'stems_processing_job_id_foreign',
    });
    await expect(insertStem(db.em, jobId, randomUUID())).rejects.toMatchObject({
      constructor: ForeignKeyConstraintViolationException,
      constraint: 'stems_track_id_foreign',
    });
  });

  it('requires a stem_type', async () => {
    const { trackId, jobId } = await insertTrackWithJob(db.em, 'processing');
    await expect(insertStem(db.em, jobId, trackId, { stem_type: null })).rejects.toBeInstanceOf(
      NotNullConstraintViolationException,
    );
  });
});

describe('analysis results', () => {
  it('allow one result per analysis job', async () => {
    const { trackId, jobId } = await insertTrackWithJob(db.em, 'analysis');
    await insertAnalysisResult(db.em, jobId, trackId, { key: 'A minor', features: { chroma: [1, 0] } });
    await expect(insertAnalysisResult(db.em, jobId, trackId)).rejects.toMatchObject({
      constructor: UniqueConstraintViolationException,
      constraint: 'analysis_results_analysis_job_id_unique',
    });
  });

  it('reject unknown analysis jobs and tracks', async () => {
    const { trackId, jobId } = await insertTrackWithJob(db.em, 'analysis');
    await expect(insertAnalysisResult(db.em, randomUUID(), trackId)).rejects.toMatchObject({
      constructor: ForeignKeyConstraintViolationException,
      constraint: 'analysis_results_analysis_job_id_foreign',
    });
    await expect(insertAnalysisResult(db.em, jobId, randomUUID())).rejects.toMatchObject({
      constructor: ForeignKeyConstraintViolationException,
      constraint: 'analysis_results_track_id_foreign',
    });
  });
});

describe('requests', () => {
  it('default to pending delivery with no message yet', async () => {
    const trackId = await insertTrack(db.em);
    const id = await insertRequest(db.em, trackId);
    expect(await selectRow(db.em, 'requests', id)).toMatchObject({
      delivery_state: 'pending',
      message_id: null,
      model: null,
    });
  });

  it.each([
    ['kind', 'remix', 'requests_kind_check'],
    ['format', 'ogg', 'requests_format_check'],
    ['delivery_state', 'lost', 'requests_delivery_state_check'],
  ])('reject an unknown %s', async (column, value, constraint) => {
    const trackId = await insertTrack(db.em);
    await expect(insertRequest(db.em, trackId, { [column]: value })).rejects.toMatchObject({
      constructor: CheckConstraintViolationException,
      constraint,
    });
  });

  it('reject an unknown track and a missing interaction token', async () => {
    await expect(insertRequest(db.em, randomUUID())).rejects.toMatchObject({
      constructor: ForeignKeyConstraintViolationException,
      constraint: 'requests_track_id_foreign',
    });
    const trackId = await insertTrack(db.em);
    await expect(insertRequest(db.em, trackId, { interaction_token: null })).rejects.toBeInstanceOf(
      NotNullConstraintViolationException,
    );
  });
});
