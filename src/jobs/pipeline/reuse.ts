/**
 * Reuse before recompute. Each finder returns the row a new request can ride on:
 * a completed one whose output is still on disk (ready), else one still queued
 * or running (shared), else undefined (the caller creates a new row). A completed
 * row whose files vanished is not trusted; it stays in history as it is.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { getModel } from '../../domain/modelCatalog.ts';
import type { JobStatus } from '../../domain/jobStatus.ts';
import { fileIntact } from './files.ts';

export interface Reusable {
  id: string;
  /** true: completed with its output intact; false: queued or running. */
  ready: boolean;
}

const ACTIVE = new Set<JobStatus>(['queued', 'downloading', 'processing']);

async function pick<R extends { id: string; status: JobStatus }>(rows: R[], intact: (row: R) => Promise<boolean>): Promise<Reusable | undefined> {
  for (const row of rows) {
    if (row.status === 'completed' && (await intact(row))) return { id: row.id, ready: true };
  }
  const active = rows.find((row) => ACTIVE.has(row.status));
  return active ? { id: active.id, ready: false } : undefined;
}

export async function findReusableDownload(em: EntityManager, trackId: string): Promise<Reusable | undefined> {
  const rows = await em.execute<{ id: string; status: JobStatus; output_path: string | null; file_size: string | null }[]>(
    `select id, status, output_path, file_size from download_jobs
      where track_id = ? and status <> 'failed' order by inserted_at desc, id desc`,
    [trackId],
  );
  return pick(rows, (row) => fileIntact(row.output_path, row.file_size));
}

/** The newest completed download of the track whose file is intact: the input of separation and analysis. */
export async function findDownloadedAudio(em: EntityManager, trackId: string): Promise<{ id: string; path: string } | undefined> {
  const found = await findReusableDownload(em, trackId);
  if (!found?.ready) return undefined;
  const rows = await em.execute<{ output_path: string }[]>(`select output_path from download_jobs where id = ?`, [found.id]);
  return { id: found.id, path: rows[0]!.output_path };
}

export async function findReusableProcessing(em: EntityManager, trackId: string, model: string, format: string): Promise<Reusable | undefined> {
  const rows = await em.execute<{ id: string; status: JobStatus }[]>(
    `select id, status from processing_jobs
      where track_id = ? and model = ? and coalesce(options->>'format', 'wav') = ? and status <> 'failed'
      order by inserted_at desc, id desc`,
    [trackId, model, format],
  );
  const expected = getModel(model)?.stems.length;
  return pick(rows, async (row) => {
    const stems = await em.execute<{ file_path: string | null; file_size: string | null }[]>(
      `select file_path, file_size from stems where processing_job_id = ?`,
      [row.id],
    );
    if (stems.length === 0 || (expected !== undefined && stems.length < expected)) return false;
    for (const stem of stems) if (!(await fileIntact(stem.file_path, stem.file_size))) return false;
    return true;
  });
}

export async function findReusableAnalysis(em: EntityManager, trackId: string): Promise<Reusable | undefined> {
  const rows = await em.execute<{ id: string; status: JobStatus; result_id: string | null }[]>(
    `select j.id, j.status, r.id as result_id from analysis_jobs j
       left join analysis_results r on r.analysis_job_id = j.id
      where j.track_id = ? and j.status <> 'failed' order by j.inserted_at desc, j.id desc`,
    [trackId],
  );
  return pick(rows, async (row) => row.result_id !== null);
}
