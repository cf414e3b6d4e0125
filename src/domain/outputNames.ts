/**
 * Names of what the CLI writes for the user (pure). Titles come from files,
 * links and Spotify, so they are reduced to a safe slug before they become
 * part of a path: no separators, no dot-names, no control or shell-special
 * characters, bounded length.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Lower-case ASCII letters, digits and single dashes; accents folded
 * ("Café" -> "cafe"); empty when nothing usable is left.
 */
export function safeSlug(text: string, maxLength = 60): string {
  const folded = String(text).normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const slug = folded
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, Math.max(1, maxLength)).replace(/-+$/, '');
}

/**
 * The folder `sfa separate` writes stems into when --out is not given:
 * `<title slug>-<first 8 of the track id>-<model>`, e.g. `my-song-3f2a9c1e-htdemucs`.
 * The id part keeps two tracks with the same title apart; the model part keeps
 * runs of different models apart. An unusable title falls back to `track`.
 */
export function defaultStemsFolder(title: string | null | undefined, trackId: string, model: string): string {
  if (!UUID.test(trackId)) throw new RangeError(`not a track id: ${JSON.stringify(String(trackId).slice(0, 40))}`);
  const modelPart = safeSlug(model, 40) || 'model';
  return `${safeSlug(title ?? '') || 'track'}-${trackId.slice(0, 8).toLowerCase()}-${modelPart}`;
}

/** `<stem>.<ext>` inside the output folder; both parts are checked, never taken as given. */
export function stemFileName(stem: string, ext: string): string {
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(stem)) throw new RangeError(`bad stem name: ${JSON.stringify(String(stem).slice(0, 40))}`);
  const e = ext.replace(/^\./, '').toLowerCase();
  if (!/^[a-z0-9]{1,5}$/.test(e)) throw new RangeError(`bad file extension: ${JSON.stringify(String(ext).slice(0, 20))}`);
  return `${stem}.${e}`;
}

/**
 * One track's folder inside an album's or playlist's output folder: `NN - <title slug>`,
 * the position padded to the record's width (`03 - my-song`, `012 - ...` past 99) so the
 * folders sort in the record's order.
 */
export function recordTrackFolder(position: number, title: string | null | undefined, recordLength: number): string {
  if (!Number.isInteger(position) || position < 1) throw new RangeError(`not a track position: ${String(position)}`);
  const width = Math.max(2, String(Math.max(recordLength, position)).length);
  return `${String(position).padStart(width, '0')} - ${safeSlug(title ?? '') || 'track'}`;
}

/** The folder an album or playlist goes into when --out is not given: `<name slug>-<spotify id>-<model>`. */
export function defaultRecordFolder(name: string | null | undefined, kind: 'album' | 'playlist', spotifyId: string, model: string): string {
  if (!/^[0-9A-Za-z]{22}$/.test(spotifyId)) throw new RangeError(`not a Spotify id: ${JSON.stringify(String(spotifyId).slice(0, 40))}`);
  return `${safeSlug(name ?? '') || kind}-${spotifyId}-${safeSlug(model, 40) || 'model'}`;
}
