/**
 * Helpers for tests against the real PostgreSQL. Rows are inserted with plain
 * SQL (not through the code under test) and every helper makes unique data,
 * so tests and files can run in parallel on the shared per-run database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, inject } from 'vitest';
import type { JobStatus } from '../../src/domain/jobStatus.ts';
import { JOB_TABLES, type JobKind } from '../../src/db/jobStatusWrites.ts';
import { createOrm, type Orm } from '../../src/db/orm.ts';

export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

export function openTestOrm(): Promise<Orm> {
  return createOrm(testDatabaseUrl());
}

/** A file's (or describe block's) ORM on the run's database and one EntityManager fork: opened in beforeAll, closed in afterAll. */
export function useTestOrm(): { readonly orm: Orm; readonly em: EntityManager } {
  const db = {} as { orm: Orm; em: EntityManager };
  beforeAll(async () => {
    db.orm = await openTestOrm();
    db.em = db.orm.em.fork();
  });
  afterAll(() => db.orm?.close());
  return db;
}

let fileDatabase: Promise<string> | undefined;

/**
 * A migrated database of this test file's own, created on first use and dropped with
 * the run's database (globalSetup drops `<run database>_f_*`). For files whose child
 * processes run workers on the default pg-boss queues: on the shared database, two such
 * files running in parallel would take each other's jobs (and their reapers each other's rows).
 */
export function fileDatabaseUrl(): Promise<string> {
  fileDatabase ??= (async () => {
    const run = testDatabaseUrl();
    const name = `${decodeURIComponent(new URL(run).pathname.slice(1))}_f_${randomBytes(4).toString('hex')}`;
    await createDatabase(serverUrl(run), name);
    const url = withDatabase(run, name);
    const { migrate } = await import('../../src/db/migrate.ts');
    await migrate(url);
    return url;
  })();
  return fileDatabase;
}

export async function openFileOrm(): Promise<Orm> {
  return createOrm(await fileDatabaseUrl());
}

/** The maintenance database (`postgres`) of the server `url` points at. */
export function serverUrl(url: string | undefined): string {
  return withDatabase(url?.trim() || DEFAULT_SERVER_URL, 'postgres');
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

export function uniqueDatabaseName(prefix = 'sfa_test'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

async function onAdminConnection(adminUrl: string, sql: string): Promise<void> {
  const orm = await createOrm(adminUrl);
  try {
    await orm.em.getConnection().execute(sql);
  } finally {
    await orm.close();
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export function createDatabase(adminUrl: string, name: string): Promise<void> {
  return onAdminConnection(adminUrl, `create database ${quoteIdent(name)}`);
}

export function dropDatabase(adminUrl: string, name: string): Promise<void> {
  return onAdminConnection(adminUrl, `drop database if exists ${quoteIdent(name)} with (force)`);
}

export function uniqueSpotifyId(): string {
  // 22 base62-ish characters, like a real Spotify track id.
  return randomBytes(16).toString('base64url').replace(/[-_]/g, 'x').slice(0, 22);
}

type Row = Record<string, unknown>;

async function insert(em: EntityManager, table: string, fields: Row): Promise<string> {
  const columns = Object.keys(fields);
  const values = Object.values(fields).map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v));
  const sql = columns.length
    ? `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')}) returning id`
    : `insert into ${table} default values returning id`;
  const rows = await em.execute<{ id: string }[]>(sql, values);
  return rows[0]!.id;
}

export function insertTrack(em: EntityManager, fields: Row = {}): Promise<string> {
  return insert(em, 'tracks', { title: 'Test track', spotify_id: uniqueSpotifyId(), ...fields });
}

/** A job row inserted directly in `status` (the status trigger guards updates, not inserts). */
export async function insertJob(
  em: EntityManager,
  kind: JobKind,
  trackId: string,
  fields: Row & { status?: JobStatus } = {},
): Promise<string> {
  return insert(em, JOB_TABLES[kind], { track_id: trackId, ...fields });
}

export async function insertTrackWithJob(
  em: EntityManager,
  kind: JobKind,
  fields: Row & { status?: JobStatus } = {},
): Promise<{ trackId: string; jobId: string }> {
  const trackId = await insertTrack(em);
  return { trackId, jobId: await insertJob(em, kind, trackId, fields) };
}

export function insertStem(em: EntityManager, processingJobId: string, trackId: string, fields: Row = {}) {
  return insert(em, 'stems', { processing_job_id: processingJobId, track_id: trackId, stem_type: 'vocals', ...fields });
}

export function insertAnalysisResult(em: EntityManager, analysisJobId: string, trackId: string, fields: Row = {}) {
  return insert(em, 'analysis_results', { analysis_job_id: analysisJobId, track_id: trackId, tempo: 120, ...fields });
}

export function insertRequest(em: EntityManager, trackId: string, fields: Row = {}) {
  return insert(em, 'requests', {
    kind: 'separate',
    requester_id: '100000000000000001',
    guild_id: '200000000000000002',
    channel_id: '300000000000000003',
    application_id: '400000000000000004',
    interaction_token: `token-${randomUUID()}`,
    interaction_expires_at: new Date(Date.now() + 15 * 60_000),
    track_id: trackId,
    ...fields,
  });
}

export async function selectRow(em: EntityManager, table: string, id: string): Promise<Row | undefined> {
  const rows = await em.execute<Row[]>(`select * from ${table} where id = ?`, [id]);
  return rows[0];
}

export async function countRows(em: EntityManager, table: string, where: string, params: unknown[]): Promise<number> {
  const rows = await em.execute<{ n: string }[]>(`select count(*) as n from ${table} where ${where}`, params);
  return Number(rows[0]!.n);
}

export function insertDelivery(em: EntityManager, requestId: string, fields: Row = {}) {
  return insert(em, 'deliveries', { request_id: requestId, kind: 'notice', payload: { content: 'hello' }, ...fields });
}

export function insertReactionChoice(em: EntityManager, requestId: string, fields: Row = {}) {
  return insert(em, 'reaction_choices', {
    request_id: requestId,
    message_id: '500000000000000005',
    user_id: '100000000000000001',
    emoji: '💎',
    model: 'htdemucs_ft',
    ...fields,
  });
}
