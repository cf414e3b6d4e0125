/**
 * The stem player's cover, served by us so the page loads nothing from
 * elsewhere: fetched once from the track's stored album-art URL (allowlisted
 * in src/domain/albumArt.ts), checked, kept as `cover` next to the stems
 * (beside peaks.json, written atomically), and read from there afterwards.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ART_MAX_BYTES, ART_TIMEOUT_MS, imageType, type ArtType } from '../../../domain/albumArt.ts';
import { writeFileAtomic } from '../../../jobs/storage/atomicWrite.ts';
import { once, setDir } from './audio.ts';
import type { PlayerSet } from './stemSet.ts';

export interface Art {
  bytes: Uint8Array;
  type: ArtType;
}

/** The body of an allowed URL: no redirects (they could leave the allowlist), 200 only, at most ART_MAX_BYTES. */
async function fetchImage(source: URL, timeoutMs: number): Promise<Uint8Array> {
  const response = await fetch(source, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'image/jpeg, image/png, image/webp' } });
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  if (Number(response.headers.get('content-length') ?? 0) > ART_MAX_BYTES) {
    await response.body.cancel();
    throw new Error('larger than 5 MB');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > ART_MAX_BYTES) {
      await reader.cancel();
      throw new Error('larger than 5 MB');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * The set's cover from the cache, else fetched from `source` and cached;
 * undefined when there is none or it fails (the reason goes to `warn`).
 */
export function loadArt(set: PlayerSet, source: URL, warn: (message: string) => void, timeoutMs = ART_TIMEOUT_MS): Promise<Art | undefined> {
  const file = path.join(setDir(set), 'cover');
  return once(file, async () => {
    const cached = await stat(file).then((st) => (st.isFile() && st.size <= ART_MAX_BYTES ? readFile(file) : undefined), () => undefined);
    const cachedType = cached && imageType(cached);
    if (cached && cachedType) return { bytes: cached, type: cachedType };
    try {
      const bytes = await fetchImage(source, timeoutMs);
      const type = imageType(bytes);
      if (!type) throw new Error('not a JPEG, PNG or WebP image');
      await writeFileAtomic(file, bytes);
      return { bytes, type };
    } catch (error) {
      warn(`player: cover of stem set ${set.id} from ${source.host} not served: ${(error as Error).message}`);
      return undefined;
    }
  });
}
