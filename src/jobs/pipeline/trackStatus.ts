/**
 * A track and every job about it, read from the rows (any process, any time):
 * what `sfa status` prints and what a front end renders.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { aggregateProgress, describeStage, type OverallProgress, type StageProgress } from '../../domain/progress.ts';
import type { JobStatus } from '../../domain/jobStatus.ts';
import { parseSpotifyTrack } from '../../domain/spotifyInput.ts';
import { STAGE_FACTS } from '../../domain/stages.ts';
import { formatDuration } from '../download/errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface JobStatusView {
  id: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  outputPath: string | null;
  insertedAt: string;
  updatedAt: string;
}

export interface TrackStatus {
  track: {
    id: string;
    title: string;
    artist: string | null;
    album: string | null;
    duration: number | null;
    spotifyUrl: string | null;
    sourceUrl: string | null;
  };
  downloads: (JobStatusView & { fileSize: number | null })[];
  separations: (JobStatusView & { model: string; format: string | null; stems: { type: string; path: string | null; size: number | null }[] })[];
  analyses: (JobStatusView & { result: Record<string, unknown> | null })[];
  /** From the newest job of each kind. */
  overall: OverallProgress;
}

export type TrackRef = { trackId: string } | { spotifyId: string };

/** A track id, or a Spotify track link/URI; undefined when it is neither (message in `reason`). */
export function parseTrackRef(raw: string): TrackRef | { reason: string } {
  const s = raw.trim();
  if (UUID.test(s)) return { trackId: s.toLowerCase() };
  const spotify = parseSpotifyTrack(s);
  if (spotify.ok) return { spotifyId: spotify.id };
  return { reason: `Expected a track id (a UUID) or a Spotify track link. ${spotify.reason}` };
}

type Row = Record<string, unknown>;
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function view(row: Row): JobStatusView {
  return {
    id: String(row.id),
    status: row.status as JobStatus,
    progress: Number(row.progress),
    error: (row.error as string | null) ?? null,
    outputPath: (row.output_path as string | null | undefined) ?? null,
    insertedAt: iso(row.inserted_at),
    updatedAt: iso(row.updated_at),
  };
}

export async function loadTrackStatus(em: EntityManager, ref: TrackRef): Promise<TrackStatus | undefined> {
  const tracks = 'trackId' in ref
    ? await em.execute<Row[]>(`select * from tracks where id = ?`, [ref.trackId])
    : await em.execute<Row[]>(`select * from tracks where spotify_id = ?`, [ref.spotifyId]);
  const t = tracks[0];
  if (!t) return undefined;
  const id = String(t.id);
  const order = 'order by inserted_at desc, id desc';
  const downloads = await em.execute<Row[]>(`select * from download_jobs where track_id = ? ${order}`, [id]);
  const processing = await em.execute<Row[]>(`select * from processing_jobs where track_id = ? ${order}`, [id]);
  const analyses = await em.execute<Row[]>(`select * from analysis_jobs where track_id = ? ${order}`, [id]);
  const stems = await em.execute<Row[]>(`select * from stems where track_id = ? order by stem_type`, [id]);
  const results = await em.execute<Row[]>(`select * from analysis_results where track_id = ?`, [id]);

  const status: Omit<TrackStatus, 'overall'> = {
    track: {
      id,
      title: String(t.title),
      artist: (t.artist as string | null) ?? null,
      album: (t.album as string | null) ?? null,
      duration: numOrNull(t.duration),
      spotifyUrl: (t.spotify_url as string | null) ?? null,
      sourceUrl: (t.source_url as string | null) ?? null,
    },
    downloads: downloads.map((r) => ({ ...view(r), fileSize: numOrNull(r.file_size) })),
    separations: processing.map((r) => ({
      ...view(r),
      model: String(r.model),
      format: (((r.options as Row | null) ?? {}).format as string | undefined) ?? null,
      stems: stems
        .filter((s) => s.processing_job_id === r.id)
        .map((s) => ({ type: String(s.stem_type), path: (s.file_path as string | null) ?? null, size: numOrNull(s.file_size) })),
    })),
    analyses: analyses.map((r) => {
      const result = results.find((x) => x.analysis_job_id === r.id);
      return {
        ...view(r),
        result: result
          ? {
              tempo: result.tempo,
              key: result.key,
              energy: result.energy,
              spectral_centroid: result.spectral_centroid,
              spectral_rolloff: result.spectral_rolloff,
              zero_crossing_rate: result.zero_crossing_rate,
            }
          : null,
      };
    }),
  };
  const stage = (rows: JobStatusView[]): StageProgress | undefined => (rows[0] ? { status: rows[0].status, progress: rows[0].progress } : undefined);
  const stages = Object.fromEntries(
    ([
      [STAGE_FACTS.download.label, stage(status.downloads)],
      [STAGE_FACTS.processing.label, stage(status.separations)],
      [STAGE_FACTS.analysis.label, stage(status.analyses)],
    ] as const).filter(
      ([, s]) => s !== undefined,
    ),
  );
  return { ...status, overall: aggregateProgress(stages) };
}

/** Human-readable, one line per job, newest first within each kind. */
export function renderTrackStatus(s: TrackStatus): string {
  const t = s.track;
  const head = [`${t.title}${t.artist ? ` — ${t.artist}` : ''}${t.duration !== null ? ` (${formatDuration(t.duration)})` : ''}`, `  track ${t.id}`];
  if (t.spotifyUrl) head.push(`  ${t.spotifyUrl}`);
  else if (t.sourceUrl) head.push(`  ${t.sourceUrl.replace(/#.*$/, '')}`);
  const lines = [...head, `  overall: ${s.overall.state} ${s.overall.percent}%`];
  const line = (label: string, j: JobStatusView, extra = '') => `  ${label.padEnd(10)} ${j.id}  ${describeStage(j)}${extra}`;
  for (const d of s.downloads) lines.push(line('download', d, d.status === 'completed' && d.outputPath ? `  ${d.outputPath}` : ''));
  for (const p of s.separations) {
    lines.push(line('separate', p, `  [${p.model}${p.format ? `, ${p.format}` : ''}]`));
    if (p.status === 'completed') for (const stem of p.stems) lines.push(`               ${stem.type.padEnd(8)} ${stem.path ?? ''}`);
  }
  for (const a of s.analyses) {
    const r = a.result;
    const summary = r ? `  tempo ${r.tempo === null ? '?' : Math.round(Number(r.tempo))} BPM, key ${String(r.key ?? '?')}` : '';
    lines.push(line('analyze', a, summary));
  }
  if (s.downloads.length + s.separations.length + s.analyses.length === 0) lines.push('  no jobs yet');
  return `${lines.join('\n')}\n`;
}
