/**
 * A running separation's slow step that is not its own progress, e.g. the
 * engine's "preparing model for this CPU" (converting a model for OpenVINO on
 * first use: tens of seconds at one percentage). `stage_note` holds it while
 * it lasts and is null otherwise, so the Discord message (rendered from the
 * rows) shows it as the CLI does.
 */
import { Migration } from '@mikro-orm/migrations';

export class StageNote extends Migration {
  override name = '0006_stage_note';

  override up(): void {
    this.addSql(`alter table processing_jobs add column stage_note text null;`);
  }

  override down(): void {
    this.addSql(`alter table processing_jobs drop column stage_note;`);
  }
}
