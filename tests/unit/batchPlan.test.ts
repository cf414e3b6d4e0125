import { describe, expect, it } from 'vitest';
import { planBatch, type RecordEntry } from '../../src/domain/batchPlan.ts';
import { checkSelection, formatTrackNumbers, MAX_TRACK_NUMBER, parseTrackSelection, trackSelectionText } from '../../src/domain/trackSelection.ts';
import { defaultRecordFolder, recordTrackFolder } from '../../src/domain/outputNames.ts';

const id = (n: number) => `track${String(n).padStart(17, '0')}`;
const album = (n: number): RecordEntry[] => Array.from({ length: n }, (_, i) => ({ position: i + 1, title: `Song ${i + 1}`, spotifyId: id(i + 1) }));

describe('parseTrackSelection', () => {
  it.each([
    ['1', [1]],
    ['1,3,5-7', [1, 3, 5, 6, 7]],
    [' 7 , 1 ,3-3', [1, 3, 7]],
    ['5-7,6,1', [1, 5, 6, 7]],
    ['2 - 4', [2, 3, 4]],
    ['007', [7]],
    [`1-${MAX_TRACK_NUMBER}`, Array.from({ length: MAX_TRACK_NUMBER }, (_, i) => i + 1)],
  ])('%j -> %j', (text, numbers) => {
    expect(parseTrackSelection(text)).toEqual({ ok: true, numbers });
  });

  it.each([
    ['', /needs track numbers, like 1,3,5-7/],
    [' , ', /needs track numbers/],
    ['1,,3', /empty entry between commas/],
    ['1,', /empty entry/],
    ['0', /start at 1/],
    ['0-3', /start at 1/],
    ['3-0', /start at 1/],
    ['7-5', /the range 7-5 runs backwards; write 5-7/],
    ['abc', /"abc" is not a track number or a range/],
    ['1.5', /"1.5" is not a track number/],
    ['-3', /"-3" is not a track number/],
    ['1-2-3', /"1-2-3" is not/],
    ['+2', /"\+2" is not/],
    ['1e3', /"1e3" is not/],
    ['one', /"one" is not/],
    [`${MAX_TRACK_NUMBER + 1}`, /more tracks than any album or playlist has/],
    ['1-99999999999', /more tracks than any album or playlist has/],
  ])('%j is refused: %s', (text, reason) => {
    const result = parseTrackSelection(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('does not echo long garbage back whole', () => {
    const result = parseTrackSelection('x'.repeat(500));
    expect(!result.ok && result.reason.length).toBeLessThan(120);
  });
});

describe('checkSelection', () => {
  it('accepts numbers inside the record', () => {
    expect(checkSelection([1, 12], 12, 'album')).toBeUndefined();
  });
  it('names one number out of range', () => {
    expect(checkSelection([3, 15], 12, 'album')).toBe('--tracks: track 15 is out of range: the album has 12 tracks');
  });
  it('names several and the one-track record', () => {
    expect(checkSelection([2, 3, 4], 1, 'playlist')).toBe('--tracks: tracks 2-4 are out of range: the playlist has 1 track');
  });
});

describe('formatTrackNumbers / trackSelectionText', () => {
  it.each([
    [[], '', ''],
    [[4], '4', '4'],
    [[1, 2], '1-2', '1-2'],
    [[1, 3], '1 and 3', '1,3'],
    [[1, 3, 5, 6, 7], '1, 3 and 5-7', '1,3,5-7'],
    [[7, 5, 6, 5, 1], '1 and 5-7', '1,5-7'],
    [[11, 12, 13, 20, 22, 23], '11-13, 20 and 22-23', '11-13,20,22-23'],
  ])('%j -> %j / %j', (numbers, sentence, option) => {
    expect(formatTrackNumbers(numbers)).toBe(sentence);
    expect(trackSelectionText(numbers)).toBe(option);
  });
});

describe('planBatch', () => {
  it('runs a whole record within the limit', () => {
    const plan = planBatch(album(8), { limit: 10 });
    expect(plan.run.map((t) => t.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(plan).toMatchObject({ skipped: [], summary: 'all 8 tracks', rest: undefined });
    expect(plan.run[0]).toEqual({ position: 1, title: 'Song 1', spotifyId: id(1) });
  });

  it('says "its one track" for a single', () => {
    expect(planBatch(album(1), { limit: 10 }).summary).toBe('its one track');
  });

  it('cuts at the limit: the first 10 of 23 tracks, the rest skipped with the reason and the selection for them', () => {
    const plan = planBatch(album(23), { limit: 10 });
    expect(plan.run.map((t) => t.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(plan.summary).toBe('the first 10 of 23 tracks');
    expect(plan.skipped).toHaveLength(13);
    expect(plan.skipped[0]).toEqual({ position: 11, title: 'Song 11', reason: 'over the limit of 10 tracks per request' });
    expect(plan.rest).toBe('11-23');
  });

  it('a limit of exactly the record runs it all', () => {
    expect(planBatch(album(10), { limit: 10 })).toMatchObject({ summary: 'all 10 tracks', skipped: [], rest: undefined });
  });

  it('narrows to a selection and words it', () => {
    const plan = planBatch(album(12), { selection: [1, 3, 5, 6, 7], limit: 10 });
    expect(plan.run.map((t) => t.position)).toEqual([1, 3, 5, 6, 7]);
    expect(plan).toMatchObject({ summary: 'tracks 1, 3 and 5-7 of 12', skipped: [], rest: undefined });
    expect(planBatch(album(12), { selection: [4], limit: 10 }).summary).toBe('track 4 of 12');
  });

  it('cuts a selection at the limit', () => {
    const plan = planBatch(album(12), { selection: [2, 4, 6, 8], limit: 3 });
    expect(plan.run.map((t) => t.position)).toEqual([2, 4, 6]);
    expect(plan.summary).toBe('the first 3 of tracks 2, 4, 6 and 8 of 12');
    expect(plan.skipped).toEqual([{ position: 8, title: 'Song 8', reason: 'over the limit of 3 tracks per request' }]);
    expect(plan.rest).toBe('8');
  });

  it('skips entries that cannot run with their reason, keeps their numbers, and fills the limit with the next ones', () => {
    const entries = album(6);
    entries[1] = { position: 2, title: 'my-demo.mp3', skip: 'a local file (not on Spotify)' };
    entries[3] = { position: 4, title: 'Episode 12', skip: 'a podcast episode' };
    const plan = planBatch(entries, { limit: 3 });
    expect(plan.run.map((t) => t.position)).toEqual([1, 3, 5]);
    expect(plan.skipped).toEqual([
      { position: 2, title: 'my-demo.mp3', reason: 'a local file (not on Spotify)' },
      { position: 4, title: 'Episode 12', reason: 'a podcast episode' },
      { position: 6, title: 'Song 6', reason: 'over the limit of 3 tracks per request' },
    ]);
    expect(plan.summary).toBe('the first 3 of 6 tracks');
    expect(planBatch(entries, { limit: 10 }).summary).toBe('4 of 6 tracks');
  });

  it('an entry without an id and without a reason still counts as unavailable', () => {
    const plan = planBatch([{ position: 1, title: 'Gone' }], { limit: 10 });
    expect(plan).toMatchObject({ run: [], skipped: [{ position: 1, title: 'Gone', reason: 'not available on Spotify' }], summary: 'none of the 1 track can run' });
  });

  it('says when nothing chosen can run', () => {
    const entries: RecordEntry[] = [
      { position: 1, title: 'A', skip: 'a podcast episode' },
      { position: 2, title: 'B', spotifyId: id(2) },
    ];
    expect(planBatch(entries, { selection: [1], limit: 10 }).summary).toBe('none of the 1 track chosen can run');
    expect(planBatch([], { limit: 10 }).summary).toBe('none of the 0 tracks can run');
  });

  it('ignores selected numbers the record does not have (checkSelection reports them first)', () => {
    expect(planBatch(album(3), { selection: [2, 9], limit: 10 }).run.map((t) => t.position)).toEqual([2]);
  });

  it('treats a limit below 1 as 1', () => {
    expect(planBatch(album(3), { limit: 0 }).run).toHaveLength(1);
  });
});

describe('record folders', () => {
  it('names a track folder NN - <slug>, padded to the record', () => {
    expect(recordTrackFolder(3, 'My Song (Live)', 12)).toBe('03 - my-song-live');
    expect(recordTrackFolder(7, '../../etc/passwd', 150)).toBe('007 - etc-passwd');
    expect(recordTrackFolder(1, '***', 1)).toBe('01 - track');
    expect(recordTrackFolder(1, null, 1)).toBe('01 - track');
    expect(() => recordTrackFolder(0, 'x', 3)).toThrow(RangeError);
  });
  it('names the default record folder', () => {
    expect(defaultRecordFolder('Café Tacvba / Re', 'album', '1A2GTWGtFfWp7KSQTwWOyo', 'htdemucs')).toBe('cafe-tacvba-re-1A2GTWGtFfWp7KSQTwWOyo-htdemucs');
    expect(defaultRecordFolder('', 'playlist', '1A2GTWGtFfWp7KSQTwWOyo', 'htdemucs')).toBe('playlist-1A2GTWGtFfWp7KSQTwWOyo-htdemucs');
    expect(() => defaultRecordFolder('x', 'album', '../x', 'htdemucs')).toThrow(RangeError);
  });
});
