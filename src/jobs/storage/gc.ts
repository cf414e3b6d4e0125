/**
 * `sfa gc`'s I/O: walks the managed folders under SFA_DATA_DIR (tmp/,
 * downloads/, stems/, analysis/, uploads/ — never pg/, models/ or anything
 * else), asks
 * the database what is in use, lets planGc (src/domain/gcPlan.ts) decide, and
 * removes what it chose.
 *
 * A completed row whose file is removed must not be trusted afterwards:
 *   - download file  -> download_jobs.output_path set to NULL;
 *   - stem set       -> stems.file_path and processing_jobs.output_path set to NULL;
 *   - overview PNG   -> the AnalysisResult row is deleted and the analysis row's
 *                       results.overview_png set to NULL (the picture is part of
 *                       the result; the next request analyses again).
 * Attachments the bot fetched (uploads/<sha256>.<ext>) are the source of the
 * tracks whose source_url names them: in use while such a track has work
 * queued or running, unreferenced (an orphan) when no track names them. No row
 * stores their path otherwise: a later attachment of the same bytes is fetched
 * again. Their staging folders (uploads/.incoming-*) are removed like stale
 * tmp/ folders, unless the process that made one is still running.
 * The rows stay as history (status completed). Reuse (pipeline/reuse.ts)
 * treats a NULL path as a vanished file, so the next request recomputes.
 * Each removal runs in a transaction holding the track's row lock — the lock
 * requestSeparation takes — and re-checks that nothing started using the
 * files meanwhile, so a request and gc never interleave.
 */
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.ts';
import { planGc, tmpFolderMayBeInUse, type GcPlan, type GcUnit, type GcUnitKind } from '../../domain/gcPlan.ts';
import { isJobAwaitingDelivery, jobsAwaitingDelivery } from '../../requests/store.ts';
import { filePathOfSource } from '../pipeline/input.ts';
import type { StoragePaths } from './paths.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface GcOptions {
  dryRun: boolean;
  graceMs: number;
  maxAgeMs?: number;
  maxBytes?: number;
  now?: () => number;
}

export interface GcReport {
  dryRun: boolean;
  dataDir: string;
  bytesBefore: number;
  bytesAfter: number;
  maxBytes: number | null;
  underBudget: boolean;
  removed: { path: string; kind: GcUnitKind; bytes: number; reason: string }[];
  /** Units the plan chose that were skipped because they came into use before removal. */
  skipped: { path: string; kind: GcUnitKind; reason: string }[];
  kept: { inUse: number; inUseBytes: number; grace: number; graceBytes: number; other: number; otherBytes: number };
}

/** A unit plus what the database said about it, for the removal step. */
type Found = GcUnit & { trackId?: string; jobId?: string; storedPath?: string; uploadOf?: string[] };

const ACTIVE = `('queued', 'downloading', 'processing')`;
/** Every queued or running row, whatever its kind: what "work is queued or running for its track" reads. */
const ACTIVE_ROWS = `select track_id, inserted_at from download_jobs where status in ${ACTIVE}
  union all select track_id, inserted_at from processing_jobs where status in ${ACTIVE}
  union all select track_id, inserted_at from analysis_jobs where status in ${ACTIVE}`;
const IN_USE_TRACK = 'work is queued or running for its track';
const IN_USE_REQUEST = 'a chat request is still waiting to deliver it';
const IN_USE_TMP = 'a running job may be using it';
const IN_USE_STAGING = 'an attachment may still be arriving into it';
const STAGING = /^\.incoming-(\d+)-/;

export async function collectGarbage(orm: Orm, paths: StoragePaths, options: GcOptions): Promise<GcReport> {
  const em = orm.em.fork();
  const units = await scan(em, paths);
  const plan: GcPlan = planGc(units, {
    nowMs: (options.now ?? Date.now)(),
    graceMs: options.graceMs,
    ...(options.maxAgeMs !== undefined ? { maxAgeMs: options.maxAgeMs } : {}),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
  });
  const kept: GcReport['kept'] = { inUse: 0, inUseBytes: 0, grace: 0, graceBytes: 0, other: 0, otherBytes: 0 };
  for (const k of plan.keep) {
    const key = k.reason === 'in-use' ? 'inUse' : k.reason === 'grace' ? 'grace' : 'other';
    kept[key]++;
    kept[`${key}Bytes`] += k.unit.bytes;
  }
  const removed: GcReport['removed'] = [];
  const skipped: GcReport['skipped'] = [];
  let freed = 0;
  for (const { unit, reason } of plan.remove) {
    const busy = options.dryRun ? undefined : await removeUnit(orm, paths, unit as Found);
    if (busy) {
      skipped.push({ path: unit.path, kind: unit.kind, reason: busy });
      continue;
    }
    freed += unit.bytes;
    removed.push({ path: unit.path, kind: unit.kind, bytes: unit.bytes, reason });
  }
  const bytesAfter = plan.bytesBefore - freed;
  return {
    dryRun: options.dryRun,
    dataDir: paths.root,
    bytesBefore: plan.bytesBefore,
    bytesAfter,
    maxBytes: options.maxBytes ?? null,
    // Not plan.underBudget: units skipped because they came into use were not freed.
    underBudget: options.maxBytes === undefined || bytesAfter <= options.maxBytes,
    removed,
    skipped,
    kept,
  };
}

// --- scanning -------------------------------------------------------------------

interface Usage {
  bytes: number;
  modifiedMs: number;
  changedMs: number;
}

/** Size and newest times of a file or folder (recursively); symlinks count as themselves, never followed. */
async function usage(p: string): Promise<Usage | undefined> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return undefined;
  const u: Usage = { bytes: st.isFile() ? st.size : 0, modifiedMs: st.mtimeMs, changedMs: Math.max(st.mtimeMs, st.ctimeMs) };
  if (!st.isDirectory()) return u;
  for (const name of await readdir(p).catch(() => [] as string[])) {
    const inner = await usage(path.join(p, name));
    if (!inner) continue;
    u.bytes += inner.bytes;
    u.modifiedMs = Math.max(u.modifiedMs, inner.modifiedMs);
    u.changedMs = Math.max(u.changedMs, inner.changedMs);
  }
  return u;
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

async function scan(em: EntityManager, paths: StoragePaths): Promise<Found[]> {
  const facts = await databaseFacts(em);
  const units: Found[] = [];
  const add = async (p: string, kind: GcUnitKind, extra: Partial<Found> = {}) => {
    const u = await usage(p);
    if (u) units.push({ path: p, kind, ...u, ...extra });
  };

  for (const name of await entries(paths.tmpRoot())) {
    const p = path.join(paths.tmpRoot(), name);
    const u = await usage(p);
    if (!u) continue;
    // The folder's own mtime is its creation at the latest (entries only move it forward).
    units.push({ path: p, kind: 'tmp', ...u, ...(tmpFolderMayBeInUse(u.modifiedMs, facts.oldestActiveMs) ? { protectedBy: IN_USE_TMP } : {}) });
  }

  /** downloads/<track>/ and stems/<track>/: a non-folder entry is an orphan; a track with work queued or running is busy. */
  const eachTrackFolder = async (top: string, visit: (dir: string, busy: Partial<Found>) => Promise<void>) => {
    const root = path.join(paths.root, top);
    for (const trackDir of await entries(root)) {
      const dir = path.join(root, trackDir);
      if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) {
        await add(dir, 'orphan');
        continue;
      }
      const trackId = UUID.test(trackDir) ? trackDir.toLowerCase() : undefined;
      await visit(dir, trackId && facts.activeTracks.has(trackId) ? { protectedBy: IN_USE_TRACK } : {});
    }
  };

  await eachTrackFolder('downloads', async (dir, busy) => {
    for (const name of await entries(dir)) {
      const p = path.join(dir, name);
      const known = facts.downloadPaths.get(p);
      await add(p, known ? 'download' : 'orphan', { ...busy, ...(known ? { trackId: known.trackId, storedPath: known.storedPath } : {}) });
    }
  });

  await eachTrackFolder('stems', async (dir, busy) => {
    for (const jobDir of await entries(dir)) {
      const p = path.join(dir, jobDir);
      const jobId = UUID.test(jobDir) ? jobDir.toLowerCase() : undefined;
      const known = jobId ? facts.stemSets.get(jobId) : undefined;
      if (!known) {
        await add(p, 'orphan', busy);
        continue;
      }
      const requested = facts.requestedJobs.has(known.jobId) ? { protectedBy: IN_USE_REQUEST } : {};
      await add(p, 'stems', { ...requested, ...busy, trackId: known.trackId, jobId: known.jobId });
    }
  });

  const analysisRoot = path.join(paths.root, 'analysis');
  for (const jobDir of await entries(analysisRoot)) {
    const p = path.join(analysisRoot, jobDir);
    const jobId = UUID.test(jobDir) ? jobDir.toLowerCase() : undefined;
    const known = jobId ? facts.analyses.get(jobId) : undefined;
    if (!known) {
      await add(p, 'orphan');
      continue;
    }
    const busy = facts.activeTracks.has(known.trackId)
      ? { protectedBy: IN_USE_TRACK }
      : facts.requestedJobs.has(known.jobId)
        ? { protectedBy: IN_USE_REQUEST }
        : {};
    await add(p, 'overview', { ...busy, trackId: known.trackId, jobId: known.jobId });
  }

  const uploadsRoot = path.join(paths.root, 'uploads');
  for (const name of await entries(uploadsRoot)) {
    const p = path.join(uploadsRoot, name);
    const staging = STAGING.exec(name);
    if (staging) {
      const u = await usage(p);
      if (u) units.push({ path: p, kind: 'tmp', ...u, ...(processAlive(Number(staging[1])) ? { protectedBy: IN_USE_STAGING } : {}) });
      continue;
    }
    const tracks = facts.uploads.get(p);
    if (!tracks) {
      await add(p, 'orphan');
      continue;
    }
    await add(p, 'upload', { uploadOf: tracks, ...(tracks.some((t) => facts.activeTracks.has(t)) ? { protectedBy: IN_USE_TRACK } : {}) });
  }
  return units;
}

/** Is a process with this id running here? (A reused id only keeps a staging folder longer.) */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface DatabaseFacts {
  activeTracks: Set<string>;
  oldestActiveMs: number | undefined;
  /** processing/analysis job ids a chat request still needs the files of. */
  requestedJobs: Set<string>;
  /** Resolved path -> the row's track and the path exactly as stored. */
  downloadPaths: Map<string, { trackId: string; storedPath: string }>;
  stemSets: Map<string, { trackId: string; jobId: string }>;
  analyses: Map<string, { trackId: string; jobId: string }>;
  /** Resolved path of a local source file -> the tracks whose source_url names it. */
  uploads: Map<string, string[]>;
}

async function databaseFacts(em: EntityManager): Promise<DatabaseFacts> {
  const active = await em.execute<{ track_id: string; inserted_at: Date }[]>(ACTIVE_ROWS);
  const requests = await jobsAwaitingDelivery(em);
  const downloads = await em.execute<{ output_path: string; track_id: string }[]>(
    `select output_path, track_id from download_jobs where output_path is not null`,
  );
  const stems = await em.execute<{ processing_job_id: string; track_id: string }[]>(
    `select distinct processing_job_id, track_id from stems where file_path is not null`,
  );
  const analyses = await em.execute<{ analysis_job_id: string; track_id: string }[]>(
    `select analysis_job_id, track_id from analysis_results`,
  );
  const fileTracks = await em.execute<{ id: string; source_url: string }[]>(`select id, source_url from tracks where source_url like 'file:%'`);
  const uploads = new Map<string, string[]>();
  for (const t of fileTracks) {
    const file = filePathOfSource(t.source_url);
    if (file) uploads.set(path.resolve(file), [...(uploads.get(path.resolve(file)) ?? []), t.id]);
  }
  const times = active.map((r) => new Date(r.inserted_at).getTime());
  return {
    activeTracks: new Set(active.map((r) => r.track_id)),
    oldestActiveMs: times.length ? Math.min(...times) : undefined,
    requestedJobs: new Set(requests.flatMap((r) => [r.processing_job_id, r.analysis_job_id].filter((x): x is string => x !== null))),
    downloadPaths: new Map(downloads.map((r) => [path.resolve(r.output_path), { trackId: r.track_id, storedPath: r.output_path }])),
    stemSets: new Map(stems.map((r) => [r.processing_job_id, { trackId: r.track_id, jobId: r.processing_job_id }])),
    analyses: new Map(analyses.map((r) => [r.analysis_job_id, { trackId: r.track_id, jobId: r.analysis_job_id }])),
    uploads,
  };
}

// --- removal --------------------------------------------------------------------

/** Removes one unit; returns why it was skipped instead, if it came into use meanwhile. */
async function removeUnit(orm: Orm, paths: StoragePaths, unit: Found): Promise<string | undefined> {
  if (unit.uploadOf) return removeUpload(orm, unit.path, unit.uploadOf);
  if (unit.kind === 'tmp' || unit.kind === 'orphan' || !unit.trackId) {
    await rm(unit.path, { recursive: true, force: true });
    await pruneEmptyParents(paths, unit.path);
    return undefined;
  }
  const trackId = unit.trackId;
  const skipped = await orm.em.fork().transactional(async (em) => {
    const track = await em.execute(`select id from tracks where id = ? for update`, [trackId]);
    if (track.length === 0) return undefined; // the track was deleted: its files are orphans now
    const active = await em.execute(`select 1 from (${ACTIVE_ROWS}) a where track_id = ? limit 1`, [trackId]);
    if (active.length > 0) return IN_USE_TRACK;
    if (unit.jobId) {
      if (await isJobAwaitingDelivery(em, unit.jobId)) return IN_USE_REQUEST;
    }
    if (unit.kind === 'download') {
      await em.execute(`update download_jobs set output_path = null, updated_at = now() where track_id = ? and output_path = ?`, [trackId, unit.storedPath ?? unit.path]);
    } else if (unit.kind === 'stems') {
      await em.execute(`update stems set file_path = null, updated_at = now() where processing_job_id = ?`, [unit.jobId]);
      await em.execute(`update processing_jobs set output_path = null, updated_at = now() where id = ?`, [unit.jobId]);
    } else {
      await em.execute(`delete from analysis_results where analysis_job_id = ?`, [unit.jobId]);
      await em.execute(
        `update analysis_jobs set results = coalesce(results, '{}'::jsonb) || '{"overview_png": null}'::jsonb, updated_at = now() where id = ?`,
        [unit.jobId],
      );
    }
    // Files go before the commit: if the commit fails, the rows still point at missing files, which reuse already distrusts.
    await rm(unit.path, { recursive: true, force: true });
    return undefined;
  });
  if (!skipped) await pruneEmptyParents(paths, unit.path);
  return skipped;
}

/** An attachment: under its tracks' row locks, unless work started on one of them meanwhile. */
async function removeUpload(orm: Orm, file: string, trackIds: string[]): Promise<string | undefined> {
  return orm.em.fork().transactional(async (em) => {
    await em.execute(`select id from tracks where id in (${trackIds.map(() => '?').join(', ')}) order by id for update`, trackIds);
    const active = await em.execute(`select 1 from (${ACTIVE_ROWS}) a where track_id in (${trackIds.map(() => '?').join(', ')}) limit 1`, trackIds);
    if (active.length > 0) return IN_USE_TRACK;
    await rm(file, { force: true });
    return undefined;
  });
}

/** Removes now-empty folders between a removed unit and its top folder (downloads/<track>/, stems/<track>/). */
async function pruneEmptyParents(paths: StoragePaths, removed: string): Promise<void> {
  const tops = ['tmp', 'downloads', 'stems', 'analysis', 'uploads'].map((t) => path.join(paths.root, t));
  for (let dir = path.dirname(removed); !tops.includes(dir) && dir.startsWith(paths.root + path.sep); dir = path.dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or already gone): stop here
    }
  }
}
