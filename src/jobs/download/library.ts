import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseFile } from 'music-metadata';

/**
 * Matching Spotify tracks to the user's own files (SFA_LIBRARY_DIR).
 * The index cache lives in memory, per process, keyed by path + mtime + size:
 * a lookup re-walks the folder (cheap stats) but only re-reads tags of files that
 * changed. A restart rebuilds it on first use.
 */

export interface LibraryEntry {
  path: string;
  mtimeMs: number;
  size: number;
  title: string | null;
  artists: string[];
  isrcs: string[];
  durationSeconds: number | null;
}

export interface LibraryQuery {
  title: string;
  artists: string[];
  isrc: string | null;
  durationSeconds: number | null;
}

export interface LibraryMatch {
  entry: LibraryEntry;
  matchedBy: 'isrc' | 'tags';
}

export type TagReader = (file: string) => Promise<Omit<LibraryEntry, 'path' | 'mtimeMs' | 'size'>>;

export const AUDIO_EXTENSIONS = new Set(['.mp3', '.flac', '.ogg', '.oga', '.opus', '.m4a', '.mp4', '.aac', '.wav', '.aif', '.aiff', '.wma', '.webm', '.mka', '.wv', '.ape']);

export const readTagsWithMusicMetadata: TagReader = async (file) => {
  const { common, format } = await parseFile(file, { duration: true, skipCovers: true });
  const artists = [...(common.artists ?? []), ...(common.artist ? [common.artist] : [])];
  return {
    title: common.title ?? null,
    artists: [...new Set(artists)],
    isrcs: (common.isrc ?? []).map(normalizeIsrc).filter(Boolean),
    durationSeconds: format.duration ?? null,
  };
};

export class LibraryIndex {
  readonly root: string;
  private readonly readTags: TagReader;
  private cache = new Map<string, LibraryEntry>();
  private inFlight: Promise<LibraryEntry[]> | undefined;
  /** Counters for tests and logs. */
  readonly stats = { tagReads: 0, unreadable: 0 };

  constructor(root: string, readTags: TagReader = readTagsWithMusicMetadata) {
    this.root = root;
    this.readTags = readTags;
  }

  /** Current entries; concurrent callers share one walk. */
  scan(): Promise<LibraryEntry[]> {
    this.inFlight ??= this.walkAndIndex().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  async findMatch(query: LibraryQuery, toleranceSeconds = 3): Promise<LibraryMatch | null> {
    return matchLibrary(await this.scan(), query, toleranceSeconds);
  }

  private async walkAndIndex(): Promise<LibraryEntry[]> {
    const files = await listAudioFiles(this.root);
    const next = new Map<string, LibraryEntry>();
    // a few at a time: tag reading is I/O bound, but the machine has 2 cores
    const queue = [...files];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const prev = this.cache.get(f.path);
        if (prev && prev.mtimeMs === f.mtimeMs && prev.size === f.size) {
          next.set(f.path, prev);
          continue;
        }
        try {
          this.stats.tagReads++;
          next.set(f.path, { ...f, ...(await this.readTags(f.path)) });
        } catch {
          // unreadable: remember it blank (so it is not re-read until it changes); it never matches
          this.stats.unreadable++;
          next.set(f.path, { ...f, title: null, artists: [], isrcs: [], durationSeconds: null });
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    this.cache = next; // drops files that disappeared
    return [...next.values()];
  }
}

const indexes = new Map<string, LibraryIndex>();
/** One shared index per library folder for this process. */
export function libraryIndexFor(root: string): LibraryIndex {
  const key = path.resolve(root);
  let idx = indexes.get(key);
  if (!idx) indexes.set(key, (idx = new LibraryIndex(key)));
  return idx;
}

async function listAudioFiles(root: string): Promise<{ path: string; mtimeMs: number; size: number }[]> {
  const out: { path: string; mtimeMs: number; size: number }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const dirents = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const d of dirents) {
      if (d.name.startsWith('.')) continue;
      const full = path.join(dir, d.name);
      if (d.isDirectory()) {
        await walk(full);
      } else if ((d.isFile() || d.isSymbolicLink()) && AUDIO_EXTENSIONS.has(path.extname(d.name).toLowerCase())) {
        // symlinked files are followed; symlinked directories are not (no loops)
        const st = await stat(full).catch(() => null);
        if (st?.isFile()) out.push({ path: full, mtimeMs: st.mtimeMs, size: st.size });
      }
    }
  };
  await walk(root);
  return out;
}

// ---------------------------------------------------------------- matching (pure)

export function normalizeIsrc(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, '').toUpperCase();
}

function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

function tidy(s: string): string {
  return s.replace(/&/g, ' and ').replace(/[^\p{L}\p{N}]+/gu, ' ').trim().replace(/\s+/g, ' ');
}

/** Title for comparison: case/accents/punctuation-insensitive, no "feat." or remaster tags. */
export function normalizeTitle(title: string): string {
  let t = fold(title);
  t = t.replace(/[([][^)\]]*\b(feat|ft|featuring|with)\b\.?[^)\]]*[)\]]/g, ' ');
  t = t.replace(/[([][^)\]]*\bremaster(ed)?\b[^)\]]*[)\]]/g, ' ');
  t = t.replace(/\s[-–—]\s[^-–—]*\bremaster(ed)?\b.*$/, ' ');
  t = t.replace(/\s(feat|ft|featuring)\b\.?\s.*$/, ' ');
  return tidy(t);
}

/** Individual artist names from a tag like "A feat. B & C" or "A; B". */
export function splitArtists(tag: string): string[] {
  return fold(tag)
    .split(/\s*(?:,|;|\/|&|\bfeat\b\.?|\bft\b\.?|\bfeaturing\b|\bvs\b\.?|\bx\b|\band\b)\s*/)
    .map(tidy)
    .filter(Boolean);
}

function artistsMatch(spotify: string[], tags: string[]): boolean {
  const wanted = new Set(spotify.map((a) => tidy(fold(a))).filter(Boolean));
  if (wanted.size === 0) return false;
  for (const tag of tags) {
    if (wanted.has(tidy(fold(tag)))) return true; // whole tag, e.g. "Simon & Garfunkel"
    if (splitArtists(tag).some((a) => wanted.has(a))) return true;
  }
  return false;
}

/** ISRC first; else normalised title + any shared artist + duration within tolerance. */
export function matchLibrary(entries: readonly LibraryEntry[], q: LibraryQuery, toleranceSeconds = 3): LibraryMatch | null {
  const byPath = [...entries].sort((a, b) => a.path.localeCompare(b.path));
  if (q.isrc) {
    const isrc = normalizeIsrc(q.isrc);
    const hits = byPath.filter((e) => e.isrcs.includes(isrc));
    if (hits.length) return { entry: closest(hits, q.durationSeconds), matchedBy: 'isrc' };
  }
  if (q.durationSeconds === null || q.artists.length === 0) return null;
  const title = normalizeTitle(q.title);
  if (!title) return null;
  const hits = byPath.filter(
    (e) =>
      e.title !== null &&
      e.durationSeconds !== null &&
      Math.abs(e.durationSeconds - q.durationSeconds!) <= toleranceSeconds &&
      normalizeTitle(e.title) === title &&
      artistsMatch(q.artists, e.artists),
  );
  return hits.length ? { entry: closest(hits, q.durationSeconds), matchedBy: 'tags' } : null;
}

function closest(entries: LibraryEntry[], target: number | null): LibraryEntry {
  if (target === null) return entries[0]!;
  const diff = (e: LibraryEntry) => (e.durationSeconds === null ? Infinity : Math.abs(e.durationSeconds - target));
  return entries.reduce((best, e) => (diff(e) < diff(best) ? e : best));
}
