import { describe, expect, it } from 'vitest';
import type { AnalysisFacts } from '../../src/domain/analysisWording.ts';
import { CSV_HEADER, batchCsv, batchCsvFileName, csvCell, renderBatchDm, renderBatchDmFallback, type BatchDmRow } from '../../src/domain/batchDm.ts';
import type { RecordCard } from '../../src/domain/batchMessage.ts';
import { COLORS, payloadHash } from '../../src/domain/messages.ts';
import { outsideCodeText } from '../../src/domain/outsideText.ts';
import { expectWithinLimits, hasLoneSurrogate } from '../support/discordLimits.ts';

const USER = '100000000000000001';

const FACTS: AnalysisFacts = {
  tempo: 120,
  tempoAlternatives: [],
  tempoConfidence: 0.9,
  key: 'A minor',
  camelot: '8A',
  keyConfidence: 0.8,
  keyAlternatives: [{ key: 'C major', score: 0.7 }],
  energy: 0.7,
  spectralCentroid: 2100,
};

const RECORD: RecordCard = {
  kind: 'album',
  name: 'Mezzanine',
  by: 'Massive Attack',
  artUrl: 'https://i.scdn.co/image/ab67616d0000b273',
  url: 'https://open.spotify.com/album/49MNmJhZQewjt06rpwp6QR',
  trackCount: 11,
  durationSeconds: 3800,
};

const row = (position: number, overrides: Partial<BatchDmRow> = {}): BatchDmRow => ({
  position,
  title: `Song ${position}`,
  artist: 'Massive Attack',
  state: 'done',
  analysis: FACTS,
  reason: null,
  ...overrides,
});

const ROWS: BatchDmRow[] = [
  row(1),
  row(2, { title: 'Teardrop', analysis: { ...FACTS, tempo: 77.04, key: 'F# minor', camelot: '11A' } }),
  row(3, { state: 'failed', analysis: null, reason: 'demucs ran out of memory' }),
  row(4, { state: 'skipped', analysis: null, reason: 'a local file' }),
  row(5, { state: 'cancelled', analysis: null }),
  row(6, { analysis: { ...FACTS, tempo: null, key: null, camelot: null } }),
];

const descriptionOf = (rows = ROWS, record = RECORD) => renderBatchDm({ record, rows }).embeds![0]!.description!;
/** The lines inside the code block. */
const tableOf = (description: string) => /```\n([\s\S]*?)\n```/.exec(description)![1]!.split('\n');

describe('renderBatchDm', () => {
  it('names the record, tabulates every finished track, lists the others, and says the CSV is attached', () => {
    const payload = renderBatchDm({ record: RECORD, rows: ROWS });
    expect(payload.content).toBe('Your album **Mezzanine** is done: the BPM and key of each track are below, and in the attached CSV.');
    const embed = payload.embeds![0]!;
    expect(embed.title).toBe('BPM and key · Mezzanine');
    expect(embed.url).toBe(RECORD.url);
    expect(embed.thumbnail).toEqual({ url: RECORD.artUrl });
    expect(embed.color).toBe(COLORS.completed);
    expect(embed.footer!.text).toBe('3 of 6 tracks finished · every track is in the attached CSV');
    expect(tableOf(embed.description!)).toEqual([
      '#  Title     BPM  Key       Camelot',
      '1  Song 1    120  A minor   8A',
      '2  Teardrop   77  F# minor  11A',
      '6  Song 6      —  —         —',
    ]);
    expect(embed.description!.split('```\n\n')[1]!.split('\n')).toEqual([
      '**Not in the table** (3 tracks)',
      '❌ `3` Song 3 — failed: demucs ran out of memory',
      '⏭️ `4` Song 4 — skipped: a local file',
      '⏹️ `5` Song 5 — cancelled',
    ]);
    expect(payload.attachments).toEqual([{ id: 0, filename: 'mezzanine-bpm-key.csv', description: 'BPM, key and Camelot code of every track' }]);
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    expectWithinLimits(payload);
  });

  it('orders rows by position whatever order they come in', () => {
    expect(tableOf(descriptionOf([...ROWS].reverse()))).toEqual(tableOf(descriptionOf()));
  });

  it('with no finished track: no table, red, says the CSV lists each outcome', () => {
    const payload = renderBatchDm({ record: RECORD, rows: [row(1, { state: 'failed', analysis: null, reason: 'x' })] });
    const embed = payload.embeds![0]!;
    expect(embed.description).not.toContain('```');
    expect(embed.description).toMatch(/^No track finished.*the CSV lists what happened to each\./);
    expect(embed.color).toBe(COLORS.failed);
    expectWithinLimits(payload);
  });

  it('a playlist says so; an untitled record still has a name', () => {
    const payload = renderBatchDm({ record: { ...RECORD, kind: 'playlist', name: '' }, rows: ROWS });
    expect(payload.content).toMatch(/^Your playlist \*\*Untitled playlist\*\* is done/);
    expect(payload.embeds![0]!.title).toBe('BPM and key · Untitled playlist');
  });

  it('ignores record links that are not http(s)', () => {
    const embed = renderBatchDm({ record: { ...RECORD, url: 'javascript:x', artUrl: 'data:image/png;base64,AA' }, rows: ROWS }).embeds![0]!;
    expect(embed.url).toBeUndefined();
    expect(embed.thumbnail).toBeUndefined();
  });

  it('is deterministic', () => {
    const a = renderBatchDm({ record: RECORD, rows: ROWS });
    const b = renderBatchDm(structuredClone({ record: RECORD, rows: ROWS }));
    expect(b).toEqual(a);
    expect(payloadHash(b)).toBe(payloadHash(a));
  });
});

describe('renderBatchDm: hostile text', () => {
  const hostile = ['```', '`a` ``b``', '@everyone', '<@123456789012345678>', '**x** [y](https://evil.example)', 'a\nb\r\nc', '\u202eevil'];

  it('cannot close the code block or add lines to the table; the text stays readable in it', () => {
    const rows = hostile.map((title, i) => row(i + 1, { title }));
    const d = descriptionOf(rows);
    expect(d.match(/```/g)).toHaveLength(2);
    const table = tableOf(d);
    expect(table).toHaveLength(hostile.length + 1);
    expect(table[1]).toMatch(/^1  ˋˋˋ /);
    // Markdown is not read inside a code block: no backslashes added there.
    expect(table[5]).toMatch(/^5  \*\*x\*\* \[y\]\(https:\/\/evil\.exam…  120/);
    expect(table[6]).toMatch(/^6  a b c /);
    expect(d).not.toContain('\u202e');
  });

  it('escapes the titles and reasons listed outside the table, and the record name', () => {
    const rows = hostile.map((title, i) => row(i + 1, { title, state: 'failed', analysis: null, reason: title }));
    const payload = renderBatchDm({ record: { ...RECORD, name: '@everyone <@123456789012345678>' }, rows });
    const text = `${payload.content}\n${payload.embeds![0]!.title}\n${payload.embeds![0]!.description}`;
    expect(text).not.toMatch(/@everyone/);
    expect(text).not.toMatch(/(?<!\\)<@\d+>/);
    expect(text).not.toMatch(/https:\/\/evil/);
    expect(text.replace(/`\d+`/g, '')).not.toMatch(/(?<!\\)`/);
    // The no-table sentence, a blank line, the heading, one line per track.
    expect(payload.embeds![0]!.description!.split('\n')).toHaveLength(hostile.length + 3);
    expect(payload.allowed_mentions).toEqual({ parse: [] });
  });

  it('outsideCodeText: one line, no backticks, invisible characters and server paths gone, cut by characters', () => {
    expect(outsideCodeText('a`b```c')).toBe('aˋbˋˋˋc');
    expect(outsideCodeText('x\u200by\u202ez\n\tw')).toBe('xyz w');
    expect(outsideCodeText('failed on /srv/sfa/uploads/x.mp3')).toBe('failed on x.mp3');
    expect(outsideCodeText('🎵🎵🎵🎵', 3)).toBe('🎵🎵…');
    expect(outsideCodeText('*_<@1>_*')).toBe('*_<@1>_*');
    expect(outsideCodeText(null)).toBe('');
  });
});

describe('renderBatchDm: always fits Discord', () => {
  const LONG = 'T'.repeat(100);

  it('10,000 finished tracks with long titles: the table is cut with "… N more in the CSV"', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i + 1, { title: LONG }));
    const payload = renderBatchDm({ record: { ...RECORD, name: LONG }, rows });
    expectWithinLimits(payload);
    const d = payload.embeds![0]!.description!;
    const shown = tableOf(d).length - 1;
    expect(shown).toBeGreaterThan(20);
    expect(d.endsWith(`\`\`\`\n… ${10_000 - shown} more in the CSV`)).toBe(true);
    expect(tableOf(d)[1]).toBe(`    1  ${'T'.repeat(27)}…  120  A minor  8A`);
  });

  it('10,000 tracks that mostly did not finish: both parts cut, within the limits', () => {
    const reasons = ['failed', 'skipped', 'cancelled'] as const;
    const rows = Array.from({ length: 10_000 }, (_, i) =>
      i % 10 === 0 ? row(i + 1, { title: LONG }) : row(i + 1, { title: `*${LONG}*`, state: reasons[i % 3]!, analysis: null, reason: 'r'.repeat(300) }),
    );
    const payload = renderBatchDm({ record: RECORD, rows });
    expectWithinLimits(payload);
    const d = payload.embeds![0]!.description!;
    expect(d).toMatch(/```\n… \d+ more in the CSV\n\n\*\*Not in the table\*\* \(9000 tracks\)\n/);
    expect(d).toMatch(/\n… and \d+ more in the CSV$/);
    const listed = d.split('**Not in the table**')[1]!.split('\n').filter((l) => /^(❌|⏭️|⏹️) /.test(l)).length;
    expect(Number(/… and (\d+) more in the CSV$/.exec(d)![1])).toBe(9000 - listed);
  });

  it('emoji titles are never split', () => {
    const rows = Array.from({ length: 500 }, (_, i) => row(i + 1, { title: '🎵'.repeat(60), state: i % 2 ? 'done' : 'failed', reason: '🎸'.repeat(100) }));
    const payload = renderBatchDm({ record: { ...RECORD, name: '🎶'.repeat(300) }, rows });
    expectWithinLimits(payload);
    for (const text of [payload.content!, payload.embeds![0]!.title!, payload.embeds![0]!.description!]) expect(hasLoneSurrogate(text)).toBe(false);
  });
});

describe('renderBatchDmFallback', () => {
  it('is the same table in the channel, mentioning and pinging only the requester', () => {
    const payload = renderBatchDmFallback({ record: RECORD, rows: ROWS, requesterId: USER });
    expect(payload.content).toMatch(new RegExp(`^<@${USER}> I couldn't send you a DM \\(your DMs are closed to this server\\), so here are the BPM and key of \\*\\*Mezzanine\\*\\*\\.`));
    expect(payload.content).toMatch(/allow direct messages from server members/);
    expect(payload.allowed_mentions).toEqual({ parse: [], users: [USER] });
    expect(payload.embeds).toEqual(renderBatchDm({ record: RECORD, rows: ROWS }).embeds);
    expect(payload.attachments).toEqual(renderBatchDm({ record: RECORD, rows: ROWS }).attachments);
    expectWithinLimits(payload);
  });

  it('a hostile record name cannot mention anyone else', () => {
    const payload = renderBatchDmFallback({ record: { ...RECORD, name: '<@999999999999999999> @here' }, rows: ROWS, requesterId: USER });
    expect(payload.content!.match(/(?<!\\)<@\d+>/g)).toEqual([`<@${USER}>`]);
    expect(payload.content).not.toMatch(/@here/);
  });
});

describe('batchCsv', () => {
  const lines = (csv: string) => csv.split('\r\n');

  it('has the header, one row per track in record order, CRLF line ends', () => {
    const csv = batchCsv(RECORD, [...ROWS].reverse());
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(lines(csv)).toEqual([
      CSV_HEADER.join(','),
      '1,Song 1,Massive Attack,120.0,A minor,8A,0.8,done,',
      '2,Teardrop,Massive Attack,77.0,F# minor,11A,0.8,done,',
      '3,Song 3,Massive Attack,,,,,failed,demucs ran out of memory',
      '4,Song 4,Massive Attack,,,,,skipped,a local file',
      '5,Song 5,Massive Attack,,,,,cancelled,',
      '6,Song 6,Massive Attack,,,,0.8,done,',
      '',
    ]);
    expect(CSV_HEADER.join(',')).toBe('position,title,artist,bpm,key,camelot,key_confidence,status,note');
  });

  it('numbers are plain: BPM with one decimal, the key confidence rounded to 3 places', () => {
    const csv = batchCsv(RECORD, [row(1, { analysis: { ...FACTS, tempo: 127.96, keyConfidence: 0.987654 } }), row(2, { analysis: { ...FACTS, tempo: 0.05, keyConfidence: 1e-7, keyAlternatives: [] } })]);
    expect(lines(csv)[1]).toBe('1,Song 1,Massive Attack,128.0,A minor,8A,0.988,done,');
    expect(lines(csv)[2]).toBe('2,Song 2,Massive Attack,0.1,A minor,8A,0,done,');
  });

  it('notes an uncertain key (as analysisWording words it) and a finished track without analysis', () => {
    const csv = batchCsv(RECORD, [row(1, { analysis: { ...FACTS, keyConfidence: 0.1 } }), row(2, { analysis: null, artist: null })]);
    expect(lines(csv)[1]).toBe('1,Song 1,Massive Attack,120.0,A minor,8A,0.1,done,"key uncertain, maybe C major"');
    expect(lines(csv)[2]).toBe('2,Song 2,,,,,,done,no analysis');
  });

  it('quotes cells with a comma, a quote or a line break, doubling quotes (RFC 4180)', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
    expect(csvCell('')).toBe('');
    const csv = batchCsv(RECORD, [row(1, { title: 'Hello, "World"\r\nPart 2', artist: 'A, B' })]);
    expect(csv).toBe(`${CSV_HEADER.join(',')}\r\n1,"Hello, ""World""\r\nPart 2","A, B",120.0,A minor,8A,0.8,done,\r\n`);
  });

  it.each([
    ['=HYPERLINK("http://evil","x")', `"'=HYPERLINK(""http://evil"",""x"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tTab', "'\tTab"],
    ['\rCR', `"'\rCR"`],
    ['a=b', 'a=b'],
    ['Song - Remix', 'Song - Remix'],
  ])('neutralises spreadsheet formulas: %j', (input, expected) => {
    expect(csvCell(input)).toBe(expected);
    const csv = batchCsv(RECORD, [row(1, { title: input, artist: input, state: 'failed', analysis: null, reason: input })]);
    expect(csv).toContain(`1,${expected},${expected},,,,,failed,${expected}\r\n`);
  });

  it('keeps titles as they are (no markdown escaping: a CSV is not a Discord message)', () => {
    expect(lines(batchCsv(RECORD, [row(1, { title: '*NSYNC_<@1>' })]))[1]).toMatch(/^1,\*NSYNC_<@1>,/);
  });

  it('is deterministic', () => {
    expect(batchCsv(RECORD, ROWS)).toBe(batchCsv(structuredClone(RECORD), structuredClone(ROWS)));
  });
});

describe('batchCsvFileName', () => {
  it.each([
    ['Mezzanine', 'mezzanine-bpm-key.csv'],
    ['Café del Mar, Vol. 1', 'cafe-del-mar-vol-1-bpm-key.csv'],
    ['../../etc/passwd', 'etc-passwd-bpm-key.csv'],
    ['CON', 'con-bpm-key.csv'],
    ['', 'album-bpm-key.csv'],
    ['日本語のアルバム', 'album-bpm-key.csv'],
    ['x'.repeat(300), `${'x'.repeat(60)}-bpm-key.csv`],
  ])('%j -> %s', (name, expected) => {
    expect(batchCsvFileName({ ...RECORD, name })).toBe(expected);
  });

  it('falls back to the kind', () => {
    expect(batchCsvFileName({ ...RECORD, kind: 'playlist', name: '***' })).toBe('playlist-bpm-key.csv');
  });

  it('is always a short, safe name', () => {
    for (const name of ['a/b\\c', 'x\u0000y', '.hidden', ' spaced out ', '🎵🎵', 'UPPER case']) {
      const file = batchCsvFileName({ ...RECORD, name });
      expect(file).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*\.csv$/);
      expect(file.length).toBeLessThanOrEqual(80);
    }
  });
});
