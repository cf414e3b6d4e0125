/**
 * A stem set as the player shows it, read from PostgreSQL by the processing
 * job's id: the track card, the latest analysis of the track, and the stems
 * whose files exist (paths from the rows, never from a URL).
 */
import type { Orm } from '../../../db/orm.ts';
import { analysisFacts } from '../../../domain/analysisWording.ts';
import { completedStemSet } from '../../../requests/store.ts';

export interface PlayerStem {
  id: string;
  name: string;
  filePath: string;
}

export interface PlayerSet {
  id: string;
  trackId: string;
  model: string;
  track: { title: string; artist: string | null; album: string | null; artUrl: string | null; durationSeconds: number | null };
  analysis: { bpm: number | null; key: string | null; camelot: string | null } | null;
  stems: PlayerStem[];
}

export type StemSetLookup = (setId: string) => Promise<PlayerSet | undefined>;

/** The order lanes are shown in; unknown types after these, by name. */
const ORDER = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other', 'accompaniment'];
const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);

export function stemSetLookup(orm: Orm): StemSetLookup {
  return async (setId) => {
    const conn = orm.em.fork().getConnection();
    const jobs = await conn.execute<{ id: string; track_id: string; model: string; title: string; artist: string | null; album: string | null; album_art_url: string | null; duration: number | null }[]>(
      `select p.id, p.track_id, p.model, t.title, t.artist, t.album, t.album_art_url, t.duration
         from processing_jobs p join tracks t on t.id = p.track_id where p.id = ? and p.status = 'completed'`,
      [setId],
    );
    const job = jobs[0];
    if (!job) return undefined;
    const stems = await conn.execute<{ id: string; stem_type: string; file_path: string | null }[]>(`select id, stem_type, file_path from stems where processing_job_id = ?`, [setId]);
    const analyses = await conn.execute<{ tempo: number | null; key: string | null; features: Record<string, unknown> | null }[]>(
      `select tempo, key, features from analysis_results where track_id = ? order by inserted_at desc limit 1`,
      [job.track_id],
    );
    const a = analyses[0] ? analysisFacts(analyses[0]) : null;
    return {
      id: job.id,
      trackId: job.track_id,
      model: job.model,
      track: { title: job.title, artist: job.artist, album: job.album, artUrl: job.album_art_url, durationSeconds: job.duration },
      analysis: a ? { bpm: a.tempo, key: a.key, camelot: a.camelot } : null,
      stems: stems
        .filter((s) => s.file_path)
        .map((s) => ({ id: s.id, name: s.stem_type, filePath: s.file_path! }))
        .sort((x, y) => rank(x.name) - rank(y.name) || x.name.localeCompare(y.name)),
    };
  };
}

/** The newest completed stem set of a track, or the one a request got; for `sfa player <track|request id>`. */
export function findStemSetId(orm: Orm, id: string): Promise<string | undefined> {
  return completedStemSet(orm, id);
}
