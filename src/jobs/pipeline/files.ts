import { stat } from 'node:fs/promises';

/** Is `file` a regular file (of `size` bytes, when known)? A row whose file vanished or changed is not trusted. */
export async function fileIntact(file: string | null | undefined, size?: number | string | null): Promise<boolean> {
  if (!file) return false;
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) return false;
  return size === null || size === undefined || st.size === Number(size);
}
