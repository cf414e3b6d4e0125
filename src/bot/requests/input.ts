/** The pipeline input that names a request's track again (for the separation requested after the model choice). */
import type { Orm } from '../../db/orm.ts';
import { canonicalSpotifyUrl } from '../../domain/spotifyInput.ts';

export async function pipelineInputOfTrack(orm: Orm, trackId: string): Promise<string> {
  const rows = await orm.em
    .getConnection()
    .execute<{ spotify_url: string | null; spotify_id: string | null; source_url: string | null }[]>(
      `select spotify_url, spotify_id, source_url from tracks where id = ?`,
      [trackId],
    );
  const t = rows[0];
  if (!t) throw new Error(`track ${trackId} is gone`);
  // spotify_url is written with spotify_id as its canonical track link (findOrCreateTrack); the column may be null.
  if (t.spotify_id) return t.spotify_url ?? canonicalSpotifyUrl('track', t.spotify_id);
  if (t.source_url) return t.source_url.replace(/#.*$/, '');
  throw new Error(`track ${trackId} has no source to fetch again`);
}
