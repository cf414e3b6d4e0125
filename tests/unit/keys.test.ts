import { describe, expect, it } from 'vitest';
import {
  PITCH_CLASSES,
  camelot,
  camelotForKeyName,
  keyName,
  normalizeKeyName,
  parseCamelot,
  parseKeyName,
  tempoAlternatives,
  type Mode,
} from '../../src/domain/keys.ts';

// The standard Camelot wheel, written out by hand (names as DJ software prints them).
const WHEEL: [code: string, name: string, canonical: string][] = [
  ['1A', 'Ab minor', 'G# minor'],
  ['1B', 'B major', 'B major'],
  ['2A', 'Eb minor', 'D# minor'],
  ['2B', 'F# major', 'F# major'],
  ['3A', 'Bb minor', 'A# minor'],
  ['3B', 'Db major', 'C# major'],
  ['4A', 'F minor', 'F minor'],
  ['4B', 'Ab major', 'G# major'],
  ['5A', 'C minor', 'C minor'],
  ['5B', 'Eb major', 'D# major'],
  ['6A', 'G minor', 'G minor'],
  ['6B', 'Bb major', 'A# major'],
  ['7A', 'D minor', 'D minor'],
  ['7B', 'F major', 'F major'],
  ['8A', 'A minor', 'A minor'],
  ['8B', 'C major', 'C major'],
  ['9A', 'E minor', 'E minor'],
  ['9B', 'G major', 'G major'],
  ['10A', 'B minor', 'B minor'],
  ['10B', 'D major', 'D major'],
  ['11A', 'F# minor', 'F# minor'],
  ['11B', 'A major', 'A major'],
  ['12A', 'C# minor', 'C# minor'],
  ['12B', 'E major', 'E major'],
];

const ALL_KEYS = (['major', 'minor'] as Mode[]).flatMap((mode) => PITCH_CLASSES.map((_, pitchClass) => ({ pitchClass, mode })));

describe('key names', () => {
  it('uses sharps for the twelve pitch classes', () => {
    expect(PITCH_CLASSES.join(' ')).toBe('C C# D D# E F F# G G# A A# B');
  });

  it('names keys the way the analysis engine reports them', () => {
    expect(keyName(6, 'minor')).toBe('F# minor');
    expect(keyName(0, 'major')).toBe('C major');
  });

  it.each(ALL_KEYS)('round-trips $pitchClass $mode through keyName/parseKeyName', (key) => {
    expect(parseKeyName(keyName(key.pitchClass, key.mode))).toEqual(key);
  });

  it.each([
    ['Bb major', 10, 'major'],
    ['E♭ minor', 3, 'minor'],
    ['F♯ minor', 6, 'minor'],
    ['f# MINOR', 6, 'minor'],
    ['F#m', 6, 'minor'],
    ['Bm', 11, 'minor'],
    ['Bbm', 10, 'minor'],
    ['Bb', 10, 'major'],
    ['C', 0, 'major'],
    ['CM', 0, 'major'],
    ['Cmaj', 0, 'major'],
    ['A min', 9, 'minor'],
    ['Cb major', 11, 'major'],
    ['E# minor', 5, 'minor'],
    ['  D  major ', 2, 'major'],
  ] as const)('parses %j', (text, pitchClass, mode) => {
    expect(parseKeyName(text)).toEqual({ pitchClass, mode });
  });

  it.each(['', 'H major', 'C dorian', 'C## major', 'major', '8B', 'C major minor', 'Cx'])('rejects %j', (text) => {
    expect(parseKeyName(text)).toBeUndefined();
    expect(normalizeKeyName(text)).toBeUndefined();
  });

  it('normalises flats to the sharp spelling', () => {
    expect(normalizeKeyName('Db major')).toBe('C# major');
  });

  it.each([-1, 12, 1.5, Number.NaN])('refuses pitch class %s', (pc) => {
    expect(() => keyName(pc, 'major')).toThrow(RangeError);
    expect(() => camelot(pc, 'minor')).toThrow(RangeError);
  });
});

describe('Camelot wheel', () => {
  it('covers all 24 keys exactly once', () => {
    expect(new Set(WHEEL.map(([code]) => code)).size).toBe(24);
    expect(new Set(WHEEL.map(([, , canonical]) => canonical)).size).toBe(24);
    expect(new Set(ALL_KEYS.map((k) => camelot(k.pitchClass, k.mode).code)).size).toBe(24);
  });

  it.each(WHEEL)('%s is %s', (code, name, canonical) => {
    const key = parseKeyName(name)!;
    expect(keyName(key.pitchClass, key.mode)).toBe(canonical);
    const c = camelot(key.pitchClass, key.mode);
    expect(c.code).toBe(code);
    expect(`${c.number}${c.letter}`).toBe(code);
    expect(camelotForKeyName(name)).toBe(code);
    expect(camelotForKeyName(canonical)).toBe(code);
    expect(parseCamelot(code)).toEqual(key);
    expect(parseCamelot(code.toLowerCase())).toEqual(key);
  });

  it('puts relative major and minor on the same number, and fifths one step apart', () => {
    for (const { pitchClass } of ALL_KEYS) {
      expect(camelot(pitchClass, 'minor').number).toBe(camelot((pitchClass + 3) % 12, 'major').number);
      const next = camelot((pitchClass + 7) % 12, 'major').number;
      expect(next).toBe((camelot(pitchClass, 'major').number % 12) + 1);
    }
  });

  it.each(['0A', '13B', '8C', 'B8', '', '8', '08A', '8X'])('rejects code %j', (code) => {
    expect(parseCamelot(code)).toBeUndefined();
  });

  it('camelotForKeyName is undefined for unparseable names', () => {
    expect(camelotForKeyName('unknown')).toBeUndefined();
  });
});

describe('tempoAlternatives', () => {
  it.each([
    [120, 60, 240],
    [128, 64, null],
    [174, 87, null],
    [80, 40, 160],
    [79.5, null, 159],
    [125, 62.5, 250],
    [126, 63, null],
    [60, null, 120],
    [250, 125, null],
    [300, 150, null],
    [30, null, 60],
    [15, null, null],
  ])('%s BPM → half %s, double %s', (bpm, half, double) => {
    expect(tempoAlternatives(bpm)).toEqual({ half, double });
  });

  it.each([0, -120, Number.NaN, Number.POSITIVE_INFINITY])('gives nothing for %s', (bpm) => {
    expect(tempoAlternatives(bpm)).toEqual({ half: null, double: null });
  });

  it('takes a custom window', () => {
    expect(tempoAlternatives(120, { min: 70, max: 180 })).toEqual({ half: null, double: null });
    expect(tempoAlternatives(100, { min: 50, max: 200 })).toEqual({ half: 50, double: 200 });
  });
});
