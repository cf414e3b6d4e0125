/** The record lookup with the configured Spotify hosts and credentials (the CLI's counterpart of the workers' track lookup). */
import type { Config } from '../config.ts';
import { fetchRecordMetadata, type RecordKind, type RecordMetadata } from '../jobs/download/spotifyRecords.ts';

export function spotifyRecordFor(config: Config): (kind: RecordKind, spotifyId: string, signal?: AbortSignal) => Promise<RecordMetadata> {
  const creds = config.spotify.credentials;
  return (kind, spotifyId, signal) =>
    fetchRecordMetadata(kind, spotifyId, {
      apiBase: config.spotify.apiBase,
      accountsBase: config.spotify.accountsBase,
      ...(creds ? { clientId: creds.clientId, clientSecret: creds.clientSecret.reveal() } : {}),
      timeoutMs: 15_000,
      signal,
    });
}
