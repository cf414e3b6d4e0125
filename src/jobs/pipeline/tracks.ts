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

/** Must run inside a transaction (the advisory lock is transaction-scoped). */
export async function findOrCreateTrack(em: EntityManager, input: PipelineInput): Promise<TrackRef> {
  if (input.kind === 'spotify') {
    await em.execute(
      `insert into tracks (spotify_id, spotify_url, title) values (?, ?, ?) on conflict (spotify_id) do nothing`,
      [input.spotifyId, input.url, `Spotify track ${input.spotifyId}`],
    );
    const rows = await em.execute<Row[]>(`select id, duration from tracks where spotify_id = ?`, [input.spotifyId]);
    return rows[0]!;
  }
  const { sourceUrl, title } = await describeSource(input);
  await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`sfa-track:${sourceUrl}`]);
  const found = await em.execute<Row[]>(
    `select id, duration from tracks where source_url = ? and spotify_id is null order by inserted_at, id limit 1`,
    [sourceUrl],
  );
  if (found[0]) return found[0];
  const created = await em.execute<Row[]>(`insert into tracks (source_url, title) values (?, ?) returning id, duration`, [sourceUrl, title]);
  return created[0]!;
}

async function describeSource(input: Exclude<PipelineInput, { kind: 'spotify' }>): Promise<{ sourceUrl: string; title: string }> {
  if (input.kind === 'url') {
    const url = new URL(input.url);
    const last = decodeURIComponent(url.pathname.split('/').filter(Boolean).at(-1) ?? '') || url.host;
    return { sourceUrl: input.url, title: stripExt(last).slice(0, 200) };
  }
  // A file that changed (size or mtime) is a different track: its old results do not describe it.
  const st = await stat(input.path).catch(() => null);
  const identity = st?.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined;
  return { sourceUrl: fileSourceUrl(input.path, identity), title: stripExt(path.basename(input.path)).slice(0, 200) || 'Untitled' };
}

function stripExt(name: string): string {
  const ext = path.extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}
