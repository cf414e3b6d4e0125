/**
 * An album's or playlist's request as the user sees it: the batch's rows
 * (./batches.ts) turned into the message's view and the DM's rows, rendered
 * by src/domain/batchMessage.ts and src/domain/batchDm.ts. Each started
 * track reads as its single-track message would (./view.ts).
 */
import { analysisFacts, type AnalysisFacts } from '../domain/analysisWording.ts';
import { entryState, type EntryState } from '../domain/batchLifecycle.ts';
import type { BatchDmRow } from '../domain/batchDm.ts';
import { renderBatchMessage, type BatchTrackLine, type BatchTrackStatus, type BatchView, type RecordCard } from '../domain/batchMessage.ts';
import type { MessagePayload } from '../domain/messages.ts';
import { lifecycleState } from '../domain/requestLifecycle.ts';
import { requestFact, type BatchEntryRow, type BatchRow, type BatchSnapshot } from './batches.ts';
import { stagesOf, type RequestRow } from './view.ts';

export function recordCard(batch: BatchRow): RecordCard {
  return {
    kind: batch.record_kind,
    name: batch.name,
    by: batch.byline,
    artUrl: batch.art_url,
    url: batch.url,
    trackCount: batch.track_count,
    durationSeconds: batch.duration,
  };
}

interface EntryView {
  state: EntryState;
  request: RequestRow | undefined;
  analysis: AnalysisFacts | null;
}

function entryView(snapshot: BatchSnapshot, entry: BatchEntryRow): EntryView {
  const request = entry.request_id ? snapshot.requests.get(entry.request_id) : undefined;
  const fact = request ? requestFact(request.delivery_state, request.delivery_error, request.analysis_job_id ? request.a_status : null) : entry.request_id ? 'failed' : null;
  const result = request?.analysis_job_id ? snapshot.analyses.get(request.analysis_job_id) : undefined;
  return {
    state: entryState({ skipReason: entry.skip_reason, request: fact }, snapshot.batch.state),
    request,
    analysis: result ? analysisFacts(result) : null,
  };
}

/** Why a started track failed, in the words its own message would use. */
function failureOf(request: RequestRow | undefined): string {
  if (!request) return 'its request was removed';
  if (lifecycleState(request.delivery_state, request.delivery_error) === 'cancelled') return 'cancelled';
  return request.delivery_error ?? request.p_error ?? request.a_error ?? request.d_error ?? 'failed';
}

function statusOf(entry: BatchEntryRow, v: EntryView): BatchTrackStatus {
  switch (v.state) {
    case 'skipped':
      return { state: 'skipped', reason: entry.skip_reason ?? 'not run' };
    case 'queued':
      return { state: 'queued' };
    case 'running':
      return { state: 'running', stages: v.request ? stagesOf(v.request) : {} };
    case 'done':
      return { state: 'done', analysis: v.analysis, link: entry.link };
    case 'failed':
      return { state: 'failed', reason: failureOf(v.request) };
    case 'cancelled':
      return { state: 'cancelled' };
  }
}

export function batchView(snapshot: BatchSnapshot): BatchView {
  const { batch } = snapshot;
  const tracks: BatchTrackLine[] = snapshot.entries.map((entry) => ({
    position: entry.position,
    title: entry.title,
    artist: entry.artist,
    durationSeconds: entry.duration,
    status: statusOf(entry, entryView(snapshot, entry)),
  }));
  return {
    requesterId: batch.requester_id,
    kind: batch.kind,
    record: recordCard(batch),
    summary: batch.summary,
    rest: batch.rest,
    model: batch.kind === 'separate' ? batch.model : null,
    tracks,
    stemsPlace: batch.kind === 'separate' ? batch.stems_place : null,
    state: batch.state,
  };
}

export function renderBatch(snapshot: BatchSnapshot): { payload: MessagePayload; final: boolean } {
  return { payload: renderBatchMessage(batchView(snapshot)), final: snapshot.batch.state !== 'running' };
}

/** The DM's rows: every track that was to run (skipped entries that never could are left to the message). */
export function batchDmRows(snapshot: BatchSnapshot): BatchDmRow[] {
  const rows: BatchDmRow[] = [];
  for (const entry of snapshot.entries) {
    const v = entryView(snapshot, entry);
    if (v.state === 'skipped' || v.state === 'queued' || v.state === 'running') continue;
    rows.push({
      position: entry.position,
      title: entry.title,
      artist: entry.artist,
      state: v.state,
      analysis: v.analysis,
      reason: v.state === 'failed' ? failureOf(v.request) : null,
    });
  }
  return rows;
}
