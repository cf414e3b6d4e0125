import { describe, expect, it } from 'vitest';
import type { AnalysisFacts } from '../../src/domain/analysisWording.ts';
import {
  BATCH_CANCELLED_LINE,
  chooseTrackLines,
  renderBatchMessage,
  tempoKeyText,
  type BatchTrackLine,
  type BatchTrackStatus,
  type BatchView,
  type RecordCard,
} from '../../src/domain/batchMessage.ts';
import { COLORS, payloadHash, type StageView } from '../../src/domain/messages.ts';
import type { Stage } from '../../src/domain/progress.ts';
import { embedTotal, expectWithinLimits, hasLoneSurrogate } from '../support/discordLimits.ts';

const USER = '100000000000000001';
const ZW = '\u200b';

const FACTS: AnalysisFacts = {
  tempo: 120,
  tempoAlternatives: [{ bpm: 60, relation: 'half' }],
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

const running = (stages: Partial<Record<Stage, StageView>>): BatchTrackStatus => ({ state: 'running', stages });
const done = (analysis: AnalysisFacts | null = FACTS, link: string | null = null): BatchTrackStatus => ({ state: 'done', analysis, link });
const line = (position: number, status: BatchTrackStatus, title = `Song ${position}`, artist: string | null = 'Massive Attack'): BatchTrackLine => ({
  position,
  title,
  artist,
  durationSeconds: 240,
  status,
});

function view(overrides: Partial<BatchView> = {}): BatchView {
  return {
    requesterId: USER,
    kind: 'separate',
    record: RECORD,
    summary: 'the first 6 of 11 tracks',
    rest: null,
    model: 'htdemucs',
    tracks: [
      line(1, done()),
      line(2, { state: 'failed', reason: 'the download timed out' }),
      line(3, running({ download: { status: 'completed', progress: 100 }, separation: { status: 'processing', progress: 45.7 } })),
      line(4, { state: 'queued' }),
      line(5, { state: 'skipped', reason: 'a local file' }),
      line(6, { state: 'cancelled' }),
    ],
    stemsPlace: 'thread',
    state: 'running',
    ...overrides,
  };
}

const embedOf = (v: BatchView) => renderBatchMessage(v).embeds![0]!;
const descriptionOf = (v: BatchView) => embedOf(v).description!;
/** The track lines: after the header's blank line. */
const trackLinesOf = (v: BatchView) => descriptionOf(v).split('\n\n').slice(1).join('\n\n').split('\n');
const statusOf = (status: BatchTrackStatus, title = 'Song 1') => {
  const [first] = trackLinesOf(view({ tracks: [line(1, status, title)] }));
  return first!.split(' — ').slice(1).join(' — ');
};

describe('renderBatchMessage: the record card', () => {
  it('shows the record name linked to its page, its art, artists, track count and length', () => {
    const embed = embedOf(view());
    expect(embed.title).toBe('Mezzanine');
    expect(embed.url).toBe(RECORD.url);
    expect(embed.thumbnail).toEqual({ url: RECORD.artUrl });
    const [card, requested, what, counts, place, dm] = embed.description!.split('\n');
    expect(card).toBe('Album by **Massive Attack** · 11 tracks · 1:03:20');
    expect(requested).toBe(`Requested by <@${USER}>`);
    expect(what).toBe('Separating with **htdemucs**: the first 6 of 11 tracks.');
    expect(counts).toBe('1 done · 1 running · 1 queued · 1 failed · 1 skipped · 1 cancelled');
    expect(place).toBe("🧵 Each track's stems go into the thread on this message.");
    expect(dm).toMatch(/DM you a table of their BPM and key, with a CSV/);
  });

  it('a playlist names its owner; unknown length, art and page are left out', () => {
    const embed = embedOf(view({ record: { ...RECORD, kind: 'playlist', by: 'dj_anna', durationSeconds: null, artUrl: null, url: null, trackCount: 1 } }));
    expect(embed.description!.split('\n')[0]).toBe('Playlist by **dj\\_anna** · 1 track');
    expect(embed.url).toBeUndefined();
    expect(embed.thumbnail).toBeUndefined();
    const noBy = embedOf(view({ record: { ...RECORD, by: null } }));
    expect(noBy.description!.split('\n')[0]).toBe('Album · 11 tracks · 1:03:20');
  });

  it('ignores links that are not http(s)', () => {
    const embed = embedOf(view({ record: { ...RECORD, url: 'javascript:alert(1)', artUrl: 'file:///etc/passwd' } }));
    expect(embed.url).toBeUndefined();
    expect(embed.thumbnail).toBeUndefined();
  });

  it('an untitled record still has a title', () => {
    expect(embedOf(view({ record: { ...RECORD, name: '   ' } })).title).toBe('Untitled album');
    expect(embedOf(view({ record: { ...RECORD, kind: 'playlist', name: '' } })).title).toBe('Untitled playlist');
  });

  it('analyze names no model and says nothing about stems when their place is not known', () => {
    const d = descriptionOf(view({ kind: 'analyze', model: null, stemsPlace: null }));
    expect(d.split('\n')[2]).toBe('Analyzing: the first 6 of 11 tracks.');
    expect(d).not.toMatch(/thread|stems follow|links to its stems/);
  });

  it.each([
    ['thread', /thread on this message/],
    ['links', /I may not create threads in this channel, so each finished track links to its stems/],
    ['messages', /I may not create threads in this channel, so the stems follow as messages here/],
  ] as const)('says where the stems go: %s', (place, text) => {
    expect(descriptionOf(view({ stemsPlace: place }))).toMatch(text);
  });

  it('pings nobody: the requester is named in the embed only', () => {
    const payload = renderBatchMessage(view());
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    expect(payload.content).toBeUndefined();
  });
});

describe('renderBatchMessage: one compact line per track', () => {
  it('shows position, title and status, in record order', () => {
    expect(trackLinesOf(view())).toEqual([
      '✅ `01` Song 1 — 120 BPM · A minor (8A)',
      '❌ `02` Song 2 — failed: the download timed out',
      '🔄 `03` Song 3 — separating 45%',
      '⏳ `04` Song 4 — queued',
      '⏭️ `05` Song 5 — skipped: a local file',
      '⏹️ `06` Song 6 — cancelled',
    ]);
  });

  it.each<[string, Partial<Record<Stage, StageView>>, string]>([
    ['no stage yet', {}, 'starting'],
    ['download queued', { download: { status: 'queued', progress: 0 } }, 'waiting to download'],
    ['downloading', { download: { status: 'downloading', progress: 30.9 } }, 'downloading 30%'],
    ['download done, separation queued', { download: { status: 'completed', progress: 100 }, separation: { status: 'queued', progress: 0 } }, 'waiting to separate'],
    ['separating', { download: { status: 'completed', progress: 100 }, separation: { status: 'processing', progress: 99.9 } }, 'separating 99%'],
    ['a bad percent', { separation: { status: 'processing', progress: Number.NaN } }, 'separating 0%'],
    [
      'fetching the model',
      { separation: { status: 'processing', progress: 0, fetch: { model: 'htdemucs', totalBytes: 100, doneBytes: 40 } } },
      'fetching the model 40%',
    ],
    ['a slow first step', { separation: { status: 'processing', progress: 5, note: 'preparing model for this CPU' } }, 'separating 5% (first use, slower)'],
    ['analyzing', { separation: { status: 'completed', progress: 100 }, analysis: { status: 'processing', progress: 50 } }, 'analyzing 50%'],
    ['analysis waits', { separation: { status: 'completed', progress: 100 }, analysis: { status: 'queued', progress: 0 } }, 'waiting to analyze'],
    ['a stage failed', { separation: { status: 'completed', progress: 100 }, analysis: { status: 'failed', progress: 0, error: 'x' } }, 'analysis failed'],
    ['every stage completed', { download: { status: 'completed', progress: 100 }, separation: { status: 'completed', progress: 100 } }, 'finishing'],
  ])('running: %s', (_what, stages, expected) => {
    expect(statusOf(running(stages))).toBe(expected);
  });

  it.each<[string, BatchTrackStatus, string]>([
    ['tempo and key with Camelot', done(), '120 BPM · A minor (8A)'],
    ['a fractional tempo, as analysisWording rounds it', done({ ...FACTS, tempo: 127.96 }), '128 BPM · A minor (8A)'],
    ['no Camelot code', done({ ...FACTS, camelot: null }), '120 BPM · A minor'],
    ['no steady beat', done({ ...FACTS, tempo: null }), 'A minor (8A)'],
    ['no key', done({ ...FACTS, key: null }), '120 BPM'],
    ['nothing detected', done({ ...FACTS, tempo: null, key: null }), 'done'],
    ['no analysis (separate only)', done(null), 'done'],
    ['a stems link', done(null, 'https://stems.example/p/abc'), 'done · [stems](https://stems.example/p/abc)'],
    ['analysis and a link', done(FACTS, 'https://stems.example/p/abc'), '120 BPM · A minor (8A) · [stems](https://stems.example/p/abc)'],
    ['a link that is not http is left out', done(null, 'javascript:alert(1)'), 'done'],
    ['a key name the engine would not give is escaped', done({ ...FACTS, key: '**A** minor' }), '120 BPM · \\*\\*A\\*\\* minor (8A)'],
    ['failed', { state: 'failed', reason: 'demucs ran out of memory' }, 'failed: demucs ran out of memory'],
    ['failed without a reason', { state: 'failed', reason: '' }, 'failed: no reason given'],
    ['skipped', { state: 'skipped', reason: 'over the limit of 10 tracks per request' }, 'skipped: over the limit of 10 tracks per request'],
    ['cancelled', { state: 'cancelled' }, 'cancelled'],
    ['queued', { state: 'queued' }, 'queued'],
  ])('%s', (_what, status, expected) => {
    expect(statusOf(status)).toBe(expected);
  });

  it('words tempo and key as analysisWording does', () => {
    expect(tempoKeyText(FACTS)).toBe('120 BPM · A minor (8A)');
    expect(tempoKeyText({ ...FACTS, tempo: 0 })).toBe('A minor (8A)');
    expect(tempoKeyText({ ...FACTS, tempo: null, key: null })).toBeNull();
  });

  it('cuts a long failure reason', () => {
    const text = statusOf({ state: 'failed', reason: 'x'.repeat(500) });
    expect(text.length).toBeLessThanOrEqual('failed: '.length + 80);
    expect(text.endsWith('…')).toBe(true);
  });

  it("names a track's artist when it is not the record's (playlists)", () => {
    const lines = trackLinesOf(view({ tracks: [line(1, { state: 'queued' }, 'Song', 'Massive Attack'), line(2, { state: 'queued' }, 'Other', 'Portishead'), line(3, { state: 'queued' }, 'Solo', null)] }));
    expect(lines).toEqual(['⏳ `01` Song — queued', '⏳ `02` Other · Portishead — queued', '⏳ `03` Solo — queued']);
  });

  it('pads positions to the widest one', () => {
    const lines = trackLinesOf(view({ tracks: [line(7, { state: 'queued' }), line(120, { state: 'queued' })] }));
    expect(lines).toEqual(['⏳ `007` Song 7 — queued', '⏳ `120` Song 120 — queued']);
  });

  it('says so when there is no track', () => {
    expect(trackLinesOf(view({ tracks: [] }))).toEqual(['No tracks.']);
    expect(descriptionOf(view({ tracks: [] })).split('\n')[3]).toBe('no tracks');
  });
});

describe('renderBatchMessage: overall state', () => {
  it('running: blue, tracks finished and the overall percent in the footer', () => {
    const embed = embedOf(view());
    expect(embed.color).toBe(COLORS.running);
    // 5 runnable tracks: done, failed and cancelled count whole, the running one 59% (download 20 + 45.7% of separation 60, of 80), the queued one 0.
    expect(embed.footer!.text).toBe('3 of 5 tracks finished · overall 71%');
  });

  it('never shows 100% before every track finished', () => {
    const tracks = [...Array.from({ length: 300 }, (_, i) => line(i + 1, done())), line(301, running({ separation: { status: 'processing', progress: 1 } }))];
    expect(embedOf(view({ tracks })).footer!.text).toMatch(/overall 99%$/);
  });

  it('done: green, or red when no track could be done', () => {
    const finished = embedOf(view({ state: 'done', tracks: [line(1, done()), line(2, { state: 'failed', reason: 'x' })] }));
    expect(finished.color).toBe(COLORS.completed);
    expect(finished.footer!.text).toBe('Finished · 1 of 2 tracks done');
    expect(finished.description).not.toMatch(/DM you/);
    const failed = embedOf(view({ state: 'done', tracks: [line(1, { state: 'failed', reason: 'x' }), line(2, { state: 'skipped', reason: 'y' })] }));
    expect(failed.color).toBe(COLORS.failed);
    expect(failed.footer!.text).toBe('Finished · 0 of 1 track done');
  });

  it('cancelled: grey, says finished tracks are kept', () => {
    const embed = embedOf(view({ state: 'cancelled', tracks: [line(1, done()), line(2, { state: 'cancelled' })] }));
    expect(embed.color).toBe(COLORS.queued);
    expect(embed.description).toContain(`⏹️ ${BATCH_CANCELLED_LINE}`);
    expect(BATCH_CANCELLED_LINE).toBe('Cancelled at your request; finished tracks are kept.');
    expect(embed.footer!.text).toBe('Cancelled · 1 of 2 tracks done');
    expect(embed.description).not.toMatch(/DM you/);
  });

  it('hints at `tracks:` for what the limit left out, and only then', () => {
    expect(embedOf(view({ rest: '11-23' })).footer!.text).toBe(
      '3 of 5 tracks finished · overall 71% · The limit left out tracks 11-23: run /separate again with tracks: 11-23',
    );
    expect(embedOf(view({ kind: 'analyze', model: null, rest: '7' })).footer!.text).toMatch(/run \/analyze again with tracks: 7$/);
    expect(embedOf(view({ rest: null })).footer!.text).not.toMatch(/tracks:/);
  });
});

describe('renderBatchMessage: hostile titles', () => {
  const hostile = [
    '@everyone free stems',
    '<@123456789012345678> look',
    '**bold** _it_ ~~s~~ ||spoiler||',
    '[Verify](https://evil.example)',
    '```\n# heading\n> quote',
    'line one\nline two',
    '\u202etxt.exe',
  ];

  it('escapes every piece of outside text: titles, artists, record, reasons, model', () => {
    const tracks = hostile.map((title, i) => line(i + 1, i % 2 ? { state: 'failed', reason: title } : { state: 'skipped', reason: title }, title, title));
    const v = view({ tracks, record: { ...RECORD, name: hostile[0]!, by: hostile[1]! }, model: '`htdemucs`' });
    const embed = embedOf(v);
    const text = `${embed.title}\n${embed.description}`;
    expect(text).not.toMatch(/(?<!\\)<@123456789012345678>/);
    expect(text).not.toMatch(/@everyone/);
    expect(text).toContain(`@${ZW}everyone`);
    expect(text).not.toMatch(/(?<!\\)\*\*bold/);
    expect(text).not.toMatch(/(?<!\\)\[Verify/);
    expect(text).not.toMatch(/https:\/\/evil/);
    expect(text).not.toContain('\u202e');
    // The only code spans are the positions: every other backtick is escaped.
    expect(text.replace(/`\d+`/g, '')).not.toMatch(/(?<!\\)`/);
    // One line per track: newlines in titles do not add lines.
    expect(trackLinesOf(v)).toHaveLength(hostile.length);
    // Only the requester's mention is a mention.
    expect(text.match(/(?<!\\)<@\d+>/g)).toEqual([`<@${USER}>`]);
  });

  it('never splits an emoji when cutting', () => {
    const title = '🎵'.repeat(200);
    const embed = embedOf(view({ record: { ...RECORD, name: title }, tracks: [line(1, { state: 'failed', reason: '🎸'.repeat(300) }, title)] }));
    expect(hasLoneSurrogate(embed.title!)).toBe(false);
    expect(hasLoneSurrogate(embed.description!)).toBe(false);
  });
});

describe('renderBatchMessage: always fits Discord', () => {
  const LONG = 'L'.repeat(100);
  /** 10,000 tracks: the first 4,000 done, two running, failures here and there, the rest queued, some skipped. */
  function hugeTracks(title: (i: number) => string = () => LONG): BatchTrackLine[] {
    return Array.from({ length: 10_000 }, (_, i) => {
      const p = i + 1;
      const status: BatchTrackStatus =
        p === 17 || p === 9_000
          ? { state: 'failed', reason: `reason ${'r'.repeat(200)}` }
          : p % 1000 === 0
            ? { state: 'skipped', reason: 'a podcast episode' }
            : p <= 4000
              ? done(FACTS, 'https://stems.example/p/0123456789abcdef0123456789abcdef')
              : p <= 4002
                ? running({ separation: { status: 'processing', progress: 45 } })
                : { state: 'queued' };
      return line(p, status, title(i), `Artist ${LONG}`);
    });
  }

  /** Positions shown and the counts of "… N more (…)" lines: every track is one or the other, once. */
  function accounting(lines: string[]) {
    const shown = lines.map((l) => /`(\d+)`/.exec(l)?.[1]).filter((p): p is string => !!p).map(Number);
    const more = lines.map((l) => /^… (\d+) more \((.+)\)$/.exec(l)).filter((m): m is RegExpExecArray => !!m);
    return { shown, hidden: more.reduce((sum, m) => sum + Number(m[1]), 0), more: more.map((m) => m[2]!) };
  }

  it('10,000 tracks with long titles: within every limit, every track shown or counted', () => {
    const v = view({ tracks: hugeTracks(), rest: '10001-12000', record: { ...RECORD, trackCount: 12_000, name: LONG, by: LONG } });
    const payload = renderBatchMessage(v);
    expectWithinLimits(payload);
    const lines = trackLinesOf(v);
    const { shown, hidden } = accounting(lines);
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length + hidden).toBe(10_000);
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown).toEqual([...shown].sort((a, b) => a - b));
    expect(payload.embeds![0]!.footer!.text).toMatch(/tracks: 10001-12000$/);
  });

  it('prefers running and failed tracks, then those next to the work, over long runs of done and queued', () => {
    const lines = trackLinesOf(view({ tracks: hugeTracks() }));
    const { shown, more } = accounting(lines);
    expect(shown).toEqual(expect.arrayContaining([17, 4001, 4002, 9000, 4000, 4003]));
    expect(shown).not.toContain(1);
    expect(shown).not.toContain(9999);
    expect(lines[0]).toBe('… 16 more (16 done)');
    expect(more.at(-1)).toMatch(/^\d+ queued, \d+ skipped$/);
  });

  it('once everything finished, shows the record from its start', () => {
    const tracks = Array.from({ length: 500 }, (_, i) => line(i + 1, done()));
    const lines = trackLinesOf(view({ tracks, state: 'done' }));
    expect(lines[0]).toBe('✅ `001` Song 1 — 120 BPM · A minor (8A)');
    expect(lines.at(-1)).toMatch(/^… \d+ more \(\d+ done\)$/);
  });

  it('fits with the worst text: every character escaped, emoji, long record name, artists and summary', () => {
    const nasty = (i: number) => `*_~\`|>#[]()<${'🎵'.repeat(20)}${'*'.repeat(60)}${i}`;
    const v = view({
      tracks: hugeTracks(nasty),
      record: { ...RECORD, name: '*'.repeat(500), by: '_'.repeat(500) },
      summary: `tracks ${'1, '.repeat(400)}`,
      model: '*'.repeat(100),
      rest: '1-'.repeat(500),
    });
    const payload = renderBatchMessage(v);
    expectWithinLimits(payload);
    expect(hasLoneSurrogate(payload.embeds![0]!.description!)).toBe(false);
  });

  it.each([1, 2, 10, 50, 100, 1000])('%i tracks of 100-character titles fit, and the lines not shown are counted', (n) => {
    const tracks = Array.from({ length: n }, (_, i) => line(i + 1, i % 3 === 0 ? done() : { state: 'queued' }, LONG));
    const v = view({ tracks });
    expectWithinLimits(renderBatchMessage(v));
    const { shown, hidden } = accounting(trackLinesOf(v));
    expect(shown.length + hidden).toBe(n);
    expect(embedTotal(embedOf(v))).toBeLessThanOrEqual(6000);
  });
});

describe('renderBatchMessage: deterministic', () => {
  it('the same view renders the same payload, and the same hash', () => {
    const a = renderBatchMessage(view());
    const b = renderBatchMessage(structuredClone(view()));
    expect(b).toEqual(a);
    expect(payloadHash(b)).toBe(payloadHash(a));
  });

  it('a change in one track changes the hash', () => {
    const before = view();
    const after = view();
    after.tracks[2] = line(3, running({ download: { status: 'completed', progress: 100 }, separation: { status: 'processing', progress: 46 } }));
    expect(payloadHash(renderBatchMessage(after))).not.toBe(payloadHash(renderBatchMessage(before)));
  });
});

describe('chooseTrackLines', () => {
  const render = (t: BatchTrackLine) => `line ${t.position}`;

  it('shows everything that fits, in order, without a "more" line', () => {
    const tracks = [line(1, done()), line(2, { state: 'queued' })];
    expect(chooseTrackLines(tracks, 1000, render)).toEqual(['line 1', 'line 2']);
    // Exactly the length of both lines and their newline.
    expect(chooseTrackLines(tracks, 'line 1\nline 2'.length, render)).toEqual(['line 1', 'line 2']);
  });

  it('counts the cut lines in place, by state', () => {
    const tracks = [line(1, done()), line(2, done()), line(3, running({})), line(4, { state: 'queued' }), line(5, { state: 'skipped', reason: 'x' })];
    const long = (t: BatchTrackLine) => `line ${t.position} ${'x'.repeat(40)}`;
    const expected = ['… 2 more (2 done)', long(tracks[2]!), '… 2 more (1 queued, 1 skipped)'];
    expect(chooseTrackLines(tracks, expected.join('\n').length, long)).toEqual(expected);
    // One character less: the running line no longer fits; a shorter choice is made instead.
    const tighter = chooseTrackLines(tracks, expected.join('\n').length - 1, long);
    expect(tighter).toEqual(['… 4 more (2 done, 1 running, 1 queued)', long(tracks[4]!)]);
  });

  it('never exceeds the budget', () => {
    const tracks = Array.from({ length: 200 }, (_, i) => line(i + 1, i % 7 === 0 ? { state: 'failed', reason: 'x' } : i < 100 ? done() : { state: 'queued' }));
    for (const budget of [40, 100, 333, 1000, 2500]) {
      expect(chooseTrackLines(tracks, budget, render).join('\n').length).toBeLessThanOrEqual(budget);
    }
  });
});
