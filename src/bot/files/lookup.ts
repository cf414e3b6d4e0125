/**
 * What the file server needs to know about a stem, read from PostgreSQL by
 * its id: the stored file's path (from the row, never from the URL) and the
 * names that make the download's file name.
 */
import type { Orm } from '../../db/orm.ts';

export interface ServedStem {
  id: string;
  filePath: string;
  stemType: string;
  trackTitle: string;
}

export type StemLookup = (stemId: string) => Promise<ServedStem | undefined>;

export function stemLookup(orm: Orm): StemLookup {
  return async (stemId) => {
    const rows = await orm.em.fork().execute<{ id: string; file_path: string | null; stem_type: string; title: string }[]>(
      'select s.id, s.file_path, s.stem_type, t.title from stems s join tracks t on t.id = s.track_id where s.id = ?',
      [stemId],
    );
    const row = rows[0];
    if (!row?.file_path) return undefined;
    return { id: row.id, filePath: row.file_path, stemType: row.stem_type, trackTitle: row.title };
  };
}
