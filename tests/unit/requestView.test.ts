import { describe, expect, it } from 'vitest';
import { CANCELLED_BY_REQUESTER } from '../../src/domain/requestLifecycle.ts';
import { isFinal, renderRequest, workEnded, type RequestRow } from '../../src/requests/view.ts';

const NOW = 1_800_000_000_000;
const row = (fields: Partial<RequestRow> = {}): RequestRow =>
  ({
    id: 'r1',
    kind: 'separate',
    requester_id: '111',
    guild_id: '1',
    channel_id: '2',
    message_id: null,
    application_id: '3',
    interaction_token: 't',
    interaction_expires_at: new Date(NOW + 900_000),
    model: 'htdemucs',
    format: 'wav',
    track_id: 'track',
    processing_job_id: 'p',
    analysis_job_id: 'a',
    delivery_state: 'pending',
    delivery_error: null,
    reaction_window_ends_at: null,
    attachment_size_limit: null,
    progress_hash: null,
    progress_edited_at: null,
    progress_message_posted_at: null,
    channel_message_id: null,
    dm_state: 'pending',
    inserted_at: new Date(NOW),
    title: 'Song',
    artist: null,
    album: null,
    album_art_url: null,
    duration: 4,
    spotify_url: null,
    source_url: null,
    d_status: 'completed',
    d_progress: 100,
    d_error: null,
    p_status: 'processing',
    p_progress: 40,
    p_error: null,
    p_fetch: null,
    p_note: null,
    a_status: 'completed',
    a_progress: 100,
    a_error: null,
    ...fields,
  }) as RequestRow;

describe('workEnded / isFinal', () => {
  it('a separation still running is not ended', () => {
    expect(workEnded(row())).toBe(false);
    expect(isFinal(row())).toBe(false);
  });
  it('a separation waiting for its model is not ended, even with the analysis done', () => {
    expect(workEnded(row({ model: null, processing_job_id: null, p_status: null }))).toBe(false);
  });
  it('ends when the separation and analysis both ended (completed or failed)', () => {
    expect(workEnded(row({ p_status: 'completed' }))).toBe(true);
    expect(workEnded(row({ p_status: 'failed', a_status: 'failed' }))).toBe(true);
    expect(workEnded(row({ p_status: 'completed', a_status: 'processing' }))).toBe(false);
  });
  it('a failed download ends a request whose separation did not complete', () => {
    expect(workEnded(row({ d_status: 'failed', p_status: 'queued', a_status: 'queued' }))).toBe(true);
  });
  it('an analysis request ends with its analysis', () => {
    expect(workEnded(row({ kind: 'analyze', model: null, processing_job_id: null, p_status: null, a_status: 'processing' }))).toBe(false);
    expect(workEnded(row({ kind: 'analyze', model: null, processing_job_id: null, p_status: null }))).toBe(true);
  });
  it('is final when failed, or delivered with all work ended', () => {
    expect(isFinal(row({ delivery_state: 'failed' }))).toBe(true);
    expect(isFinal(row({ delivery_state: 'delivered', p_status: 'completed', a_status: 'processing' }))).toBe(false);
    expect(isFinal(row({ delivery_state: 'delivered', p_status: 'completed' }))).toBe(true);
  });
});

describe('renderRequest', () => {
  it('offers the model reactions only while the window is open', () => {
    const open = renderRequest(row({ model: null, processing_job_id: null, p_status: null, reaction_window_ends_at: new Date(NOW + 5000) }), NOW);
    expect(open.embeds![0]!.description).toContain('React to choose the model');
    expect(open.embeds![0]!.description).toContain('model not chosen yet');
    const closed = renderRequest(row({ model: null, processing_job_id: null, p_status: null, reaction_window_ends_at: new Date(NOW - 1) }), NOW);
    expect(closed.embeds![0]!.description).not.toContain('React to choose the model');
  });
  it('shows no separation line for /analyze', () => {
    const payload = renderRequest(row({ kind: 'analyze', model: null, p_status: null }), NOW);
    expect(payload.embeds![0]!.description).not.toContain('Separate');
  });
  it('shows the separation preparing its model for this CPU while it does, and nothing of it afterwards', () => {
    const line = (fields: Partial<RequestRow>) => renderRequest(row(fields), NOW).embeds![0]!.description!.split('\n').find((l) => l.includes('**Separate**'))!;
    expect(line({ p_progress: 1, p_note: 'preparing model for this CPU' })).toMatch(/— .*1%.* preparing model for this CPU \(first use, up to a minute\)$/);
    expect(line({ p_note: null })).not.toContain('preparing');
    // A stale note on a row that ended is not shown.
    expect(line({ p_status: 'completed', p_progress: 100, p_note: 'preparing model for this CPU' })).toBe('✅ **Separate** · htdemucs — done');
  });
  it('says a cancelled request was cancelled, and why a failed one stopped', () => {
    expect(renderRequest(row({ delivery_state: 'failed', delivery_error: CANCELLED_BY_REQUESTER }), NOW).content).toBe('Cancelled at your request.');
    expect(renderRequest(row({ delivery_state: 'failed', delivery_error: 'the download failed: 404' }), NOW).content).toBe('Not delivered: the download failed: 404');
    expect(renderRequest(row(), NOW).content).toBe('');
  });
});
