/**
 * What the Discord bot keeps in PostgreSQL so that any process can carry on
 * after a restart: per-request reaction window, upload limit, progress-message
 * state and DM state; an outbox of pending deliveries; and the reactions the
 * global listener has seen but not yet handled.
 *
 * Choices (see src/db/README.md):
 * - States and kinds are text + CHECK, as in 0001.
 * - deliveries is an outbox: a row is written in the transaction that decides
 *   something must reach Discord, and a sender claims due rows
 *   (state = 'pending' and next_attempt_at <= now(), FOR UPDATE SKIP LOCKED).
 *   progress_edit and dm are unique per request (a partial unique index):
 *   progress is coalesced by overwriting the one row's payload (latest state
 *   wins) and a request sends at most one DM. stems and notice rows are not
 *   unique: stems may go out again from cache, notices are one-offs.
 * - sent_at is set exactly when state is 'sent'; a failed row says why;
 *   a handled/ignored reaction says when.
 * - Everything hangs off a request and is deleted with it (cascade).
 */
import { Migration } from '@mikro-orm/migrations';

export class BotDelivery extends Migration {
  override name = '0002_bot_delivery';

  override up(): void {
    this.addSql(`
alter table requests
  add column reaction_window_ends_at timestamptz null,
  add column model_source text null,
  add column attachment_size_limit bigint null,
  add column progress_hash text null,
  add column progress_edited_at timestamptz null,
  add column progress_message_posted_at timestamptz null,
  add column channel_message_id text null,
  add column dm_state text null default 'pending',
  add constraint requests_model_source_check check (model_source in ('option', 'reaction', 'default')),
  add constraint requests_model_chosen_check check (model_source is null or model is not null),
  add constraint requests_attachment_size_limit_check check (attachment_size_limit > 0),
  add constraint requests_dm_state_check check (dm_state in ('pending', 'sent', 'closed_fallback_sent', 'failed'));

create table deliveries (
  id uuid not null default gen_random_uuid(),
  request_id uuid not null,
  kind text not null,
  payload jsonb not null,
  state text not null default 'pending',
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text null,
  sent_at timestamptz null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint deliveries_pkey primary key (id),
  constraint deliveries_request_id_foreign foreign key (request_id) references requests (id) on delete cascade,
  constraint deliveries_kind_check check (kind in ('progress_edit', 'stems', 'dm', 'notice')),
  constraint deliveries_state_check check (state in ('pending', 'sending', 'sent', 'failed')),
  constraint deliveries_attempts_check check (attempts >= 0),
  constraint deliveries_sent_at_check check ((state = 'sent') = (sent_at is not null)),
  constraint deliveries_failed_error_check check (state <> 'failed' or last_error is not null)
);
create index deliveries_request_id_index on deliveries (request_id);
-- The sender's query: due pending rows, oldest first.
create index deliveries_state_next_attempt_at_index on deliveries (state, next_attempt_at);
-- One coalesced progress row and at most one DM per request; upserts name this predicate in ON CONFLICT.
create unique index deliveries_request_id_kind_unique on deliveries (request_id, kind) where kind in ('progress_edit', 'dm');

create table reaction_choices (
  id uuid not null default gen_random_uuid(),
  request_id uuid not null,
  message_id text not null,
  user_id text not null,
  emoji text not null,
  model text not null,
  state text not null default 'pending',
  outcome text null,
  handled_at timestamptz null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint reaction_choices_pkey primary key (id),
  constraint reaction_choices_request_id_foreign foreign key (request_id) references requests (id) on delete cascade,
  constraint reaction_choices_state_check check (state in ('pending', 'handled', 'ignored')),
  constraint reaction_choices_handled_at_check check ((state = 'pending') = (handled_at is null))
);
create index reaction_choices_request_id_index on reaction_choices (request_id);
-- The listener's query: pending reactions in arrival order.
create index reaction_choices_state_inserted_at_index on reaction_choices (state, inserted_at);
`);
  }

  override down(): void {
    this.addSql(`
drop table if exists reaction_choices, deliveries;
alter table requests
  drop constraint if exists requests_dm_state_check,
  drop constraint if exists requests_attachment_size_limit_check,
  drop constraint if exists requests_model_chosen_check,
  drop constraint if exists requests_model_source_check,
  drop column if exists dm_state,
  drop column if exists channel_message_id,
  drop column if exists progress_message_posted_at,
  drop column if exists progress_edited_at,
  drop column if exists progress_hash,
  drop column if exists attachment_size_limit,
  drop column if exists model_source,
  drop column if exists reaction_window_ends_at;
`);
  }
}
