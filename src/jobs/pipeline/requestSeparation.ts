/**
 * requestSeparation: the entry point of the pipeline for stems (CLI and bot);
 * requestAnalysis (requestAnalysis.ts) is the same request without the
 * separation. Both run requestWork.
 *
 * In ONE transaction: find-or-create the Track, lock it, reuse or create the
 * download, processing (track, model, format) and analysis rows, and send the
 * pg-boss jobs that can start now. Rows and queue entries commit together, so
 * after a crash at any point either both exist or neither does.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PgBoss } from 'pg-boss';
import type { AudioFormat } from '../../db/entities/index.ts';
import { STEM_FORMATS } from '../../domain/audioFormats.ts';
import type { Orm } from '../../db/orm.ts';
import { DEFAULT_MODEL, UnknownModelError, isModelName } from '../../domain/modelCatalog.ts';
import { sendDownload } from '../queues/send.ts';
import { InputError, parsePipelineInput, type PipelineInput } from './input.ts';
import { announce } from './progressEvents.ts';
import { lockTrack, releaseWaitingJobs } from './release.ts';
import { findReusableAnalysis, findReusableDownload, findReusableProcessing } from './reuse.ts';
import { findOrCreateTrack } from './tracks.ts';

export const FORMATS: readonly AudioFormat[] = STEM_FORMATS;

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
  /** The requester may fetch private-network addresses (the CLI user's own machine); recorded on the track, never set by the bot. */
  allowPrivateHosts?: boolean;
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
  if (!FORMATS.includes(format)) throw new InputError(`Unknown format "${String(format).slice(0, 20)}". Use ${STEM_FORMATS.slice(0, -1).join(', ')} or ${STEM_FORMATS.at(-1)!}.`);
  const input = parsePipelineInput(request.input, request.cwd);
  const rows = await requestWork(ctx, input, { separation: { model, format, requester: request.requester }, allowPrivateHosts: request.allowPrivateHosts });
  const processing = rows.processing!;
  return {
    trackId: rows.trackId,
    downloadJobId: rows.download.id,
    processingJobId: processing.id,
    analysisJobId: rows.analysis.id,
    reused: { download: rows.download.reused, processing: processing.reused, analysis: rows.analysis.reused },
  };
}

/** What one request asks for: the analysis always; a separation (track, model, format) when given. */
export interface WorkWanted {
  separation?: { model: string; format: AudioFormat; requester?: string | undefined };
  /** A link's requester may reach private addresses (see findOrCreateTrack). */
  allowPrivateHosts?: boolean | undefined;
}

export interface RequestedRow {
  id: string;
  /** The row existed (ready or in progress) rather than being created by this request. */
  reused: boolean;
}

export interface RequestedWork {
  trackId: string;
  download: RequestedRow;
  processing?: RequestedRow;
  analysis: RequestedRow;
}

/**
 * The shared body of requestSeparation and requestAnalysis, in ONE transaction:
 * find-or-create the track, lock it, reuse or create each wanted row, send what
 * can start now. Callers validate the request first (nothing is written for bad input).
 */
export async function requestWork(ctx: PipelineContext, input: PipelineInput, wanted: WorkWanted): Promise<RequestedWork> {
  return ctx.orm.em.fork().transactional(async (em) => {
    const track = await findOrCreateTrack(em, input, { allowPrivateHosts: wanted.allowPrivateHosts });
    await lockTrack(em, track.id);

    const sep = wanted.separation;
    const processing = sep
      ? ((await findReusableProcessing(em, track.id, sep.model, sep.format)) ?? {
          id: await createRow(em, 'processing_jobs', track.id, {
            model: sep.model,
            options: { format: sep.format, ...(sep.requester ? { requester: sep.requester } : {}) },
          }),
          ready: false,
          created: true,
        })
      : undefined;
    const analysis = (await findReusableAnalysis(em, track.id)) ?? {
      id: await createRow(em, 'analysis_jobs', track.id),
      ready: false,
      created: true,
    };
    // The audio is only an input: when everything wanted is served from storage, a
    // vanished download file is not fetched again (the next request that needs it will).
    const needsAudio = !((processing === undefined || processing.ready) && analysis.ready);
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
    if (processing && 'created' in processing) {
      await announce(em, { kind: 'processing', jobId: processing.id, trackId: track.id, status: 'queued', progress: 0 });
    }
    if ('created' in analysis) await announce(em, { kind: 'analysis', jobId: analysis.id, trackId: track.id, status: 'queued', progress: 0 });

    const row = (r: { id: string }): RequestedRow => ({ id: r.id, reused: !('created' in r) });
    return {
      trackId: track.id,
      download: row(download),
      ...(processing ? { processing: row(processing) } : {}),
      analysis: row(analysis),
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
