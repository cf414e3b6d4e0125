/** The pipeline's pure parts: payload schemas, expiry budget, input parsing, progress throttling and aggregation. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analysisExpirySeconds, separationExpirySeconds } from '../../src/domain/jobBudget.ts';
import { aggregateProgress, describeStage } from '../../src/domain/progress.ts';
import { filePathOfSource, fileSourceUrl, InputError, parsePipelineInput } from '../../src/jobs/pipeline/input.ts';
import { ThrottledProgress } from '../../src/jobs/pipeline/rowWrites.ts';
import { parseTrackRef } from '../../src/jobs/pipeline/trackStatus.ts';
import { InvalidPayloadError, parsePayload, rowIdOf } from '../../src/jobs/queues/payloads.ts';

const ID = '7f1d3c9e-2a4b-4c6d-8e0f-1a2b3c4d5e6f';

describe('payloads', () => {
  it('accepts exactly the row id (and a lost-attempt count)', () => {
    expect(parsePayload('download', { downloadJobId: ID })).toEqual({ downloadJobId: ID });
    expect(parsePayload('separate', { processingJobId: ID, lostAttempts: 1 })).toEqual({ processingJobId: ID, lostAttempts: 1 });
    expect(rowIdOf('analyze', { analysisJobId: ID })).toBe(ID);
  });
  it('rejects anything else', () => {
    expect(() => parsePayload('download', { processingJobId: ID })).toThrow(InvalidPayloadError);
    expect(() => parsePayload('separate', { processingJobId: 'nope' })).toThrow(InvalidPayloadError);
    expect(() => parsePayload('analyze', { analysisJobId: ID, model: 'x' })).toThrow(InvalidPayloadError);
  });
});

describe('job expiry budget', () => {
  it('grows with track length and model cost (htdemucs_ft costs 4x), plus time to fetch the model (1 s per MB)', () => {
    const base = separationExpirySeconds(600, 'htdemucs', 1200);
    expect(base).toBe(Math.ceil(3 * 0.6 * 600 + 180 + 84));
    expect(separationExpirySeconds(600, 'htdemucs_ft', 1200)).toBe(Math.ceil(3 * 0.6 * 600 * 4 + 180 + 336));
    expect(separationExpirySeconds(null, 'htdemucs', 1200)).toBe(separationExpirySeconds(1200, 'htdemucs', 1200));
  });
  it('never goes below 10 minutes nor above a day', () => {
    expect(separationExpirySeconds(3, 'htdemucs', 1200)).toBe(600);
    expect(separationExpirySeconds(86_400, 'mdx_extra', 86_400)).toBe(86_400);
    expect(analysisExpirySeconds(3, 1200)).toBe(600);
  });
});

describe('pipeline input', () => {
  it('tells Spotify tracks, direct URLs and files apart', () => {
    expect(parsePipelineInput('https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x')).toEqual({
      kind: 'spotify',
      spotifyId: '4uLU6hMCjMI75M1A2tKUQC',
      url: 'https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC',
    });
    expect(parsePipelineInput('https://example.com/a%20song.mp3')).toEqual({ kind: 'url', url: 'https://example.com/a%20song.mp3' });
    expect(parsePipelineInput('music/song.wav', '/home/me')).toEqual({ kind: 'file', path: '/home/me/music/song.wav' });
    expect(parsePipelineInput('file:///tmp/x.flac')).toEqual({ kind: 'file', path: '/tmp/x.flac' });
  });
  it('refuses albums, look-alikes and empty input with a reason', () => {
    expect(() => parsePipelineInput('https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC')).toThrow(/^A Spotify album is several tracks and this takes one/);
    expect(() => parsePipelineInput('https://open.spotify.com.evil.example/track/4uLU6hMCjMI75M1A2tKUQC')).toThrow(InputError);
    expect(() => parsePipelineInput('   ')).toThrow(/No input/);
  });
  it('round-trips file sources, identity in the fragment', () => {
    const url = fileSourceUrl('/tmp/a b.wav', { size: 10, mtimeMs: 1234.5 });
    expect(url).toBe('file:///tmp/a%20b.wav#size=10&mtime=1234');
    expect(filePathOfSource(url)).toBe(path.normalize('/tmp/a b.wav'));
    expect(filePathOfSource('https://example.com/x.mp3')).toBeUndefined();
  });
});

describe('ThrottledProgress', () => {
  it('writes on a 2-point rise or after the interval, never downwards, in order', async () => {
    let now = 0;
    const written: number[] = [];
    const p = new ThrottledProgress(async (v) => void written.push(v), { minIntervalMs: 1000, minStep: 2 }, undefined, () => now);
    for (const v of [0, 0.5, 1, 2, 2.5, 3, 10, 9, 10.5]) p.report(v);
    now = 1500;
    p.report(11);
    p.report(11);
    p.report(100);
    await p.flush();
    expect(written).toEqual([0, 2, 10, 11, 100]);
  });
  it('keeps going after a failed write', async () => {
    const errors: unknown[] = [];
    const written: number[] = [];
    const p = new ThrottledProgress(
      async (v) => {
        if (v === 10) throw new Error('db blip');
        written.push(v);
      },
      { minStep: 5 },
      (e) => errors.push(e),
    );
    p.report(10);
    p.report(20);
    await p.flush();
    expect(written).toEqual([20]);
    expect(errors).toHaveLength(1);
  });
});

describe('progress aggregation', () => {
  it('weights stages and never shows 100 before the end', () => {
    expect(aggregateProgress({})).toEqual({ percent: 0, state: 'queued' });
    expect(
      aggregateProgress({
        download: { status: 'completed', progress: 100 },
        separation: { status: 'processing', progress: 50 },
        analysis: { status: 'queued', progress: 0 },
      }),
    ).toEqual({ percent: 50, state: 'running' });
    expect(
      aggregateProgress({
        download: { status: 'completed', progress: 100 },
        separation: { status: 'processing', progress: 100 },
        analysis: { status: 'completed', progress: 100 },
      }),
    ).toEqual({ percent: 99, state: 'running' });
    expect(aggregateProgress({ download: { status: 'completed', progress: 100 }, analysis: { status: 'completed', progress: 100 } })).toEqual({
      percent: 100,
      state: 'completed',
    });
  });
  it('reports the first failed stage', () => {
    expect(aggregateProgress({ download: { status: 'failed', progress: 0 }, separation: { status: 'failed', progress: 0 } })).toMatchObject({
      state: 'failed',
      failedStage: 'download',
    });
    expect(describeStage({ status: 'downloading', progress: 42.7 })).toBe('downloading 42%');
    expect(describeStage({ status: 'failed', progress: 0, error: 'too long' })).toBe('failed: too long');
  });
});

describe('status references', () => {
  it('accepts a track id or a Spotify track link', () => {
    expect(parseTrackRef(ID.toUpperCase())).toEqual({ trackId: ID });
    expect(parseTrackRef('spotify:track:4uLU6hMCjMI75M1A2tKUQC')).toEqual({ spotifyId: '4uLU6hMCjMI75M1A2tKUQC' });
    expect(parseTrackRef('hello')).toHaveProperty('reason');
  });
});
