/** The record lookup with the configured Spotify hosts and credentials (the CLI's counterpart of the workers' track lookup). */
import type { Config } from '../config.ts';
import { spotifyOptionsFrom } from '../jobs/download/spotifyMetadata.ts';
import { fetchRecordMetadata, type RecordKind, type RecordMetadata } from '../jobs/download/spotifyRecords.ts';

export function spotifyRecordFor(config: Config): (kind: RecordKind, spotifyId: string, signal?: AbortSignal) => Promise<RecordMetadata> {
  return (kind, spotifyId, signal) => fetchRecordMetadata(kind, spotifyId, spotifyOptionsFrom(config, signal));
}
