/**
 * `sfa separate|analyze <album or playlist link>`: the record's track list
 * from the Spotify Web API, the batch plan (--tracks, --limit or
 * SFA_MAX_BATCH_TRACKS), then each track as the ordinary pipeline request,
 * one after another in the record's order, in one session (stored results
 * are reused, so a re-run costs nothing). Progress names the track
 * (`track 3/10`) above its stages; Ctrl-C cancels the running track and
 * makes no further request, and what finished is still reported.
 *
 * Exit codes: 0 every track that ran succeeded, 1 a track failed (or none
 * could run, or Spotify could not be asked), 2 usage or configuration
 * (Spotify credentials missing, --tracks out of range), 130 interrupted.
 */
import type { Config } from '../config.ts';
import { planBatch, type BatchPlan, type PlannedTrack, type SkippedTrack } from '../domain/batchPlan.ts';
import { canonicalSpotifyUrl, type SpotifyRecordRef } from '../domain/spotifyInput.ts';
import { checkSelection } from '../domain/trackSelection.ts';
import { UserFacingError } from '../jobs/download/errors.ts';
import type { RecordMetadata } from '../jobs/download/spotifyRecords.ts';
import type { CancelTicket } from '../jobs/pipeline/cancel.ts';
import type { FollowedRow, FollowOutcome } from './follow.ts';
import { withPipelineSession } from './pipelineRun.ts';
import type { Session } from './session.ts';

export interface RecordChoice {
  /** --limit; undefined: SFA_MAX_BATCH_TRACKS. */
  limit?: number | undefined;
  /** --tracks, parsed (1-based, sorted). */
  tracks?: number[] | undefined;
}

/** One track's outcome as the command reports it. */
export interface TrackReport {
  ok: boolean;
  /** What --json shows for the track (besides position and ok). */
  json: Record<string, unknown>;
  /** The human summary (stdout). */
  lines: string[];
  /** Why it failed, one line each (stderr). */
  problems: string[];
}

export interface RecordRunSpec<T extends CancelTicket> {
  command: string;
  config: Config;
  record: SpotifyRecordRef;
  choice: RecordChoice;
  json: boolean;
  inProcessWorkers: boolean;
  /** The pipeline request for one track of the record (its canonical track link). */
  request(session: Session, trackUrl: string): Promise<T>;
  rowsOf(ticket: T): FollowedRow[];
  /** Reads (and copies out) one settled track's result; prints nothing. */
  collect(session: Session, ticket: T, outcome: FollowOutcome, track: PlannedTrack, record: RecordMetadata): Promise<TrackReport>;
}

/** The settings of a record run that come from the command line, the same for both commands. */
export function recordSettings(
  command: string,
  config: Config,
  options: { record: SpotifyRecordRef; choice?: RecordChoice | undefined; json: boolean; noWorker?: boolean | undefined },
): Pick<RecordRunSpec<CancelTicket>, 'command' | 'config' | 'record' | 'choice' | 'json' | 'inProcessWorkers'> {
  return { command, config, record: options.record, choice: options.choice ?? {}, json: options.json, inProcessWorkers: !options.noWorker };
}

/** The record's own fields for --json. */
function recordJson(record: RecordMetadata) {
  return { kind: record.kind, spotifyId: record.spotifyId, name: record.name, by: record.by, artUrl: record.artUrl, url: record.url, trackCount: record.tracks.length };
}

export async function runRecord<T extends CancelTicket>(spec: RecordRunSpec<T>): Promise<number> {
  const say = (line: string) => process.stderr.write(`${spec.command}: ${line}\n`);
  let record: RecordMetadata;
  try {
    const { spotifyRecordFor } = await import('./spotifyRecord.ts');
    record = await spotifyRecordFor(spec.config)(spec.record.kind, spec.record.id);
  } catch (error) {
    if (!(error instanceof UserFacingError)) throw error;
    say(error.userMessage);
    return error.code === 'spotify_credentials_missing' ? 2 : 1;
  }
  if (spec.choice.tracks) {
    const problem = checkSelection(spec.choice.tracks, record.tracks.length, record.kind);
    if (problem) {
      say(problem);
      return 2;
    }
  }
  const plan = planBatch(record.tracks, { selection: spec.choice.tracks, limit: spec.choice.limit ?? spec.config.limits.maxBatchTracks });
  if (!spec.json) announce(spec.command, record, plan);
  if (plan.run.length === 0) {
    say(`nothing to do: ${plan.summary}`);
    if (spec.json) printJson(record, plan, [], []);
    return 1;
  }

  const done: { track: PlannedTrack; report: TrackReport }[] = [];
  let interruptedExit: number | undefined;
  /** The track Ctrl-C stopped while it ran (the others after it never started). */
  let stoppedRunning: PlannedTrack | undefined;
  const exit = await withPipelineSession(spec, async (runner) => {
    for (const [i, track] of plan.run.entries()) {
      if (runner.interrupted) {
        interruptedExit = runner.interruptedExit();
        break;
      }
      runner.note(`track ${i + 1}/${plan.run.length}: ${track.position}. ${track.title}`);
      const ticket = await spec.request(runner.session, canonicalSpotifyUrl('track', track.spotifyId));
      const followed = await runner.follow(ticket, spec.rowsOf(ticket));
      if ('exit' in followed) {
        interruptedExit = followed.exit;
        stoppedRunning = track;
        break;
      }
      const report = await spec.collect(runner.session, ticket, followed.outcome, track, record);
      done.push({ track, report });
      for (const p of report.problems) say(`track ${track.position} (${track.title}): ${p}`);
    }
    return 0;
  });
  const notRun = plan.run.slice(done.length);
  const cancelled: SkippedTrack[] = interruptedExit === undefined && exit === 0 ? [] : notRun.map((t) => ({ position: t.position, title: t.title, reason: t === stoppedRunning ? 'cancelled while it ran' : 'cancelled before it ran' }));
  if (spec.json) printJson(record, plan, done, cancelled);
  else printText(done, cancelled);
  if (exit !== 0) return exit;
  if (interruptedExit !== undefined) return interruptedExit;
  const failed = done.filter((d) => !d.report.ok).length;
  if (failed > 0) say(`${failed} of ${done.length} tracks failed`);
  return failed > 0 ? 1 : 0;
}

/** What will happen, before it starts (stderr): the record, the plan, the skips and how to run the rest. */
function announce(command: string, record: RecordMetadata, plan: BatchPlan): void {
  const by = record.by ? ` by ${record.by}` : '';
  const lines = [`${command}: ${record.kind} "${record.name}"${by}: ${plan.summary}`];
  for (const s of plan.skipped) lines.push(`  skipped ${s.position}. ${s.title}: ${s.reason}`);
  if (plan.rest) lines.push(`  the rest: --tracks ${plan.rest} (or a larger --limit)`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

function printText(done: { track: PlannedTrack; report: TrackReport }[], cancelled: SkippedTrack[]): void {
  const lines: string[] = [];
  for (const { track, report } of done) {
    lines.push(`${track.position}. ${report.ok ? '' : 'FAILED: '}${report.lines[0] ?? track.title}`, ...report.lines.slice(1));
  }
  for (const c of cancelled) lines.push(`${c.position}. ${c.title}: ${c.reason}`);
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

function printJson(record: RecordMetadata, plan: BatchPlan, done: { track: PlannedTrack; report: TrackReport }[], cancelled: SkippedTrack[]): void {
  const result = {
    record: recordJson(record),
    plan: plan.summary,
    tracks: done.map(({ track, report }) => ({ position: track.position, spotifyId: track.spotifyId, ok: report.ok, ...report.json, ...(report.ok ? {} : { problems: report.problems }) })),
    skipped: plan.skipped,
    cancelled,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
