/**
 * Every migration, in order. Registered explicitly (no glob at run time) so
 * that bundling, renaming or a stray file cannot change what runs. The name is
 * what `mikro_orm_migrations` records: never rename a shipped one.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { InitialSchema } from './0001_initial_schema.ts';
import { BotDelivery } from './0002_bot_delivery.ts';
import { HostileInput } from './0003_hostile_input.ts';
import { ModelFetch } from './0004_model_fetch.ts';
import { RequestLifecycle } from './0005_request_lifecycle.ts';
import { StageNote } from './0006_stage_note.ts';
import { Batches } from './0007_batches.ts';

export const MIGRATIONS: MigrationObject[] = [
  { name: '0001_initial_schema', class: InitialSchema },
  { name: '0002_bot_delivery', class: BotDelivery },
  { name: '0003_hostile_input', class: HostileInput },
  { name: '0004_model_fetch', class: ModelFetch },
  { name: '0005_request_lifecycle', class: RequestLifecycle },
  { name: '0006_stage_note', class: StageNote },
  { name: '0007_batches', class: Batches },
];
