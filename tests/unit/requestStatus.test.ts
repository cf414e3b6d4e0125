import { describe, expect, it } from 'vitest';
import { NO_REQUESTS, renderStatusLines, type RequestStatus } from '../../src/domain/requestStatus.ts';

const base: RequestStatus = {
  kind: 'separate',
  title: 'Song',
  model: 'htdemucs',
  insertedAt: 1_700_000_000_000,
  deliveryState: 'pending',
  deliveryError: null,
  stages: { download: { status: 'completed', progress: 100 }, separation: { status: 'processing', progress: 50 }, analysis: { status: 'queued', progress: 0 } },
};

describe('renderStatusLines', () => {
  it('says there is nothing yet and what to use', () => {
    expect(renderStatusLines([])).toBe(NO_REQUESTS);
  });

  it('shows a running request with its overall percentage and every stage', () => {
    expect(renderStatusLines([base])).toBe(
      '**Song** — /separate · `htdemucs` · <t:1700000000:R> · 50%\n↳ download: completed · separation: processing 50% · analysis: queued',
    );
  });

  it('shows delivered, failed and not-yet-chosen requests, newest first as given', () => {
    const text = renderStatusLines([
      { ...base, title: 'A*b', deliveryState: 'delivered' },
      { ...base, kind: 'analyze', model: null, deliveryState: 'failed', deliveryError: 'cancelled by the requester', stages: {} },
      { ...base, model: null, deliveryState: 'delivering' },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('**A\\*b** — /separate · `htdemucs` · <t:1700000000:R> · delivered');
    expect(lines[2]).toBe('**Song** — /analyze · <t:1700000000:R> · stopped: cancelled by the requester');
    expect(lines[3]).toContain('model not chosen yet');
    expect(lines[3]).toContain('sending the results');
  });

  it('stays within Discord\'s 2000 characters', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ...base, title: `Title ${i} ${'x'.repeat(90)}` }));
    expect(renderStatusLines(many).length).toBeLessThanOrEqual(2000);
  });
});
