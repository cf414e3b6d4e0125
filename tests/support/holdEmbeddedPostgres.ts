/**
 * Child process for tests/db/embeddedPostgres.test.ts: opens the embedded
 * PostgreSQL under argv[2], prints "ready <port>", then waits to be signalled.
 *
 * With `--like-cli` it handles SIGINT itself as `sfa separate` does (openDatabase
 * with handleSignals: false): it then queries the database (like cancelling the
 * request's rows), prints "queried after SIGINT", closes the database and exits 130.
 */
import { Client } from 'pg';
import { openDatabase } from '../../src/db/postgres.ts';

const [dataDir, mode] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: holdEmbeddedPostgres.ts DATA_DIR [--like-cli]');
const likeCli = mode === '--like-cli';
const database = await openDatabase({ dataDir, handleSignals: !likeCli });
if (likeCli) {
  process.once('SIGINT', () => {
    void (async () => {
      // A server that got the terminal's SIGINT too would be shutting down by now.
      await new Promise((done) => setTimeout(done, 300));
      const client = new Client({ connectionString: database.url });
      try {
        await client.connect();
        const { rows } = await client.query<{ one: number }>('select 1 as one');
        process.stdout.write(`queried after SIGINT: ${rows[0]?.one}\n`);
      } catch (error) {
        process.stdout.write(`query after SIGINT failed: ${(error as Error).message}\n`);
      } finally {
        await client.end().catch(() => undefined);
        await database.close();
      }
      process.exit(130);
    })();
  });
}
process.stdout.write(`ready ${database.embedded?.port}\n`);
setInterval(() => {}, 60_000);
