/**
 * While a separation's worker fetches the model it needs (first use, see
 * src/jobs/models/install.ts), the row says how far: `model_fetch` is
 * {"model", "totalBytes", "doneBytes"} during the fetch and null otherwise,
 * so the Discord message and the CLI can show "fetching model htdemucs (84 MB) 40 %".
 */
import { Migration } from '@mikro-orm/migrations';

export class ModelFetch extends Migration {
  override name = '0004_model_fetch';

  override up(): void {
    this.addSql(`alter table processing_jobs add column model_fetch jsonb null;`);
  }

  override down(): void {
    this.addSql(`alter table processing_jobs drop column model_fetch;`);
  }
}
