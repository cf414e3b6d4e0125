/**
 * Closing holes a hostile chat member could use (safe to put in front
 * of strangers).
 *
 * - tracks.private_network_allowed: who may fetch private-network addresses
 *   travels with the work, not with the process. A track from a link records
 *   whether its requester (a CLI user, on their own machine) allowed private
 *   addresses; the download worker reads it from the row; a bot request never
 *   sets it. Link tracks are found by (source_url, private_network_allowed), so
 *   a bot request never shares a track (nor its download, stems or analysis)
 *   with a request that could reach a private address.
 * - request_slots: a user's place under SFA_USER_CONCURRENCY, taken (under a
 *   per-user advisory lock) BEFORE the slow part of a command (fetching an
 *   attachment) and given back when the request row exists or the command
 *   fails. expires_at bounds a slot whose process died.
 */
import { Migration } from '@mikro-orm/migrations';

export class HostileInput extends Migration {
  override name = '0003_hostile_input';

  override up(): void {
    this.addSql(`
alter table tracks add column private_network_allowed boolean not null default false;

create table request_slots (
  id uuid not null default gen_random_uuid(),
  requester_id text not null,
  expires_at timestamptz not null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint request_slots_pkey primary key (id)
);
create index request_slots_requester_id_index on request_slots (requester_id);
`);
  }

  override down(): void {
    this.addSql(`
drop table if exists request_slots;
alter table tracks drop column if exists private_network_allowed;
`);
  }
}
