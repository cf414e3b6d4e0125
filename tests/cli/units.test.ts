/**
 * The CLI's small pieces without a database: argument checks (what is refused
 * with exit 2 before anything is written), the row-observation merge of the
 * follower, and what the progress view writes to a terminal or a pipe.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGcArgs, DEFAULT_GRACE_MINUTES } from '../../src/cli/commands/gc.ts';
import { parseSeparateArgs } from '../../src/cli/commands/separate.ts';
import { mergeObservation } from '../../src/cli/follow.ts';
import { chooseMode, createProgressView } from '../../src/cli/progressView.ts';
import type { StageState } from '../../src/domain/cliProgress.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sfa-cli-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseSeparateArgs', () => {
  it('defaults: htdemucs, wav, no --out, workers in this process', () => {
    expect(parseSeparateArgs(['song.wav'])).toEqual({
      ok: true,
      options: { input: 'song.wav', model: 'htdemucs', format: 'wav', json: false, noWorker: false },
    });
  });

  it('reads every option, short forms too', () => {
    expect(parseSeparateArgs(['-m', 'htdemucs_6s', '-o', 'out', '-f', 'flac', '--json', '--no-worker', 'https://example.com/a.mp3'])).toEqual({
      ok: true,
      options: { input: 'https://example.com/a.mp3', model: 'htdemucs_6s', format: 'flac', out: 'out', json: true, noWorker: true },
    });
    expect(parseSeparateArgs(['--help'])).toEqual({ ok: 'help' });
  });

  it.each([
    [[], /missing/],
    [['a.wav', 'b.wav'], /unexpected argument 'b.wav' \(expected at most 1 <file\|url>\)/],
    [['a.wav', '--model', 'mdx'], /Unknown model "mdx"/],
    [['a.wav', '--format', 'ogg'], /--format must be one of wav, flac, mp3/],
    [['a.wav', '--twostems'], /Unknown option/],
    [['a.wav', '--out', ''], /--out needs a directory/],
    [['https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M', '--tracks', '3-1'], /runs backwards/],
    [['https://open.spotify.com/album/37i9dQZF1DXcBWIGoYBM5M', '--limit', '0'], /--limit needs a whole number of tracks, at least 1/],
    [['a.wav', '--tracks', '1'], /--tracks is for Spotify album and playlist links/],
    [['ftp://example.com/a.mp3'], /.+/],
  ])('%j is a usage error', (args, message) => {
    const r = parseSeparateArgs(args);
    expect(r.ok).toBe(false);
    if (r.ok === false) expect(r.message).toMatch(message);
  });

  it('an album or playlist link is a record, with --limit and --tracks', () => {
    expect(parseSeparateArgs(['spotify:user:x:playlist:37i9dQZF1DXcBWIGoYBM5M', '--limit', '4', '--tracks', '5-7,1'])).toEqual({
      ok: true,
      options: {
        input: 'spotify:user:x:playlist:37i9dQZF1DXcBWIGoYBM5M',
        record: { ok: true, kind: 'playlist', id: '37i9dQZF1DXcBWIGoYBM5M', url: 'https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M' },
        choice: { limit: 4, tracks: [1, 5, 6, 7] },
        model: 'htdemucs',
        format: 'wav',
        json: false,
        noWorker: false,
      },
    });
  });

  it('--out naming an existing file is a usage error; an existing folder or a new path is fine', () => {
    const file = path.join(dir, 'file');
    writeFileSync(file, 'x');
    expect(parseSeparateArgs(['a.wav', '--out', file])).toMatchObject({ ok: false, message: expect.stringContaining('is not a directory') });
    expect(parseSeparateArgs(['a.wav', '--out', dir])).toMatchObject({ ok: true });
    expect(parseSeparateArgs(['a.wav', '--out', path.join(dir, 'new')])).toMatchObject({ ok: true });
  });
});

describe('parseGcArgs', () => {
  it('defaults to stale tmp only, with the grace period', () => {
    expect(parseGcArgs([])).toEqual({ ok: true, options: { graceMs: DEFAULT_GRACE_MINUTES * 60_000, dryRun: false, json: false } });
  });
  it('reads limits', () => {
    expect(parseGcArgs(['--max-age', '30', '--max-bytes', '20G', '--grace', '0', '--dry-run', '--json'])).toEqual({
      ok: true,
      options: { maxAgeMs: 30 * 86_400_000, maxBytes: 20 * 1024 ** 3, graceMs: 0, dryRun: true, json: true },
    });
  });
  it.each([
    [['--max-bytes', 'lots'], /--max-bytes: "lots" is not a size/],
    [['--max-age', 'old'], /--max-age: "old" is not a number of days/],
    [['--grace', '-5'], /--grace/],
    [['--grace=-5'], /--grace: "-5" is not a number of minutes/],
    [['--max-age'], /argument missing/],
    [['extra'], /unexpected argument 'extra'/],
  ])('%j is a usage error', (args, message) => {
    const r = parseGcArgs(args);
    expect(r.ok).toBe(false);
    if (r.ok === false) expect(r.message).toMatch(message);
  });
});

describe('mergeObservation (the follower keeps the newest view of a row)', () => {
  const s = (status: StageState['status'], progress: number, error?: string): StageState => ({ status, progress, ...(error ? { error } : {}) });
  it('status only moves forward; progress only up within a status', () => {
    expect(mergeObservation(s('queued', 0), s('processing', 5))).toEqual(s('processing', 5));
    expect(mergeObservation(s('processing', 40), s('processing', 30))).toEqual(s('processing', 40));
    expect(mergeObservation(s('processing', 40), s('processing', 60))).toEqual(s('processing', 60));
    expect(mergeObservation(s('processing', 40), s('queued', 0))).toEqual(s('processing', 40)); // a late NOTIFY
    expect(mergeObservation(s('processing', 40), s('failed', 40, 'boom'))).toEqual(s('failed', 40, 'boom'));
  });
  it('a settled row never changes again', () => {
    expect(mergeObservation(s('completed', 100), s('failed', 0, 'x'))).toEqual(s('completed', 100));
    expect(mergeObservation(s('failed', 3, 'a'), s('completed', 100))).toEqual(s('failed', 3, 'a'));
  });
  it('keeps an engine note while the percentage stands, drops it once it moves or the row settles', () => {
    const noted = { ...s('processing', 0), note: 'preparing model for this CPU' };
    expect(mergeObservation(s('processing', 0), noted)).toEqual(noted);
    expect(mergeObservation(s('queued', 0), noted)).toEqual(noted);
    expect(mergeObservation(noted, s('processing', 0))).toEqual(noted); // a row re-read carries no note
    expect(mergeObservation(noted, s('processing', 4))).toEqual(s('processing', 4));
    expect(mergeObservation(noted, s('failed', 0, 'boom'))).toEqual(s('failed', 0, 'boom'));
  });
  it('keeps what the follower added (stored)', () => {
    expect(mergeObservation({ ...s('queued', 0), stored: true }, s('completed', 100))).toEqual({ status: 'completed', progress: 100, stored: true });
  });
});

describe('progress view', () => {
  const stream = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, isTTY, columns: 80, write: (t: string) => chunks.push(t) };
  };

  it('chooses bars on a terminal, lines in a pipe, nothing in a pipe with --json', () => {
    expect(chooseMode(stream(true), false, {})).toBe('bars');
    expect(chooseMode(stream(true), true, {})).toBe('bars');
    expect(chooseMode(stream(false), false, {})).toBe('lines');
    expect(chooseMode(stream(false), true, {})).toBe('none');
    expect(chooseMode(stream(true), false, { TERM: 'dumb' })).toBe('lines');
  });

  it('bars are redrawn in place: cursor up over the previous bars, clear, draw', () => {
    const out = stream(true);
    const view = createProgressView('bars', out);
    view.update({ download: { status: 'downloading', progress: 50 }, separate: { status: 'queued', progress: 0 } });
    view.update({ download: { status: 'completed', progress: 100 }, separate: { status: 'processing', progress: 10 } });
    expect(out.chunks[0]).toBe(`download [${'#'.repeat(12)}${'.'.repeat(12)}]  50% downloading\nseparate [${'.'.repeat(24)}]   0% queued\n`);
    expect(out.chunks[1]).toBe('\x1b[2A\r\x1b[J');
    expect(out.chunks[2]).toContain('100% completed\n');
    expect(out.chunks[2]).toContain('  10% processing\n');
  });

  it('a log line goes above the bars, which are drawn again below it; after finish nothing is redrawn', () => {
    const out = stream(true);
    const view = createProgressView('bars', out);
    view.update({ analyze: { status: 'processing', progress: 20 } });
    view.log('[worker] something');
    expect(out.chunks.slice(1)).toEqual(['\x1b[1A\r\x1b[J', '[worker] something\n', out.chunks[0]]);
    view.finish();
    view.update({ analyze: { status: 'completed', progress: 100 } });
    view.log('done');
    expect(out.chunks.at(-1)).toBe('done\n');
    expect(out.chunks.join('')).not.toContain('completed');
  });

  it('lines mode writes plain lines only; none mode writes only log lines', () => {
    const lines = stream(false);
    const view = createProgressView('lines', lines);
    view.update({ download: { status: 'queued', progress: 0 } });
    view.update({ download: { status: 'queued', progress: 0 } });
    view.update({ download: { status: 'downloading', progress: 35 } });
    expect(lines.chunks).toEqual(['download: queued\n', 'download: downloading 35%\n']);

    const quiet = stream(false);
    const none = createProgressView('none', quiet);
    none.update({ download: { status: 'completed', progress: 100 } });
    none.log('[worker] warning');
    expect(quiet.chunks).toEqual(['[worker] warning\n']);
  });
});
