/**
 * The chat side's lifecycle gets the job side's guarantees.
 *
 * - A trigger on `requests` refuses delivery-state moves the lifecycle
 *   (src/domain/requestLifecycle.ts) forbids, whoever writes them, as
 *   sfa_job_status_guard does for job rows: `delivered` and `failed` are
 *   terminal (a delivery can no longer turn a cancelled request into a
 *   delivered one), `delivering` may only go back to `pending` (a sender
 *   giving its claim back to retry). `dm_state` moves only from `pending`.
 *   The application path is src/requests/outbox.ts, whose writes are
 *   conditional on the allowed sources and never trip it.
 * - reaction_choices.spawned_request_id: the request a re-processing
 *   reaction made, as a real foreign key (set null if that request is
 *   deleted) instead of its id inside `outcome` ('reprocess:<id>',
 *   parsed with substr). Backfilled from the existing rows, whose outcome
 *   keeps only the decision ('reprocess', 'from_cache').
 */
import { Migration } from '@mikro-orm/migrations';

export class RequestLifecycle extends Migration {
  override name = '0005_request_lifecycle';

  override up(): void {
    this.addSql(`
-- Mirrors DELIVERY_TRANSITIONS and DM_TRANSITIONS in src/domain/requestLifecycle.ts (tests/db check every pair).
create function sfa_request_state_guard() returns trigger language plpgsql as $$
begin
  if new.delivery_state is distinct from old.delivery_state and not coalesce(
       (old.delivery_state = 'pending' and new.delivery_state in ('delivering', 'delivered', 'failed'))
    or (old.delivery_state = 'delivering' and new.delivery_state in ('pending', 'delivered', 'failed')), false
  ) then
    raise exception 'request delivery state cannot move from % to %', old.delivery_state, new.delivery_state
      using errcode = 'check_violation', table = tg_table_name, column = 'delivery_state';
  end if;
  -- NULL (a request that sends no DM) neither becomes nor replaces a state: coalesce reads unknown as refused.
  if new.dm_state is distinct from old.dm_state and not coalesce(
       old.dm_state = 'pending' and new.dm_state in ('sent', 'closed_fallback_sent', 'failed'), false
  ) then
    raise exception 'request DM state cannot move from % to %', coalesce(old.dm_state, 'null'), coalesce(new.dm_state, 'null')
      using errcode = 'check_violation', table = tg_table_name, column = 'dm_state';
  end if;
  return new;
end;
$$;
create trigger requests_state_guard before update of delivery_state, dm_state on requests
  for each row execute function sfa_request_state_guard();

alter table reaction_choices
  add column spawned_request_id uuid null,
  add constraint reaction_choices_spawned_request_id_foreign foreign key (spawned_request_id) references requests (id) on delete set null;
create index reaction_choices_spawned_request_id_index on reaction_choices (spawned_request_id);

update reaction_choices c
   set spawned_request_id = r.id, outcome = split_part(c.outcome, ':', 1)
  from requests r
 where c.outcome ~ '^(reprocess|from_cache):' and r.id::text = substr(c.outcome, strpos(c.outcome, ':') + 1);
-- A spawned request already deleted: keep the decision, drop the dangling id.
update reaction_choices set outcome = split_part(outcome, ':', 1) where outcome ~ '^(reprocess|from_cache):';
`);
  }

  override down(): void {
    this.addSql(`
update reaction_choices set outcome = outcome || ':' || spawned_request_id where spawned_request_id is not null;
drop index if exists reaction_choices_spawned_request_id_index;
alter table reaction_choices drop constraint if exists reaction_choices_spawned_request_id_foreign, drop column if exists spawned_request_id;
drop trigger if exists requests_state_guard on requests;
drop function if exists sfa_request_state_guard();
`);
  }
}
