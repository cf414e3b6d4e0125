/** `--limit` and `--tracks`, and whether the input is an album or playlist link: argument checks only (no I/O). */
import { parseSpotifyRecord, type SpotifyRecordRef } from '../domain/spotifyInput.ts';
import { parseTrackSelection } from '../domain/trackSelection.ts';
import type { RecordChoice } from './recordRun.ts';

export type RecordArgs = { ok: true; record: SpotifyRecordRef | undefined; choice: RecordChoice } | { ok: false; message: string };

export function parseRecordChoice(input: string, values: { limit?: string | undefined; tracks?: string | undefined }): RecordArgs {
  const record = parseSpotifyRecord(input);
  if (!record && (values.limit !== undefined || values.tracks !== undefined)) {
    return { ok: false, message: `--${values.limit !== undefined ? 'limit' : 'tracks'} is for Spotify album and playlist links` };
  }
  const choice: RecordChoice = {};
  if (values.limit !== undefined) {
    if (!/^\d{1,5}$/.test(values.limit.trim()) || Number(values.limit) < 1) return { ok: false, message: `--limit needs a whole number of tracks, at least 1 (got "${values.limit.slice(0, 20)}")` };
    choice.limit = Number(values.limit);
  }
  if (values.tracks !== undefined) {
    const selection = parseTrackSelection(values.tracks);
    if (!selection.ok) return { ok: false, message: selection.reason };
    choice.tracks = selection.numbers;
  }
  return { ok: true, record, choice };
}
