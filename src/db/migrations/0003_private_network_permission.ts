/**
 * Who may fetch private-network addresses travels with the work, not with the
 * process: a track from a link records whether its requester (a CLI user, on
 * their own machine) allowed private addresses. The download worker reads it
 * from the row; a bot request never sets it. Tracks from links are found by
 * (source_url, private_network_allowed), so a bot request never shares a track
 * (nor its download, stems or analysis) with a request that could reach a
 * private address.
 */
import { Migration } from '@mikro-orm/migrations';

export class PrivateNetworkPermission extends Migration {
  override name = '0003_private_network_permission';

  override up(): void {
    this.addSql(`alter table tracks add column private_network_allowed boolean not null default false;`);
  }

  override down(): void {
    this.addSql(`alter table tracks drop column if exists private_network_allowed;`);
  }
}
