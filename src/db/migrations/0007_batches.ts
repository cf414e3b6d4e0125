/**
 * Albums and playlists as one chat request (a batch).
 *
 * - `batches`: the record's card, what runs, where the stems go (a thread on
 *   the message, or links, or channel messages), the batch's DM state and the
 *   progress message's columns (as on `requests`, so one tracker edits both).
 * - `batch_tracks`: every entry of the record in Spotify's order, those that
 *   run and those that do not (with the reason); `request_id` once started.
 * - `requests.batch_id`: a started track is an ordinary request of the batch.
 * - `deliveries` may name a batch instead of a request: the batch's one
 *   analysis DM (`batch_dm`, unique per batch).
 * - A trigger keeps `running -> done | cancelled` the only state moves
 *   (src/domain/batchLifecycle.ts) and lets the DM state move only from
 *   pending, as on requests.
 */
import { Migration } from '@mikro-orm/migrations';

export class Batches extends Migration {
  override name = '0007_batches';

  override up(): void {
    this.addSql(`
create table batches (
  id uuid not null default gen_random_uuid(),
  kind text not null,
  requester_id text not null,
  guild_id text null,
  channel_id text not null,
  message_id text null,
  application_id text not null,
  interaction_token text not null,
  interaction_expires_at timestamptz not null,
  record_kind text not null,
  spotify_id text not null,
  name text not null,
  byline text null,
  art_url text null,
  url text not null,
  track_count int not null,
  duration double precision null,
  summary text not null,
  rest text null,
  model text null,
  format text null,
  attachment_size_limit bigint null,
  state text not null default 'running',
  stems_place text null,
  thread_id text null,
  dm_state text null default 'pending',
  progress_hash text null,
  progress_edited_at timestamptz null,
  progress_message_posted_at timestamptz null,
  channel_message_id text null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint batches_pkey primary key (id),
  constraint batches_kind_check check (kind in ('separate', 'analyze')),
  constraint batches_record_kind_check check (record_kind in ('album', 'playlist')),
  constraint batches_format_check check (format in ('wav', 'flac', 'mp3')),
  constraint batches_state_check check (state in ('running', 'done', 'cancelled')),
  constraint batches_stems_place_check check (stems_place in ('thread', 'links', 'messages')),
  constraint batches_dm_state_check check (dm_state in ('pending', 'sent', 'closed_fallback_sent', 'failed')),
  constraint batches_track_count_check check (track_count >= 0),
  constraint batches_thread_check check (thread_id is null or stems_place = 'thread')
);
create index batches_requester_id_index on batches (requester_id);
create index batches_state_index on batches (state);

create table batch_tracks (
  id uuid not null default gen_random_uuid(),
  batch_id uuid not null,
  position int not null,
  title text not null,
  artist text null,
  duration double precision null,
  spotify_id text null,
  skip_reason text null,
  request_id uuid null,
  link text null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint batch_tracks_pkey primary key (id),
  constraint batch_tracks_batch_id_foreign foreign key (batch_id) references batches (id) on delete cascade,
  constraint batch_tracks_request_id_foreign foreign key (request_id) references requests (id) on delete set null,
  constraint batch_tracks_batch_id_position_unique unique (batch_id, position),
  constraint batch_tracks_runnable_check check (spotify_id is not null or skip_reason is not null),
  constraint batch_tracks_started_check check (request_id is null or skip_reason is null)
);
create index batch_tracks_request_id_index on batch_tracks (request_id);

alter table requests add column batch_id uuid null,
  add constraint requests_batch_id_foreign foreign key (batch_id) references batches (id) on delete cascade;
create index requests_batch_id_index on requests (batch_id);

alter table deliveries drop constraint deliveries_kind_check;
alter table deliveries add column batch_id uuid null,
  add constraint deliveries_batch_id_foreign foreign key (batch_id) references batches (id) on delete cascade,
  alter column request_id drop not null,
  add constraint deliveries_kind_check check (kind in ('progress_edit', 'stems', 'dm', 'notice', 'batch_dm')),
  add constraint deliveries_owner_check check ((request_id is null) = (kind = 'batch_dm') and (batch_id is null) = (kind <> 'batch_dm'));
create index deliveries_batch_id_index on deliveries (batch_id);
create unique index deliveries_batch_dm_unique on deliveries (batch_id) where kind = 'batch_dm';

-- Mirrors BATCH_TRANSITIONS in src/domain/batchLifecycle.ts and DM_TRANSITIONS in requestLifecycle.ts.
create function sfa_batch_state_guard() returns trigger language plpgsql as $$
begin
  if new.state is distinct from old.state and not coalesce(old.state = 'running' and new.state in ('done', 'cancelled'), false) then
    raise exception 'batch state cannot move from % to %', old.state, new.state
      using errcode = 'check_violation', table = tg_table_name, column = 'state';
  end if;
  if new.dm_state is distinct from old.dm_state and not coalesce(
       old.dm_state = 'pending' and new.dm_state in ('sent', 'closed_fallback_sent', 'failed'), false
  ) then
    raise exception 'batch DM state cannot move from % to %', coalesce(old.dm_state, 'null'), coalesce(new.dm_state, 'null')
      using errcode = 'check_violation', table = tg_table_name, column = 'dm_state';
  end if;
  return new;
end;
$$;
create trigger batches_state_guard before update of state, dm_state on batches
  for each row execute function sfa_batch_state_guard();
`);
  }

  override down(): void {
    this.addSql(`
drop trigger if exists batches_state_guard on batches;
drop function if exists sfa_batch_state_guard();
delete from deliveries where kind = 'batch_dm';
drop index if exists deliveries_batch_dm_unique;
drop index if exists deliveries_batch_id_index;
alter table deliveries drop constraint if exists deliveries_owner_check, drop constraint if exists deliveries_kind_check,
  drop column if exists batch_id, alter column request_id set not null,
  add constraint deliveries_kind_check check (kind in ('progress_edit', 'stems', 'dm', 'notice'));
drop index if exists requests_batch_id_index;
alter table requests drop constraint if exists requests_batch_id_foreign, drop column if exists batch_id;
drop table if exists batch_tracks, batches;
`);
  }
}
