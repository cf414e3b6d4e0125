/**
 * The six tables of the domain model plus `requests` (the chat side).
 *
 * Choices (see src/db/README.md):
 * - status / stem_type / kind / format / delivery_state are text + CHECK, not
 *   PostgreSQL enums: a CHECK is replaced in one transactional statement when a
 *   value is added (guitar and piano were such a migration in the original),
 *   while enum values can never be removed and new ones cannot be used in the
 *   transaction that adds them.
 * - tracks.spotify_id is UNIQUE but nullable: direct URLs and uploaded files
 *   have no Spotify id (source_url says where they came from), and UNIQUE
 *   allows any number of NULLs.
 * - Cascades: a track owns everything about it, so deleting a track deletes
 *   its jobs, stems, analysis results and requests. Deleting a processing job
 *   deletes its stems; deleting an analysis job deletes its result. Stems and
 *   results reference both their job and their track, so either path removes
 *   them. A request only points at the jobs it waits for (several requests can
 *   share one job), so deleting a job sets those pointers to NULL instead.
 * - A trigger on each job table refuses status changes the state machine
 *   (src/domain/jobStatus.ts) forbids, whoever writes them; the application
 *   path is src/db/jobStatusWrites.ts, which never trips it.
 */
import { Migration } from '@mikro-orm/migrations';

export class InitialSchema extends Migration {
  override name = '0001_initial_schema';

  override up(): void {
    this.addSql(`
create table tracks (
  id uuid not null default gen_random_uuid(),
  spotify_id text null,
  spotify_url text null,
  source_url text null,
  isrc text null,
  title text not null,
  artist text null,
  album text null,
  album_art_url text null,
  duration int null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tracks_pkey primary key (id),
  constraint tracks_spotify_id_unique unique (spotify_id)
);
create index tracks_isrc_index on tracks (isrc);

create table download_jobs (
  id uuid not null default gen_random_uuid(),
  track_id uuid not null,
  status text not null default 'queued',
  progress int not null default 0,
  error text null,
  output_path text null,
  file_size bigint null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint download_jobs_pkey primary key (id),
  constraint download_jobs_track_id_foreign foreign key (track_id) references tracks (id) on delete cascade,
  constraint download_jobs_status_check check (status in ('queued', 'downloading', 'processing', 'completed', 'failed')),
  constraint download_jobs_progress_check check (progress between 0 and 100)
);
create index download_jobs_track_id_index on download_jobs (track_id);
create index download_jobs_status_index on download_jobs (status);

create table processing_jobs (
  id uuid not null default gen_random_uuid(),
  track_id uuid not null,
  model text not null default 'htdemucs',
  status text not null default 'queued',
  progress int not null default 0,
  error text null,
  output_path text null,
  options jsonb null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint processing_jobs_pkey primary key (id),
  constraint processing_jobs_track_id_foreign foreign key (track_id) references tracks (id) on delete cascade,
  constraint processing_jobs_status_check check (status in ('queued', 'downloading', 'processing', 'completed', 'failed')),
  constraint processing_jobs_progress_check check (progress between 0 and 100)
);
-- "Reuse before recompute" looks stems up by (track, model); also covers track_id alone.
create index processing_jobs_track_id_model_index on processing_jobs (track_id, model);
create index processing_jobs_status_index on processing_jobs (status);

create table analysis_jobs (
  id uuid not null default gen_random_uuid(),
  track_id uuid not null,
  status text not null default 'queued',
  progress int not null default 0,
  error text null,
  results jsonb null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint analysis_jobs_pkey primary key (id),
  constraint analysis_jobs_track_id_foreign foreign key (track_id) references tracks (id) on delete cascade,
  constraint analysis_jobs_status_check check (status in ('queued', 'downloading', 'processing', 'completed', 'failed')),
  constraint analysis_jobs_progress_check check (progress between 0 and 100)
);
create index analysis_jobs_track_id_index on analysis_jobs (track_id);
create index analysis_jobs_status_index on analysis_jobs (status);

create table stems (
  id uuid not null default gen_random_uuid(),
  processing_job_id uuid not null,
  track_id uuid not null,
  stem_type text not null,
  file_path text null,
  file_size bigint null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint stems_pkey primary key (id),
  constraint stems_processing_job_id_foreign foreign key (processing_job_id) references processing_jobs (id) on delete cascade,
  constraint stems_track_id_foreign foreign key (track_id) references tracks (id) on delete cascade,
  -- KNOWN_STEM_TYPES in src/domain/modelCatalog.ts.
  constraint stems_stem_type_check check (stem_type in ('vocals', 'drums', 'bass', 'other', 'guitar', 'piano', 'accompaniment')),
  -- One file per stem type per run; also serves lookups by processing_job_id.
  constraint stems_processing_job_id_stem_type_unique unique (processing_job_id, stem_type)
);
create index stems_track_id_index on stems (track_id);

create table analysis_results (
  id uuid not null default gen_random_uuid(),
  track_id uuid not null,
  analysis_job_id uuid not null,
  tempo double precision null,
  key text null,
  energy double precision null,
  spectral_centroid double precision null,
  spectral_rolloff double precision null,
  zero_crossing_rate double precision null,
  features jsonb null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint analysis_results_pkey primary key (id),
  constraint analysis_results_track_id_foreign foreign key (track_id) references tracks (id) on delete cascade,
  constraint analysis_results_analysis_job_id_foreign foreign key (analysis_job_id) references analysis_jobs (id) on delete cascade,
  -- has_one: at most one result per analysis job.
  constraint analysis_results_analysis_job_id_unique unique (analysis_job_id)
);
create index analysis_results_track_id_index on analysis_results (track_id);

create table requests (
  id uuid not null default gen_random_uuid(),
  kind text not null,
  requester_id text not null,
  guild_id text null,
  channel_id text not null,
  message_id text null,
  application_id text not null,
  interaction_token text not null,
  interaction_expires_at timestamptz not null,
  model text null,
  format text null,
  track_id uuid not null,
  processing_job_id uuid null,
  analysis_job_id uuid null,
  delivery_state text not null default 'pending',
  delivery_error text null,
  delivered_at timestamptz null,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint requests_pkey primary key (id),
  constraint requests_track_id_foreign foreign key (track_id) references tracks (id) on delete cascade,
  constraint requests_processing_job_id_foreign foreign key (processing_job_id) references processing_jobs (id) on delete set null,
  constraint requests_analysis_job_id_foreign foreign key (analysis_job_id) references analysis_jobs (id) on delete set null,
  constraint requests_kind_check check (kind in ('separate', 'analyze')),
  constraint requests_format_check check (format in ('wav', 'flac', 'mp3')),
  constraint requests_delivery_state_check check (delivery_state in ('pending', 'delivering', 'delivered', 'failed'))
);
create index requests_track_id_index on requests (track_id);
create index requests_processing_job_id_index on requests (processing_job_id);
create index requests_analysis_job_id_index on requests (analysis_job_id);
create index requests_delivery_state_index on requests (delivery_state);

-- Mirrors TRANSITIONS in src/domain/jobStatus.ts (tests/db check every pair).
create function sfa_job_status_guard() returns trigger language plpgsql as $$
begin
  if new.status is distinct from old.status and not (
       (old.status = 'queued' and new.status in ('downloading', 'processing', 'failed'))
    or (old.status = 'downloading' and new.status in ('processing', 'completed', 'failed'))
    or (old.status = 'processing' and new.status in ('completed', 'failed'))
  ) then
    raise exception 'job status cannot move from % to %', old.status, new.status
      using errcode = 'check_violation', table = tg_table_name, column = 'status';
  end if;
  return new;
end
$$;
create trigger download_jobs_status_guard before update of status on download_jobs
  for each row execute function sfa_job_status_guard();
create trigger processing_jobs_status_guard before update of status on processing_jobs
  for each row execute function sfa_job_status_guard();
create trigger analysis_jobs_status_guard before update of status on analysis_jobs
  for each row execute function sfa_job_status_guard();
`);
  }

  override down(): void {
    this.addSql(`
drop table if exists requests, analysis_results, stems, analysis_jobs, processing_jobs, download_jobs, tracks;
drop function if exists sfa_job_status_guard();
`);
  }
}
