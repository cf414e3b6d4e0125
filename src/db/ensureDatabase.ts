/**
 * Creates the database named in `url` when it does not exist yet (connecting
 * to the server's `postgres` database to do so).
 */
import { createOrm } from './orm.ts';

export async function ensureDatabase(url: string): Promise<void> {
  const orm = await createOrm(url);
  try {
    await orm.schema.ensureDatabase();
  } catch (error) {
    // 42P04 duplicate_database: another process created it first; fine.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await orm.close();
  }
}
