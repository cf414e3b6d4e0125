/**
 * The MikroORM instance: entities, explicit migrations list, no file discovery.
 */
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities/index.ts';
import { MIGRATIONS } from './migrations/index.ts';

export function ormConfig(url: string) {
  return defineConfig({
    clientUrl: url,
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      // Migrations are hand-written SQL; no snapshot file is kept or written.
      snapshot: false,
      silent: true,
    },
    // Plain objects in, plain objects out (EntitySchema, no decorators): no reflection or ts-morph,
    // which Node's type stripping could not provide (it emits no decorator metadata).
    discovery: { warnWhenNoEntities: true },
    debug: false,
  });
}

export type Orm = MikroORM;

export async function createOrm(url: string): Promise<Orm> {
  return MikroORM.init(ormConfig(url));
}
