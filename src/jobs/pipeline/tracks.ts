/**
 * Find-or-create of the Track a request is about: one per spotify_id (UNIQUE),
 * one per source_url for links and files (serialised with a transaction-scoped
 * advisory lock, since source_url is not unique).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { fileSourceUrl, type PipelineInput } from './input.ts';

export interface TrackRef {
  id: string;
  duration: number | null;
}

type Row = { id: string; duration: number | null };

/**
 * Must run inside a transaction (the advisory lock is transaction-scoped). A link's track is found by
 * (source_url, allowPrivateHosts): work that may reach private addresses is never shared with work that may not.
 */
export async function findOrCreateTrack(em: EntityManager, input: PipelineInput, access: { allowPrivateHosts?: boolean | undefined } = {}): Promise<TrackRef> {
  if (input.kind === 'spotify') {
    await em.execute(
      `insert into tracks (spotify_id, spotify_url, title) values (?, ?, ?) on conflict (spotify_id) do nothing`,
      [input.spotifyId, input.url, `Spotify track ${input.spotifyId}`],
    );
    const rows = await em.execute<Row[]>(`select id, duration from tracks where spotify_id = ?`, [input.spotifyId]);
    return rows[0]!;
  }
  const { sourceUrl, title } = await describeSource(input);
  // Only links reach the network; a file's track is the same whoever asks.
  const privateAllowed = input.kind === 'url' && access.allowPrivateHosts === true;
  await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`sfa-track:${sourceUrl}`]);
  const found = await em.execute<Row[]>(
    `select id, duration from tracks where source_url = ? and spotify_id is null and private_network_allowed = ? order by inserted_at, id limit 1`,
    [sourceUrl, privateAllowed],
  );
  if (found[0]) return found[0];
  const created = await em.execute<Row[]>(
    `insert into tracks (source_url, title, private_network_allowed) values (?, ?, ?) returning id, duration`,
    [sourceUrl, title, privateAllowed],
  );
  return created[0]!;
}

async function describeSource(input: Exclude<PipelineInput, { kind: 'spotify' }>): Promise<{ sourceUrl: string; title: string }> {
  if (input.kind === 'url') {
    const url = new URL(input.url);
    const last = decodedOrAsIs(url.pathname.split('/').filter(Boolean).at(-1) ?? '') || url.host;
    return { sourceUrl: input.url, title: stripExt(last).slice(0, 200) };
  }
  // A file that changed (size or mtime) is a different track: its old results do not describe it.
  const st = await stat(input.path).catch(() => null);
  const identity = st?.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined;
  return { sourceUrl: fileSourceUrl(input.path, identity), title: stripExt(path.basename(input.path)).slice(0, 200) || 'Untitled' };
}

/** The percent-decoded name, or the name as it is when it is not valid percent-encoding (`%E0%A4%A`). */
function decodedOrAsIs(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function stripExt(name: string): string {
  const ext = path.extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}
