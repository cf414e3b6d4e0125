/**
 * requestSeparation: the one entry point of the pipeline (CLI and bot).
 *
 * In ONE transaction: find-or-create the Track, lock it, reuse or create the
 * download, processing (track, model, format) and analysis rows, and send the
 * pg-boss jobs that can start now. Rows and queue entries commit together, so
 * after a crash at any point either both exist or neither does.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PgBoss } from 'pg-boss';
import type { AudioFormat } from '../../db/entities/index.ts';
import type { Orm } from '../../db/orm.ts';
import { DEFAULT_MODEL, UnknownModelError, isModelName } from '../../domain/modelCatalog.ts';
import { sendDownload } from '../queues/send.ts';
import { InputError, parsePipelineInput } from './input.ts';
import { announce } from './progressEvents.ts';
import { lockTrack, releaseWaitingJobs } from './release.ts';
import { findReusableAnalysis, findReusableDownload, findReusableProcessing } from './reuse.ts';
import { findOrCreateTrack } from './tracks.ts';

export const FORMATS: readonly AudioFormat[] = ['wav', 'flac', 'mp3'];

export interface PipelineContext {
  orm: Orm;
  boss: PgBoss;
  /** SFA_MAX_DURATION_SECONDS: sizes job expiry before the track length is known. */
  maxDurationSeconds: number;
}

export interface SeparationRequest {
  /** Spotify track link/URI, direct http(s) audio URL, or local file path. */
  input: string;
  model?: string;
  format?: AudioFormat;
  /** Who asked (CLI user, Discord user id); recorded in the processing row's options. */
  requester?: string;
  /** Relative file paths resolve against this (default process.cwd()). */
  cwd?: string;
}

export interface SeparationTicket {
  trackId: string;
  downloadJobId: string;
  processingJobId: string;
  analysisJobId: string;
  /** Which rows already existed (ready or in progress) rather than being created by this request. */
  reused: { download: boolean; processing: boolean; analysis: boolean };
}

/**
 * Throws InputError (bad link/path) or UnknownModelError (model not in the catalog)
 * before writing anything. Everything discovered later (missing file, not audio,
 * too long, model files absent) ends as a failed row with the reason in `error`.
 */
export async function requestSeparation(ctx: PipelineContext, request: SeparationRequest): Promise<SeparationTicket> {
  const model = request.model ?? DEFAULT_MODEL;
  if (!isModelName(model)) throw new UnknownModelError(model);
  const format = request.format ?? 'wav';
  if (!FORMATS.includes(format)) throw new InputError(`Unknown format "${String(format).slice(0, 20)}". Use wav, flac or mp3.`);
  const input = parsePipelineInput(request.input, request.cwd);

  return ctx.orm.em.fork().transactional(async (em) => {
    const track = await findOrCreateTrack(em, input);
    await lockTrack(em, track.id);

    const processing = (await findReusableProcessing(em, track.id, model, format)) ?? {
      id: await createRow(em, 'processing_jobs', track.id, {
        model,
        options: { format, ...(request.requester ? { requester: request.requester } : {}) },
      }),
      ready: false,
      created: true,
    };
    const analysis = (await findReusableAnalysis(em, track.id)) ?? {
      id: await createRow(em, 'analysis_jobs', track.id),
      ready: false,
      created: true,
    };
    // The audio is only an input: when stems and analysis are both served from storage, a
    // vanished download file is not fetched again (the next request that needs it will).
    const needsAudio = !(processing.ready && analysis.ready);
    const download = (await findReusableDownload(em, track.id)) ??
      (needsAudio ? undefined : await latestCompletedDownload(em, track.id)) ?? {
        id: await createRow(em, 'download_jobs', track.id),
        ready: false,
        created: true,
      };

    if ('created' in download) {
      await sendDownload(ctx.boss, em, download.id);
      await announce(em, { kind: 'download', jobId: download.id, trackId: track.id, status: 'queued', progress: 0 });
    } else if (download.ready) {
      await releaseWaitingJobs(em, ctx, track.id);
    }
    if ('created' in processing) await announce(em, { kind: 'processing', jobId: processing.id, trackId: track.id, status: 'queued', progress: 0 });
    if ('created' in analysis) await announce(em, { kind: 'analysis', jobId: analysis.id, trackId: track.id, status: 'queued', progress: 0 });

    return {
      trackId: track.id,
      downloadJobId: download.id,
      processingJobId: processing.id,
      analysisJobId: analysis.id,
      reused: { download: !('created' in download), processing: !('created' in processing), analysis: !('created' in analysis) },
    };
  });
}

/** The newest completed download, file or not. `ready: false`: it must not release rows that need audio. */
async function latestCompletedDownload(em: EntityManager, trackId: string): Promise<{ id: string; ready: false } | undefined> {
  const rows = await em.execute<{ id: string }[]>(
    `select id from download_jobs where track_id = ? and status = 'completed' order by inserted_at desc, id desc limit 1`,
    [trackId],
  );
  return rows[0] ? { id: rows[0].id, ready: false } : undefined;
}

async function createRow(em: EntityManager, table: string, trackId: string, fields: { model?: string; options?: object } = {}): Promise<string> {
  if (table === 'processing_jobs') {
    const rows = await em.execute<{ id: string }[]>(
      `insert into processing_jobs (track_id, model, options) values (?, ?, ?::jsonb) returning id`,
      [trackId, fields.model, JSON.stringify(fields.options ?? {})],
    );
    return rows[0]!.id;
  }
  const rows = await em.execute<{ id: string }[]>(`insert into ${table} (track_id) values (?) returning id`, [trackId]);
  return rows[0]!.id;
}
