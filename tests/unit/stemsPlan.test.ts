/**
 * The pure bookkeeping of a stems delivery: the plan while messages go out,
 * what a 413 proves, the lines for undelivered stems; and ffmpeg's argv.
 */
import { describe, expect, it } from 'vitest';
import { chooseDelivery, planAttachments, type AttachDelivery, type StemFile } from '../../src/domain/attachmentPlan.ts';
import { renderStemsMessages } from '../../src/domain/messages.ts';
import { ffmpegArgs, storedFormatOf } from '../../src/bot/delivery/encode.ts';
import { currentPlan, fits, tooLargeFrom, undeliveredLine, withUndelivered } from '../../src/bot/delivery/stemsPlan.ts';

const stem = (i: number, seconds = 1): StemFile => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: `part${i}`,
  durationSeconds: seconds,
  sizeBytes: Math.round(seconds * 176_400) + 44,
  format: 'wav',
});
const LIMIT = 10 * 1024 * 1024;

describe('currentPlan', () => {
  it('keeps sent messages as they were and groups the rest after them, at most 10 per message', () => {
    const deliveries = Array.from({ length: 14 }, (_, i) => chooseDelivery(stem(i + 1), LIMIT));
    const sent = [deliveries.slice(0, 3).filter((d): d is AttachDelivery => d.kind === 'attach')];
    expect(sent[0]).toHaveLength(3);
    const plan = currentPlan(LIMIT, deliveries, sent);
    expect(plan.messages.map((m) => m.map((d) => d.stem.name))).toEqual([
      ['part1', 'part2', 'part3'],
      deliveries.slice(3, 13).map((d) => d.stem.name),
      ['part14'],
    ]);
    expect(plan.stems).toHaveLength(14);
    expect(plan.limitBytes).toBe(LIMIT);
  });

  it('lists links, and leaves them out of the messages', () => {
    const small = 300_000;
    const deliveries = [chooseDelivery(stem(1, 600), small), chooseDelivery(stem(2, 1), small)];
    expect(deliveries.map((d) => d.kind)).toEqual(['link', 'attach']);
    const plan = currentPlan(small, deliveries, []);
    expect(plan.links.map((l) => l.stem.name)).toEqual(['part1']);
    expect(plan.messages.map((m) => m.map((d) => d.stem.name))).toEqual([['part2']]);
  });

  it('equals planAttachments before anything is sent', () => {
    const stems = Array.from({ length: 12 }, (_, i) => stem(i + 1, i * 30));
    const plan = planAttachments(stems, { limitBytes: 2_000_000 });
    expect(currentPlan(plan.limitBytes, plan.stems, [])).toEqual(plan);
  });
});

describe('what a 413 proves', () => {
  it('the largest file of the refused message is too large; an earlier, smaller proof stands', () => {
    expect(tooLargeFrom([100, 900, 300], undefined)).toBe(900);
    expect(tooLargeFrom([100, 900], 500)).toBe(500);
    expect(tooLargeFrom([100, 400], 500)).toBe(400);
    expect(tooLargeFrom([], 500)).toBe(500);
    expect(tooLargeFrom([], undefined)).toBeUndefined();
  });

  it('a file fits when within the limit and smaller than any size proven too large', () => {
    expect(fits(1000, 1000, undefined)).toBe(true);
    expect(fits(1001, 1000, undefined)).toBe(false);
    expect(fits(899, 1000, 900)).toBe(true);
    expect(fits(900, 1000, 900)).toBe(false);
  });
});

describe('undelivered stems in the message', () => {
  const view = (stems: StemFile[]) => ({
    requesterId: '100000000000000001',
    track: { title: 'Song' },
    model: 'htdemucs' as const,
    plan: planAttachments(stems, {}),
    links: {},
  });

  it('are listed after the delivered stems, escaped', () => {
    const [first] = renderStemsMessages(view([stem(1), stem(2)]));
    const out = withUndelivered(first!, [{ name: 'b*a_ss', reason: 'the stem file is missing' }]);
    expect(out.embeds?.[0]?.description?.split('\n')).toEqual([
      '• ⚪ **part1** — attached (WAV)',
      '• ⚪ **part2** — attached (WAV)',
      '• **b\\*a\\_ss** — not delivered: the stem file is missing',
    ]);
    expect(out.attachments).toEqual(first!.attachments);
    expect(withUndelivered(first!, [])).toBe(first);
  });

  it('go before the links line', () => {
    const small = 300_000;
    const stems = [stem(1, 600)];
    const [first] = renderStemsMessages({
      ...view(stems),
      plan: planAttachments(stems, { limitBytes: small }),
      links: { [stems[0]!.id]: { url: 'https://files.example.org/files/x', expiresAt: 1_700_000_000_000 } },
    });
    const lines = withUndelivered(first!, [{ name: 'bass', reason: 'could not encode it' }]).embeds![0]!.description!.split('\n');
    expect(lines[1]).toBe('• **bass** — not delivered: could not encode it');
    expect(lines.at(-1)).toMatch(/^Links expire <t:\d+:R>\.$/);
  });

  it('replace "produced no stems" when every stem failed', () => {
    const [first] = renderStemsMessages(view([]));
    expect(first!.embeds![0]!.description).toContain('produced no stems');
    const out = withUndelivered(first!, [{ name: 'vocals', reason: 'the stem file is missing' }]);
    expect(out.embeds![0]!.description).toBe('• **vocals** — not delivered: the stem file is missing');
  });

  it('go into the content of a payload without an embed, within 2000 characters', () => {
    const out = withUndelivered({ content: 'Stems 2/2', allowed_mentions: { parse: [] } }, [{ name: 'x', reason: 'r' }]);
    expect(out.content).toBe('Stems 2/2\n• **x** — not delivered: r');
    const many = Array.from({ length: 100 }, (_, i) => ({ name: `stem${i}`, reason: 'y'.repeat(100) }));
    expect(withUndelivered({ allowed_mentions: { parse: [] } }, many).content!.length).toBeLessThanOrEqual(2000);
  });

  it('keeps names and reasons on one line', () => {
    expect(undeliveredLine({ name: 'a\nb', reason: 'one\ntwo' })).toBe('• **a b** — not delivered: one two');
  });
});

describe('ffmpeg argv', () => {
  it('asks for constant bit rates, drops tags, and uses absolute paths', () => {
    expect(ffmpegArgs('/d/stems/a/b/vocals.wav', '/d/tmp/x.mp3', 'mp3_192')).toEqual([
      '-nostdin', '-v', 'error', '-y', '-i', '/d/stems/a/b/vocals.wav', '-map', '0:a:0', '-vn', '-map_metadata', '-1',
      '-c:a', 'libmp3lame', '-b:a', '192k', '-f', 'mp3', '/d/tmp/x.mp3',
    ]);
    expect(ffmpegArgs('/in.flac', '/out.ogg', 'opus_96').slice(-9)).toEqual(['-c:a', 'libopus', '-b:a', '96k', '-vbr', 'off', '-f', 'ogg', '/out.ogg']);
    const relative = ffmpegArgs('-rf.wav', 'out.mp3', 'mp3_320');
    expect(relative[5]!.startsWith('/')).toBe(true);
    expect(relative.at(-1)!.startsWith('/')).toBe(true);
  });

  it('knows the stored formats by extension', () => {
    expect(['a.wav', 'b.FLAC', 'c.mp3', 'd.ogg', 'e'].map(storedFormatOf)).toEqual(['wav', 'flac', 'mp3', undefined, undefined]);
  });
});
