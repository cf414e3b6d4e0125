/**
 * Child process for tests/db/embeddedPostgres.test.ts: opens the embedded
 * PostgreSQL under argv[2], prints "ready <port>", then waits to be signalled.
 */
import { openDatabase } from '../../src/db/postgres.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: holdEmbeddedPostgres.ts DATA_DIR');
const database = await openDatabase({ dataDir });
process.stdout.write(`ready ${database.embedded?.port}\n`);
setInterval(() => {}, 60_000);
