import { describe, expect, it } from 'vitest';
import {
  CONTAINER_OVERHEAD_BYTES,
  DEFAULT_ATTACHMENT_LIMIT,
  LADDER,
  MAX_ATTACHMENTS_PER_MESSAGE,
  acceptsOriginal,
  afterTooLarge,
  attachmentFileName,
  chooseDelivery,
  estimatedBytes,
  groupIntoMessages,
  maxDurationSeconds,
  planAttachments,
  resolveLimit,
  type StemFile,
  type StoredFormat,
} from '../../src/domain/attachmentPlan.ts';

const MiB = 1024 * 1024;
const LIMIT = 10 * MiB;
/** 16-bit stereo 44.1 kHz WAV: 176,400 bytes a second plus a 44-byte header. */
const wavBytes = (seconds: number) => 176_400 * seconds + 44;

let counter = 0;
function stem(fields: Partial<StemFile> & { durationSeconds?: number | null } = {}): StemFile {
  const durationSeconds = fields.durationSeconds === undefined ? 200 : fields.durationSeconds;
  counter += 1;
  return {
    id: `stem-${counter}`,
    name: 'vocals',
    format: 'wav',
    sizeBytes: wavBytes(durationSeconds ?? 200),
    durationSeconds,
    ...fields,
  };
}
const wav = (seconds: number) => stem({ durationSeconds: seconds });
const encodingOf = (d: ReturnType<typeof chooseDelivery>) => (d.kind === 'attach' ? d.encoding : `link:${d.reason}`);

describe('resolveLimit', () => {
  it('uses the 10 MiB default when the interaction gave none (DMs)', () => {
    expect(DEFAULT_ATTACHMENT_LIMIT).toBe(10 * MiB);
    expect(resolveLimit(undefined)).toBe(LIMIT);
    expect(resolveLimit(null)).toBe(LIMIT);
  });

  it('uses the interaction limit, down to 1 byte', () => {
    expect(resolveLimit(25 * MiB)).toBe(25 * MiB);
    expect(resolveLimit(1)).toBe(1);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s', (limit) => {
    expect(() => resolveLimit(limit)).toThrow(/positive whole number of bytes/);
  });
});

describe('size estimates', () => {
  it('are bit rate x duration + 3 % + 16 KiB, rounded up', () => {
    // 320 kb/s = 40,000 B/s; 60 s -> 2,400,000 B; +3 % = 2,472,000; + 16,384.
    expect(estimatedBytes('mp3_320', 60)).toBe(2_488_384);
    // 96 kb/s = 12,000 B/s; 1 s -> 12,360 + 16,384.
    expect(estimatedBytes('opus_96', 1)).toBe(28_744);
    expect(estimatedBytes('mp3_128', 0)).toBe(CONTAINER_OVERHEAD_BYTES);
  });

  // Worked by hand: (10,485,760 - 16,384) / (bytes per second x 1.03), rounded down.
  it.each([
    ['mp3_320', 254], // 4:14 (about 4:20 without the margin)
    ['mp3_192', 423], // 7:03
    ['mp3_128', 635], // 10:35
    ['opus_96', 847], // 14:07
  ] as const)('%s fits up to %i s in 10 MiB', (encoding, seconds) => {
    expect(maxDurationSeconds(encoding, LIMIT)).toBe(seconds);
    expect(estimatedBytes(encoding, seconds)).toBeLessThanOrEqual(LIMIT);
    expect(estimatedBytes(encoding, seconds + 1)).toBeGreaterThan(LIMIT);
  });

  it('fits nothing when the limit is below the overhead', () => {
    expect(maxDurationSeconds('opus_96', CONTAINER_OVERHEAD_BYTES - 1)).toBe(0);
  });
});

describe('acceptsOriginal', () => {
  it.each<[StoredFormat, StoredFormat | undefined, boolean]>([
    ['wav', undefined, true],
    ['flac', undefined, true],
    ['mp3', undefined, true],
    ['wav', 'wav', true],
    ['wav', 'flac', true], // lossless for lossless
    ['flac', 'wav', true],
    ['mp3', 'wav', true], // never inflate an MP3
    ['mp3', 'mp3', true],
    ['wav', 'mp3', false], // they asked for the small file
    ['flac', 'mp3', false],
  ])('stored %s, asked %s -> %s', (stored, requested, expected) => {
    expect(acceptsOriginal(stored, requested)).toBe(expected);
  });
});

describe('chooseDelivery', () => {
  it('sends the stored file when it is exactly at the limit, and transcodes it 1 byte over', () => {
    const atLimit = stem({ durationSeconds: 59, sizeBytes: LIMIT });
    expect(chooseDelivery(atLimit, LIMIT)).toMatchObject({
      kind: 'attach',
      encoding: 'original',
      bytes: LIMIT,
      fileName: 'vocals.wav',
      originalAsLink: false,
    });
    const over = stem({ durationSeconds: 59, sizeBytes: LIMIT + 1 });
    expect(chooseDelivery(over, LIMIT)).toMatchObject({
      kind: 'attach',
      encoding: 'mp3_320',
      bytes: estimatedBytes('mp3_320', 59),
      fileName: 'vocals.mp3',
      originalAsLink: true,
    });
  });

  // A WAV stem of each duration under the default limit: each threshold, and one second past it.
  it.each([
    [59, 'original'], // 10,407,644 B of WAV fits
    [60, 'mp3_320'], // 10,584,044 B does not
    [254, 'mp3_320'],
    [255, 'mp3_192'],
    [423, 'mp3_192'],
    [424, 'mp3_128'],
    [635, 'mp3_128'],
    [636, 'opus_96'],
    [847, 'opus_96'],
    [848, 'link:too_large'],
    [3600, 'link:too_large'],
  ])('a %i s WAV stem -> %s', (seconds, expected) => {
    expect(encodingOf(chooseDelivery(wav(seconds), LIMIT))).toBe(expected);
  });

  it('names Opus files .ogg and keeps the stored extension for links', () => {
    expect(chooseDelivery(wav(700), LIMIT)).toMatchObject({ encoding: 'opus_96', fileName: 'vocals.ogg' });
    expect(chooseDelivery(stem({ format: 'flac', durationSeconds: 900, sizeBytes: 90 * MiB }), LIMIT)).toMatchObject({
      kind: 'link',
      fileName: 'vocals.flac',
    });
  });

  it('sends lossless files as they are under a boosted server limit', () => {
    expect(encodingOf(chooseDelivery(wav(280), 50 * MiB))).toBe('original');
    expect(encodingOf(chooseDelivery(wav(600), 500 * MiB))).toBe('original');
  });

  it('scales the thresholds with the limit', () => {
    const limit = 25 * MiB;
    const max320 = maxDurationSeconds('mp3_320', limit);
    expect(encodingOf(chooseDelivery(wav(max320), limit))).toBe('mp3_320');
    expect(encodingOf(chooseDelivery(wav(max320 + 1), limit))).toBe('mp3_192');
  });

  it('transcodes to MP3 when the user asked for MP3, even if the WAV fits', () => {
    expect(encodingOf(chooseDelivery(wav(30), LIMIT, 'mp3'))).toBe('mp3_320');
    expect(encodingOf(chooseDelivery(wav(30), LIMIT, 'wav'))).toBe('original');
    expect(encodingOf(chooseDelivery(wav(30), LIMIT, 'flac'))).toBe('original');
  });

  it('sends a stored MP3 as is when it fits, whatever format was asked', () => {
    const mp3 = stem({ format: 'mp3', durationSeconds: 200, sizeBytes: 8_000_000 });
    expect(chooseDelivery(mp3, LIMIT, 'mp3')).toMatchObject({ encoding: 'original', fileName: 'vocals.mp3' });
    expect(encodingOf(chooseDelivery(mp3, LIMIT, 'wav'))).toBe('original');
  });

  it('does not re-encode an oversized MP3 320 to MP3 320 (no smaller), but steps to 192', () => {
    const mp3 = stem({ format: 'mp3', durationSeconds: 300, sizeBytes: 300 * 40_000 });
    expect(encodingOf(chooseDelivery(mp3, LIMIT))).toBe('mp3_192');
  });

  it('links a low-bit-rate file that no encoding would shrink', () => {
    // 1000 s at 96 kb/s: every estimate (with its margin) is larger than the file itself.
    const small = stem({ format: 'mp3', durationSeconds: 1000, sizeBytes: 12_000_000 });
    expect(chooseDelivery(small, LIMIT)).toMatchObject({ kind: 'link', reason: 'too_large', fileName: 'vocals.mp3' });
  });

  it('without a duration: the stored file if it fits, else a link', () => {
    expect(encodingOf(chooseDelivery(stem({ durationSeconds: null, sizeBytes: 1000 }), LIMIT))).toBe('original');
    expect(encodingOf(chooseDelivery(stem({ durationSeconds: null, sizeBytes: LIMIT + 1 }), LIMIT))).toBe(
      'link:unknown_duration',
    );
  });

  it('handles an empty, zero-length stem', () => {
    expect(encodingOf(chooseDelivery(stem({ durationSeconds: 0, sizeBytes: 0 }), 1))).toBe('original');
  });

  it('links everything under a 1-byte limit', () => {
    expect(encodingOf(chooseDelivery(wav(1), 1))).toBe('link:too_large');
  });

  it.each([
    [{ sizeBytes: -1 }, /size must be a whole number of bytes/],
    [{ sizeBytes: 1.5 }, /size must be a whole number of bytes/],
    [{ durationSeconds: -1 }, /duration must be seconds >= 0 or null/],
    [{ durationSeconds: Number.NaN }, /duration must be seconds/],
    [{ durationSeconds: Number.POSITIVE_INFINITY }, /duration must be seconds/],
  ])('refuses a bad stem %o', (fields, message) => {
    expect(() => chooseDelivery(stem({ sizeBytes: 1000, ...fields }), LIMIT)).toThrow(message);
  });

  it('refuses a bad limit', () => {
    expect(() => chooseDelivery(wav(10), 0)).toThrow(/positive whole number/);
  });
});

describe('attachmentFileName', () => {
  it.each([
    ['vocals', 'wav', 'vocals.wav'],
    ['Beyoncé – Halo / vocals', 'mp3', 'Beyonce_Halo_vocals.mp3'],
    ['../../etc/passwd', 'wav', 'etc_passwd.wav'],
    ['...', 'wav', 'stem.wav'],
    ['', 'ogg', 'stem.ogg'],
    ['声', 'flac', 'stem.flac'],
    ['a'.repeat(100), 'wav', `${'a'.repeat(64)}.wav`],
  ])('%j -> %s', (name, extension, expected) => {
    expect(attachmentFileName(name, extension)).toBe(expected);
  });
});

describe('planAttachments', () => {
  it('plans nothing for no stems', () => {
    expect(planAttachments([])).toEqual({ limitBytes: LIMIT, stems: [], messages: [], links: [] });
  });

  it('puts four stems in one message, in order, under the default limit', () => {
    const stems = ['drums', 'bass', 'other', 'vocals'].map((name) => stem({ name, durationSeconds: 30 }));
    const plan = planAttachments(stems, { limitBytes: undefined });
    expect(plan.limitBytes).toBe(LIMIT);
    expect(plan.messages).toHaveLength(1);
    expect(plan.messages[0]!.map((d) => d.fileName)).toEqual(['drums.wav', 'bass.wav', 'other.wav', 'vocals.wav']);
    expect(plan.links).toEqual([]);
  });

  it.each([
    [10, [10]],
    [11, [10, 1]],
    [20, [10, 10]],
    [21, [10, 10, 1]],
  ])('groups %i attachments as %j', (count, sizes) => {
    const plan = planAttachments(Array.from({ length: count }, () => wav(10)));
    expect(plan.messages.map((m) => m.length)).toEqual(sizes);
    expect(plan.messages.flat().map((d) => d.stem.id)).toEqual(plan.stems.map((d) => d.stem.id));
    expect(MAX_ATTACHMENTS_PER_MESSAGE).toBe(10);
  });

  it('leaves links out of the messages and lists them separately, keeping input order in stems', () => {
    const stems = [wav(10), wav(2000), wav(300), wav(5000), ...Array.from({ length: 9 }, () => wav(10))];
    const plan = planAttachments(stems, { limitBytes: LIMIT });
    expect(plan.stems.map((d) => d.stem.id)).toEqual(stems.map((s) => s.id));
    expect(plan.links.map((d) => d.stem.id)).toEqual([stems[1]!.id, stems[3]!.id]);
    expect(plan.messages.map((m) => m.length)).toEqual([10, 1]);
    expect(plan.messages.flat().some((d) => d.stem.id === stems[1]!.id)).toBe(false);
  });

  it('plans every stem as a link when the limit fits none', () => {
    const plan = planAttachments([wav(10), wav(20)], { limitBytes: 1 });
    expect(plan.messages).toEqual([]);
    expect(plan.links).toHaveLength(2);
  });

  it('applies the requested format to every stem', () => {
    const plan = planAttachments([wav(10), stem({ format: 'mp3', sizeBytes: 400_000, durationSeconds: 10 })], {
      requestedFormat: 'mp3',
    });
    expect(plan.stems.map(encodingOf)).toEqual(['mp3_320', 'original']);
  });

  it('regroups after a step turned an attachment into a link', () => {
    const plan = planAttachments(Array.from({ length: 11 }, () => wav(10)));
    const changed = plan.stems.map((d, i) => (i === 0 ? afterTooLarge('opus_96', d.stem) : d));
    expect(groupIntoMessages(changed).map((m) => m.length)).toEqual([10]);
  });
});

describe('afterTooLarge (Discord said 413)', () => {
  it('steps down one encoding at a time and ends with a link', () => {
    const s = wav(200);
    const steps: string[] = [];
    let current: ReturnType<typeof afterTooLarge> = chooseDelivery(s, LIMIT);
    expect(encodingOf(current)).toBe('mp3_320');
    steps.push(encodingOf(afterTooLarge('original', s)));
    for (let i = 0; i < 5; i += 1) {
      current = afterTooLarge(current.kind === 'attach' ? current.encoding : 'link', s);
      steps.push(encodingOf(current));
    }
    expect(steps).toEqual(['mp3_320', 'mp3_192', 'mp3_128', 'opus_96', 'link:too_large', 'link:too_large']);
  });

  it.each(LADDER.map((encoding, i) => [encoding, LADDER[i + 1] ?? 'link:too_large']))('%s -> %s', (previous, next) => {
    expect(encodingOf(afterTooLarge(previous, wav(100)))).toBe(next);
  });

  it('skips encodings that would not shrink a stored MP3 320', () => {
    const mp3 = stem({ format: 'mp3', durationSeconds: 200, sizeBytes: 200 * 40_000 });
    expect(encodingOf(afterTooLarge('original', mp3))).toBe('mp3_192');
  });

  it('links when the duration is unknown', () => {
    expect(encodingOf(afterTooLarge('original', stem({ durationSeconds: null, sizeBytes: 5000 })))).toBe(
      'link:unknown_duration',
    );
  });

  it('offers the stored file as a link beside a stepped-down attachment', () => {
    expect(afterTooLarge('original', wav(100))).toMatchObject({ kind: 'attach', originalAsLink: true, fileName: 'vocals.mp3' });
  });
});
