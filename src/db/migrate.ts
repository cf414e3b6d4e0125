/**
 * Applies pending migrations. Returns the names applied (empty: up to date).
 */
import { createOrm } from './orm.ts';

export async function migrate(url: string): Promise<string[]> {
  const orm = await createOrm(url);
  try {
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close();
  }
}
