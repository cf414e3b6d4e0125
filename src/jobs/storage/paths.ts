import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../download/errors.ts';

/**
 * Where files live under SFA_DATA_DIR. Paths are built from ids only — never
 * from titles or user text — and every id must be a UUID, so no input can
 * escape the data directory.
 *
 *   downloads/<trackId>/source.<ext>
 *   stems/<trackId>/<processingJobId>/<stem>.<ext>
 *   analysis/<analysisJobId>/overview.png
 *   tmp/<random>/                       (same filesystem, so renames are atomic)
 *   tmp/<stage>-<jobId>-<random>/       (one attempt at a job row: see makeJobTempDir)
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STEM = /^[a-z][a-z0-9_]{0,31}$/;
const EXT = /^[a-z0-9]{1,5}$/;
const FILE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function assertUuid(id: string, what = 'id'): string {
  if (typeof id !== 'string' || !UUID.test(id)) {
    throw new StorageError('storage', `Internal error: invalid ${what}.`, { detail: `not a uuid: ${JSON.stringify(String(id).slice(0, 60))}` });
  }
  return id.toLowerCase(); // one id, one path, whatever case the caller used
}

function assertPart(value: string, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) {
    throw new StorageError('storage', `Internal error: invalid ${what}.`, { detail: `bad ${what}: ${JSON.stringify(String(value).slice(0, 60))}` });
  }
  return value;
}

export function normalizeExt(ext: string): string {
  return assertPart(ext.replace(/^\./, '').toLowerCase(), EXT, 'file extension');
}

export class StoragePaths {
  readonly root: string;
  constructor(dataDir: string) {
    this.root = path.resolve(dataDir);
  }

  downloadDir(trackId: string): string {
    return this.inside('downloads', assertUuid(trackId, 'track id'));
  }
  downloadSource(trackId: string, ext: string): string {
    return path.join(this.downloadDir(trackId), `source.${normalizeExt(ext)}`);
  }
  stemsDir(trackId: string, processingJobId: string): string {
    return this.inside('stems', assertUuid(trackId, 'track id'), assertUuid(processingJobId, 'processing job id'));
  }
  stemFile(trackId: string, processingJobId: string, stem: string, ext: string): string {
    return path.join(this.stemsDir(trackId, processingJobId), `${assertPart(stem, STEM, 'stem name')}.${normalizeExt(ext)}`);
  }
  analysisDir(analysisJobId: string): string {
    return this.inside('analysis', assertUuid(analysisJobId, 'analysis job id'));
  }
  /** e.g. analysisFile(id, 'overview', 'png'). */
  analysisFile(analysisJobId: string, name: string, ext: string): string {
    return path.join(this.analysisDir(analysisJobId), `${assertPart(name, FILE, 'file name')}.${normalizeExt(ext)}`);
  }
  analysisOverview(analysisJobId: string): string {
    return this.analysisFile(analysisJobId, 'overview', 'png');
  }
  tmpRoot(): string {
    return this.inside('tmp');
  }
  /** A fresh private directory for one job's partial files (remove with removePartial). */
  async makeTempDir(prefix = 'job'): Promise<string> {
    await mkdir(this.tmpRoot(), { recursive: true });
    return mkdtemp(path.join(this.tmpRoot(), `${assertPart(prefix, FILE, 'temp prefix')}-`));
  }
  /**
   * A fresh temp directory for one attempt at a job row, named after the row, so that what
   * a lost attempt (kill -9) left behind is found by jobTempDirs.
   */
  makeJobTempDir(stage: string, jobId: string): Promise<string> {
    return this.makeTempDir(`${stage}-${assertUuid(jobId, 'job id')}`);
  }
  /** The temp directories of every attempt at a job row, whatever its stage. */
  async jobTempDirs(jobId: string): Promise<string[]> {
    const tag = `-${assertUuid(jobId, 'job id')}-`;
    const entries = await readdir(this.tmpRoot()).catch(() => [] as string[]);
    return entries.filter((entry) => entry.includes(tag)).map((entry) => path.join(this.tmpRoot(), entry));
  }

  /** Defence in depth: even after validation, refuse anything outside the root. */
  private inside(...parts: string[]): string {
    const p = path.resolve(this.root, ...parts);
    if (p !== this.root && !p.startsWith(this.root + path.sep)) {
      throw new StorageError('storage', 'Internal error: storage path escaped the data directory.', { detail: p });
    }
    return p;
  }
}
