import type { APIEmbed } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { analysisFacts, KEY_CONFIDENCE_LOW, keyWords, type AnalysisRowLike } from '../../src/domain/analysisWording.ts';
import { planAttachments, type StemFile } from '../../src/domain/attachmentPlan.ts';
import {
  COLORS,
  DISCORD_LIMITS,
  FAILURE_ADVICE,
  NO_FILE_SERVER,
  describeBrightness,
  describeEnergy,
  describeKey,
  describeTempo,
  fitEmbed,
  formatClock,
  payloadHash,
  progressBar,
  renderAnalysisDm,
  renderDmFallback,
  renderMovedNotice,
  renderRequestMessage,
  renderStemsMessages,
  renderUserMistake,
  truncate,
  truncateLines,
  type MessagePayload,
  type RequestView,
  type StemsView,
  type UserMistake,
} from '../../src/domain/messages.ts';
import { MODELS } from '../../src/domain/modelCatalog.ts';
import { parseSpotifyTrack } from '../../src/domain/spotifyInput.ts';
import { embedTotal, expectWithinLimits, hasLoneSurrogate } from '../support/discordLimits.ts';

const USER = '100000000000000001';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const TRACK = {
  title: 'Teardrop',
  artist: 'Massive Attack',
  album: 'Mezzanine',
  artUrl: 'https://i.scdn.co/image/ab67616d0000b273',
  durationSeconds: 330,
  url: 'https://open.spotify.com/track/67Hna13dNDkZvBpTXRIaOJ',
};


describe('text helpers', () => {
  it('truncate keeps short text, cuts long text to exactly the limit with an ellipsis', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
    expect(truncate('abcd', 1)).toBe('…');
    expect(truncate('abcd', 0)).toBe('');
  });

  it('truncate never splits an emoji (surrogate pair)', () => {
    const text = `abc😀def`; // the emoji is code units 3-4
    for (let max = 1; max < text.length; max += 1) {
      const cut = truncate(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(hasLoneSurrogate(cut)).toBe(false);
    }
    expect(truncate(text, 5)).toBe('abc…');
  });

  it('truncateLines keeps whole lines and marks the cut', () => {
    expect(truncateLines('one\ntwo', 7)).toBe('one\ntwo');
    expect(truncateLines('one\ntwo\nthree', 10)).toBe('one\ntwo\n…');
    expect(truncateLines('a-very-long-first-line\nb', 10)).toBe('a-very-lo…');
  });

  it.each([
    [0, '0:00'],
    [59.4, '0:59'],
    [59.5, '1:00'],
    [245, '4:05'],
    [3599, '59:59'],
    [3600, '1:00:00'],
    [3725, '1:02:05'],
  ])('formatClock(%s) = %s', (seconds, text) => {
    expect(formatClock(seconds)).toBe(text);
  });

  it.each([null, undefined, Number.NaN, -1, Number.POSITIVE_INFINITY])('formatClock(%s) is undefined', (seconds) => {
    expect(formatClock(seconds)).toBeUndefined();
  });

  it.each([
    [0, '▱▱▱▱▱▱▱▱▱▱ 0%'],
    [9, '▱▱▱▱▱▱▱▱▱▱ 9%'],
    [10, '▰▱▱▱▱▱▱▱▱▱ 10%'],
    [42.9, '▰▰▰▰▱▱▱▱▱▱ 42%'],
    [99, '▰▰▰▰▰▰▰▰▰▱ 99%'],
    [100, '▰▰▰▰▰▰▰▰▰▰ 100%'],
    [150, '▰▰▰▰▰▰▰▰▰▰ 100%'],
    [-5, '▱▱▱▱▱▱▱▱▱▱ 0%'],
    [Number.NaN, '▱▱▱▱▱▱▱▱▱▱ 0%'],
  ])('progressBar(%s) = %s', (percent, bar) => {
    expect(progressBar(percent)).toBe(bar);
  });
});

describe('fitEmbed', () => {
  it('leaves an embed that fits unchanged', () => {
    const embed: APIEmbed = { title: 't', description: 'd', fields: [{ name: 'n', value: 'v' }], footer: { text: 'f' } };
    expect(fitEmbed(embed)).toEqual(embed);
  });

  it('cuts each piece to its own limit', () => {
    const fitted = fitEmbed({
      title: 'T'.repeat(300),
      description: Array.from({ length: 600 }, (_, i) => `line ${i}`).join('\n'),
      fields: [{ name: 'N'.repeat(300), value: 'V'.repeat(2000) }],
      footer: { text: 'F'.repeat(3000) },
      author: { name: 'A'.repeat(300) },
    });
    expect(fitted.title).toHaveLength(256);
    expect(fitted.description!.length).toBeLessThanOrEqual(4096);
    expect(fitted.description!.endsWith('\n…')).toBe(true);
    expect(fitted.fields![0]!.name).toHaveLength(256);
    expect(fitted.fields![0]!.value).toHaveLength(1024);
    expect(embedTotal(fitted)).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
  });

  it('keeps 24 of 30 fields and says how many were left out', () => {
    const fitted = fitEmbed({ fields: Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, value: 'v' })) });
    expect(fitted.fields).toHaveLength(25);
    expect(fitted.fields![23]!.name).toBe('f23');
    expect(fitted.fields![24]).toEqual({ name: '…', value: 'and 6 more' });
  });

  it('keeps exactly 25 fields as they are', () => {
    expect(fitEmbed({ fields: Array.from({ length: 25 }, () => ({ name: 'n', value: 'v' })) }).fields).toHaveLength(25);
  });

  it('replaces empty field names and values (Discord refuses them)', () => {
    expect(fitEmbed({ fields: [{ name: '', value: '' }] }).fields).toEqual([{ name: '\u200b', value: '\u200b' }]);
  });

  it('meets the 6000 total by shortening the description, then dropping fields', () => {
    const big: APIEmbed = {
      title: 'T'.repeat(256),
      description: Array.from({ length: 800 }, () => 'description').join('\n'),
      fields: Array.from({ length: 25 }, (_, i) => ({ name: `field ${i}`, value: 'v'.repeat(1000) })),
      footer: { text: 'footer' },
    };
    const fitted = fitEmbed(big);
    expect(embedTotal(fitted)).toBeLessThanOrEqual(6000);
    expect(fitted.title).toBe(big.title);
    expect(fitted.fields!.length).toBeLessThan(25);
    expect(fitted.fields![0]!.name).toBe('field 0');
  });

  it('cuts the footer last when nothing else is left to cut', () => {
    const fitted = fitEmbed({ title: 'T'.repeat(256), footer: { text: 'F'.repeat(2048) }, author: { name: 'A'.repeat(256) }, fields: [] });
    expect(embedTotal(fitted)).toBe(256 + 2048 + 256); // already under 6000: unchanged
    const tight = fitEmbed({
      title: 'T'.repeat(256),
      description: 'x',
      footer: { text: 'F'.repeat(2048) },
      fields: Array.from({ length: 4 }, () => ({ name: 'n', value: 'v'.repeat(1024) })),
    });
    expect(embedTotal(tight)).toBeLessThanOrEqual(6000);
  });
});

function view(fields: Partial<RequestView> = {}): RequestView {
  return {
    requesterId: USER,
    track: TRACK,
    model: 'htdemucs',
    stages: {
      download: { status: 'downloading', progress: 42 },
      separation: { status: 'queued', progress: 0 },
      analysis: { status: 'queued', progress: 0 },
    },
    reactions: 'none',
    ...fields,
  };
}
const embedOf = (payload: MessagePayload) => payload.embeds![0]!;

describe('renderRequestMessage', () => {
  it('shows the track card, the requester and one line per stage', () => {
    const payload = renderRequestMessage(view());
    const embed = embedOf(payload);
    expect(embed).toMatchObject({
      title: 'Teardrop',
      url: TRACK.url,
      thumbnail: { url: TRACK.artUrl },
      color: COLORS.running,
      footer: { text: 'Overall 8%' },
    });
    expect(embed.description!.split('\n')).toEqual([
      'by **Massive Attack** · *Mezzanine* · 5:30',
      `Requested by <@${USER}>`,
      '',
      '⬇️ **Download** — ▰▰▰▰▱▱▱▱▱▱ 42%',
      '🎚️ **Separate** · htdemucs — waiting for the download',
      '📊 **Analyze** — waiting for the download',
    ]);
    expect(payload.allowed_mentions).toEqual({ parse: [], users: [USER] });
    expectWithinLimits(payload);
  });

  it('says queued for a stage whose input is ready, and shows running stages as bars', () => {
    const embed = embedOf(
      renderRequestMessage(
        view({
          stages: {
            download: { status: 'completed', progress: 100 },
            separation: { status: 'processing', progress: 73 },
            analysis: { status: 'queued', progress: 0 },
          },
        }),
      ),
    );
    expect(embed.description).toContain('✅ **Download** — done');
    expect(embed.description).toContain('🎚️ **Separate** · htdemucs — ▰▰▰▰▰▰▰▱▱▱ 73%');
    expect(embed.description).toContain('📊 **Analyze** — queued');
  });

  it('says when the model is not chosen yet, and offers the catalog emoji with the window end', () => {
    const payload = renderRequestMessage(view({ model: null, reactions: 'choose', choiceEndsAt: T0 + 30_000 }));
    const description = embedOf(payload).description!;
    expect(description).toContain('🎚️ **Separate** · model not chosen yet');
    expect(description).toContain(`**React to choose the model** <t:${T0 / 1000 + 30}:R> (default \`htdemucs\`):`);
    for (const model of MODELS) expect(description).toContain(`${model.emoji} \`${model.name}\` — ${model.description}`);
  });

  it('offers re-processing with the other models after the window', () => {
    const description = embedOf(renderRequestMessage(view({ reactions: 'reprocess' }))).description!;
    expect(description).toContain('React with another model to get its stems too:');
    for (const model of MODELS) expect(description).toContain(`${model.emoji} \`${model.name}\``);
  });

  it('offers nothing when reactions are off', () => {
    const description = embedOf(renderRequestMessage(view())).description!;
    for (const model of MODELS) expect(description).not.toContain(model.emoji);
  });

  it.each(['download', 'separation', 'analysis'] as const)('explains a failed %s and what to do', (stage) => {
    const stages: RequestView['stages'] = {
      download: { status: 'completed', progress: 100 },
      separation: { status: 'completed', progress: 100 },
      analysis: { status: 'completed', progress: 100 },
      [stage]: { status: 'failed', progress: 10, error: 'The audio could not be decoded: bad header' },
    };
    const embed = embedOf(renderRequestMessage(view({ stages })));
    expect(embed.description).toContain('— failed: The audio could not be decoded: bad header\n↳ ' + FAILURE_ADVICE[stage]);
    expect(embed).toMatchObject({ color: COLORS.failed, footer: { text: `Stopped: the ${stage} failed` } });
  });

  it('says "no reason given" for a failure without one', () => {
    const stages: RequestView['stages'] = { download: { status: 'failed', progress: 0, error: null } };
    expect(embedOf(renderRequestMessage(view({ stages }))).description).toContain('failed: no reason given');
  });

  it('shows a completed request, noting work served from storage', () => {
    const stages: RequestView['stages'] = {
      download: { status: 'completed', progress: 100, cached: true },
      separation: { status: 'completed', progress: 100 },
      analysis: { status: 'completed', progress: 100 },
    };
    const embed = embedOf(renderRequestMessage(view({ stages })));
    expect(embed).toMatchObject({ color: COLORS.completed, footer: { text: 'Done' } });
    expect(embed.description).toContain('✅ **Download** — done (from earlier work)');
  });

  it('is grey while everything is queued, and leaves out stages an analyze request does not have', () => {
    const embed = embedOf(renderRequestMessage(view({ stages: { download: { status: 'queued', progress: 0 }, analysis: { status: 'queued', progress: 0 } } })));
    expect(embed.color).toBe(COLORS.queued);
    expect(embed.description).not.toContain('Separate');
    expect(embed.description).toContain('⬇️ **Download** — queued');
  });

  it('copes with a bare track: no byline, no art, an empty title', () => {
    const embed = embedOf(renderRequestMessage(view({ track: { title: '  ' } })));
    expect(embed.title).toBe('Untitled');
    expect(embed.description!.split('\n')[0]).toBe(`Requested by <@${USER}>`);
    expect(embed.thumbnail).toBeUndefined();
    expect(embed.url).toBeUndefined();
  });

  it('escapes outside text and refuses non-http links', () => {
    const embed = embedOf(
      renderRequestMessage(
        view({
          track: { title: '**Bold** [x](https://evil)', artist: '@everyone _x_', album: 'A\nB', artUrl: 'javascript:alert(1)', url: 'ftp://x' },
        }),
      ),
    );
    expect(embed.title).toBe('\\*\\*Bold\\*\\* \\[x\\]\\(https:\u200b//evil\\)');
    expect(embed.description).toContain('by **@\u200beveryone \\_x\\_** · *A B*');
    expect(embed.thumbnail).toBeUndefined();
    expect(embed.url).toBeUndefined();
  });

  it('escapes a failure reason that quotes outside text (the YouTube search for a Spotify title), and hides server paths', () => {
    const error = 'YouTube found nothing for "x - [Verify your account](https://evil.example) @everyone <@1>". Try /srv/sfa/var/uploads/abc.mp3';
    const embed = embedOf(renderRequestMessage(view({ stages: { download: { status: 'failed', progress: 0, error } } })));
    expect(embed.description).toContain(
      'failed: YouTube found nothing for "x - \\[Verify your account\\]\\(https:\u200b//evil.example\\) @\u200beveryone \\<@1\\>". Try abc.mp3',
    );
  });

  it('stays within Discord limits with a huge title and error', () => {
    const payload = renderRequestMessage(
      view({
        track: { ...TRACK, title: '😀'.repeat(400), artist: 'a'.repeat(5000), album: 'b'.repeat(5000) },
        stages: { download: { status: 'failed', progress: 0, error: 'x'.repeat(10_000) } },
      }),
    );
    expectWithinLimits(payload);
    expect(hasLoneSurrogate(embedOf(payload).title!)).toBe(false);
  });
});

describe('renderMovedNotice', () => {
  it('points at the new message and clears the embed', () => {
    expect(renderMovedNotice('https://discord.com/channels/1/2/3')).toEqual({
      content: 'Progress continues in a new message: https://discord.com/channels/1/2/3',
      embeds: [],
      allowed_mentions: { parse: [] },
    });
    expect(renderMovedNotice(null).content).toBe('Progress continues in a new message below.');
  });
});

describe('renderStemsMessages', () => {
  let n = 0;
  const stem = (name: string, seconds: number): StemFile => ({
    id: `00000000-0000-4000-8000-${String((n += 1)).padStart(12, '0')}`,
    name,
    durationSeconds: seconds,
    sizeBytes: 176_400 * seconds + 44,
    format: 'wav',
  });
  const link = (id: string, expiresAt = T0 + 86_400_000) => ({ url: `https://bot.example.com/files/${id}?exp=1&sig=ab`, expiresAt });
  function stemsView(stems: StemFile[], fields: Partial<StemsView> = {}): StemsView {
    return { requesterId: USER, track: TRACK, model: 'htdemucs', plan: planAttachments(stems), links: {}, ...fields };
  }

  it('attaches four short stems in one message that pings the requester', () => {
    const stems = ['drums', 'bass', 'other', 'vocals'].map((name) => stem(name, 30));
    const payloads = renderStemsMessages(stemsView(stems));
    expect(payloads).toHaveLength(1);
    const [first] = payloads;
    expect(first!.content).toBe(`<@${USER}> your stems are ready (\`htdemucs\`).`);
    expect(first!.allowed_mentions).toEqual({ parse: [], users: [USER] });
    expect(first!.attachments).toEqual([
      { id: 0, filename: 'drums.wav', description: 'drums (WAV)' },
      { id: 1, filename: 'bass.wav', description: 'bass (WAV)' },
      { id: 2, filename: 'other.wav', description: 'other (WAV)' },
      { id: 3, filename: 'vocals.wav', description: 'vocals (WAV)' },
    ]);
    const embed = embedOf(first!);
    expect(embed.description!.split('\n')).toEqual([
      '• 🟠 **drums** — attached (WAV)',
      '• 🔵 **bass** — attached (WAV)',
      '• 🟢 **other** — attached (WAV)',
      '• 🟣 **vocals** — attached (WAV)',
    ]);
    expect(embed).toMatchObject({ title: 'Stems · Teardrop', url: TRACK.url, footer: { text: 'htdemucs' } });
    expectWithinLimits(first!);
  });

  it('links what is too long, offers full quality beside a smaller copy, and says when links expire', () => {
    const long = stem('vocals', 2000);
    const medium = stem('drums', 300);
    const payloads = renderStemsMessages(
      stemsView([medium, long], { links: { [long.id]: link(long.id, T0 + 7_200_000), [medium.id]: link(medium.id, T0 + 3_600_000) } }),
    );
    const description = embedOf(payloads[0]!).description!;
    expect(description).toContain(`• 🟠 **drums** — attached (MP3 192 kb/s) · [full quality WAV](${link(medium.id).url})`);
    expect(description).toContain(`• 🟣 **vocals** — [download WAV](${link(long.id).url}) (too long to attach)`);
    expect(description).toContain(`Links expire <t:${T0 / 1000 + 3600}:R>.`);
    expect(payloads[0]!.attachments).toEqual([{ id: 0, filename: 'drums.mp3', description: 'drums (MP3 192 kb/s)' }]);
  });

  it('says a stem is too large to attach when its duration is unknown', () => {
    const unknown: StemFile = { ...stem('bass', 10), durationSeconds: null, sizeBytes: 50_000_000 };
    const description = embedOf(renderStemsMessages(stemsView([unknown], { links: { [unknown.id]: link(unknown.id) } }))[0]!).description!;
    expect(description).toContain('(too large to attach)');
  });

  it('explains a missing file server instead of a link', () => {
    const long = stem('vocals', 2000);
    const description = embedOf(renderStemsMessages(stemsView([long]))[0]!).description!;
    expect(description).toBe(`• 🟣 **vocals** — ${NO_FILE_SERVER}`);
    expect(description).not.toContain('expire');
  });

  it('attaches only the smaller copy when no link can be made for the original', () => {
    const medium = stem('drums', 300);
    expect(embedOf(renderStemsMessages(stemsView([medium]))[0]!).description).toBe('• 🟠 **drums** — attached (MP3 192 kb/s)');
  });

  it('splits 11 stems into two messages; only the first pings and lists', () => {
    const stems = Array.from({ length: 11 }, (_, i) => stem(`part${i}`, 5));
    const payloads = renderStemsMessages(stemsView(stems));
    expect(payloads).toHaveLength(2);
    expect(payloads[0]!.attachments).toHaveLength(10);
    expect(embedOf(payloads[0]!).footer?.text).toBe('htdemucs · part 1/2');
    expect(embedOf(payloads[0]!).description!.split('\n')).toHaveLength(11);
    expect(payloads[1]).toEqual({
      content: 'Stems 2/2',
      attachments: [{ id: 0, filename: 'part10.wav', description: 'part10 (WAV)' }],
      allowed_mentions: { parse: [] },
    });
    payloads.forEach(expectWithinLimits);
  });

  it('still sends one message when there are no stems', () => {
    const payloads = renderStemsMessages(stemsView([]));
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.attachments).toEqual([]);
    expect(embedOf(payloads[0]!).description).toBe('The separation produced no stems.');
  });

  it('words a cached answer differently', () => {
    const payloads = renderStemsMessages(stemsView([stem('vocals', 10)], { cached: true, model: 'htdemucs_ft' }));
    expect(payloads[0]!.content).toBe(`<@${USER}> here are the stems (\`htdemucs\\_ft\`).`);
    expect(embedOf(payloads[0]!).footer?.text).toBe('htdemucs_ft · from earlier work');
  });
});

describe('analysis wording', () => {
  // The engine's result is the truth: alternatives, Camelot and confidence come from its features map.
  const facts = (row: AnalysisRowLike) => analysisFacts(row);

  it.each([
    [{ tempo: 128, features: { tempo_alternatives: [{ bpm: 64, relation: 'half', confidence: 0.3 }] } }, '**128 BPM** (or half 64)'],
    [
      { tempo: 123.456, features: { tempo_alternatives: [{ bpm: 61.728, relation: 'half' }, { bpm: 246.912, relation: 'double' }] } },
      '**123.5 BPM** (or half 61.7, double 246.9)',
    ],
    [{ tempo: 600, features: { tempo_alternatives: [] } }, '**600 BPM**'],
    [{ tempo: 90 }, '**90 BPM**'],
    [{ tempo: 90, features: { tempo_alternatives: [{ bpm: 'x', relation: 'half' }] } }, '**90 BPM**'],
    [{ tempo: null }, 'not detected'],
    [{ tempo: 0 }, 'not detected'],
    [{ tempo: Number.NaN }, 'not detected'],
  ])('tempo %j -> %s', (row, text) => {
    expect(describeTempo(facts(row))).toBe(text);
  });

  it.each([
    [{ key: 'F# minor', features: { camelot: '11A', key_confidence: 0.6 } }, '**F# minor** · Camelot 11A'],
    [{ key: 'C major', features: { camelot: '8B' } }, '**C major** · Camelot 8B'],
    [
      { key: 'A minor', features: { camelot: '8A', key_confidence: 0.1, key_alternatives: [{ key: 'C major', score: 0.8 }] } },
      '**A minor** · Camelot 8A · maybe C major',
    ],
    [{ key: 'A minor', features: { camelot: '8A', key_confidence: 0.1, key_alternatives: [] } }, '**A minor** · Camelot 8A'],
    [{ key: 'A minor', features: { camelot: 'X', key_confidence: 0.9 } }, '**A minor**'],
    [{ key: 'atonal_*' }, '**atonal\\_\\***'],
    [{ key: '' }, 'not detected'],
    [{ key: null }, 'not detected'],
  ])('key %j -> %s', (row, text) => {
    expect(describeKey(facts(row))).toBe(text);
  });

  it('shows the runner-up only below KEY_CONFIDENCE_LOW', () => {
    const row = (confidence: number) => ({ key: 'A minor', features: { key_confidence: confidence, key_alternatives: [{ key: 'C major', score: 0.5 }] } });
    expect(keyWords(facts(row(KEY_CONFIDENCE_LOW - 0.001)))?.maybe).toBe('C major');
    expect(keyWords(facts(row(KEY_CONFIDENCE_LOW)))?.maybe).toBeNull();
  });

  it.each([
    [1, 'very high (0 dBFS RMS)'],
    [1.2, 'very high (0 dBFS RMS)'],
    [0.85, 'very high (-9 dBFS RMS)'],
    [0.8499, 'high (-9 dBFS RMS)'],
    [0.75, 'high (-15 dBFS RMS)'],
    [0.7499, 'moderate (-15 dBFS RMS)'],
    [0.6, 'moderate (-24 dBFS RMS)'],
    [0.5999, 'low (-24 dBFS RMS)'],
    [0.4, 'low (-36 dBFS RMS)'],
    [0.3999, 'very low (-36 dBFS RMS)'],
    [0, 'very low (≤ -60 dBFS RMS)'],
    [-1, 'very low (≤ -60 dBFS RMS)'],
    [null, 'not measured'],
    [Number.NaN, 'not measured'],
  ])('energy %s -> %s', (energy, text) => {
    expect(describeEnergy(energy)).toBe(text);
  });

  it.each([
    [0, 'very dark'],
    [999, 'very dark'],
    [1000, 'warm'],
    [1999, 'warm'],
    [2000, 'balanced'],
    [2999, 'balanced'],
    [3000, 'bright'],
    [3999.4, 'bright'],
    [4000, 'very bright'],
  ])('brightness at %s Hz -> %s', (hz, words) => {
    expect(describeBrightness(hz)).toBe(`${words} (spectral centroid ${Math.round(hz)} Hz)`);
  });

  it.each([null, Number.NaN, -1])('brightness of %s is not measured', (hz) => {
    expect(describeBrightness(hz)).toBe('not measured');
  });
});

describe('the analysis DM and its channel fallback', () => {
  const analysis = analysisFacts({
    tempo: 80.7,
    key: 'A minor',
    energy: 0.8,
    spectral_centroid: 1850,
    features: { camelot: '8A', key_confidence: 0.4, tempo_alternatives: [{ bpm: 40.35, relation: 'half' }, { bpm: 161.4, relation: 'double' }] },
  });

  it('lists tempo, key, energy and brightness, with the picture attached', () => {
    const payload = renderAnalysisDm({ requesterId: USER, track: TRACK, analysis, imageFileName: 'overview.png' });
    expect(payload.content).toBe('Your analysis of **Teardrop** is ready.');
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    const embed = embedOf(payload);
    expect(embed.fields).toEqual([
      { name: 'Tempo', value: '**80.7 BPM** (or half 40.4, double 161.4)', inline: true },
      { name: 'Key', value: '**A minor** · Camelot 8A', inline: true },
      { name: 'Energy', value: 'high (-12 dBFS RMS)', inline: true },
      { name: 'Brightness', value: 'warm (spectral centroid 1850 Hz)', inline: true },
    ]);
    expect(embed.image).toEqual({ url: 'attachment://overview.png' });
    expect(embed.description).toContain('Picture attached');
    expect(embed.title).toBe('Analysis · Teardrop');
    expect(payload.attachments).toEqual([{ id: 0, filename: 'overview.png', description: 'Waveform, energy curve and chroma' }]);
    expectWithinLimits(payload);
  });

  it('works without a picture and with nothing measured', () => {
    const payload = renderAnalysisDm({
      requesterId: USER,
      track: { title: 'x' },
      analysis: analysisFacts({ tempo: null, key: null, energy: null, spectral_centroid: null }),
    });
    const embed = embedOf(payload);
    expect(payload.attachments).toBeUndefined();
    expect(embed.image).toBeUndefined();
    expect(embed.description).toBeUndefined();
    expect(embed.fields!.map((f) => f.value)).toEqual(['not detected', 'not detected', 'not measured', 'not measured']);
  });

  it('mentions (and pings) only the requester in the channel when DMs are closed', () => {
    const payload = renderDmFallback({ requesterId: USER, track: TRACK, analysis, imageFileName: 'overview.png' });
    expect(payload.content).toMatch(new RegExp(`^<@${USER}> I couldn't send you a DM \\(your DMs are closed to this server\\)`));
    expect(payload.allowed_mentions).toEqual({ parse: [], users: [USER] });
    expect(embedOf(payload).fields).toHaveLength(4);
    expect(payload.attachments).toHaveLength(1);
  });
});

describe('user mistakes', () => {
  const playlistReason = (() => {
    const parsed = parseSpotifyTrack('https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M');
    if (parsed.ok) throw new Error('expected a playlist to be refused');
    return parsed.reason;
  })();

  it.each<[UserMistake, string | RegExp]>([
    [{ kind: 'bad_input', reason: playlistReason }, playlistReason],
    [{ kind: 'no_input' }, 'Give me a song: a Spotify track link in `url:`, a direct link to an audio file, or attach the file.'],
    [{ kind: 'two_inputs' }, 'Give me one song at a time: either a link in `url:` or an attached file, not both.'],
    [{ kind: 'unknown_model', model: 'htdemux' }, /^Unknown model "htdemux"\. Valid models: htdemucs, htdemucs_ft, htdemucs_6s, mdx_extra/],
    [{ kind: 'not_audio', fileName: 'cat_*.png' }, 'The attachment "cat\\_\\*.png" is not an audio file I can read. Attach an MP3, WAV, FLAC, OGG or M4A file.'],
    [{ kind: 'file_too_large', sizeBytes: 250_000_000, maxBytes: 200_000_000 }, 'That file is 250 MB; the limit is 200 MB. Send a shorter or compressed version.'],
    [{ kind: 'too_long', durationSeconds: 1500, maxSeconds: 1200 }, 'That track is 25:00 long; the limit is 20:00. Try a shorter track or an edit of it.'],
    [{ kind: 'over_limit', message: 'You already have 2 separations running.' }, 'You already have 2 separations running.'],
  ])('%o', (mistake, text) => {
    const payload = renderUserMistake(mistake);
    expect(payload.flags).toBe(64); // ephemeral
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    const body = payload.content!.replace(/^⚠️ /, '');
    if (typeof text === 'string') expect(body).toBe(text);
    else expect(body).toMatch(text);
    expectWithinLimits(payload);
  });

  it('cuts an overlong reason to the 2000-character content limit', () => {
    expect(renderUserMistake({ kind: 'bad_input', reason: 'x'.repeat(5000) }).content!.length).toBeLessThanOrEqual(2000);
  });
});

describe('payloadHash', () => {
  it('is the same for the same content in any key order, and ignores undefined keys', () => {
    const a: MessagePayload = { content: 'x', embeds: [{ title: 't', color: 1 }], allowed_mentions: { parse: [] } };
    const b = { allowed_mentions: { parse: [] }, embeds: [{ color: 1, title: 't' }], content: 'x', flags: undefined } as MessagePayload;
    expect(payloadHash(a)).toBe(payloadHash(b));
    expect(payloadHash(a)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('differs when anything a user sees differs', () => {
    const base = renderRequestMessage(view());
    const moved = renderRequestMessage(view({ stages: { ...view().stages, download: { status: 'downloading', progress: 43 } } }));
    expect(payloadHash(base)).not.toBe(payloadHash(moved));
    expect(payloadHash({ content: 'a', allowed_mentions: { parse: [] } })).not.toBe(payloadHash({ content: 'b', allowed_mentions: { parse: [] } }));
  });

  it('is stable across renders of the same state (no edit needed)', () => {
    expect(payloadHash(renderRequestMessage(view()))).toBe(payloadHash(renderRequestMessage(view())));
  });
});
