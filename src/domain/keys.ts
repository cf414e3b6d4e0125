/**
 * Musical key naming, Camelot notation and tempo alternatives. The analysis
 * engine reports keys as "<pitch class> <mode>" with sharps (e.g. "F# minor");
 * this module is the one place that turns that into what DJs read.
 */

export const PITCH_CLASSES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'] as const;
export type PitchClassName = (typeof PITCH_CLASSES)[number];
export type Mode = 'major' | 'minor';
export const MODES: readonly Mode[] = ['major', 'minor'];

export type Key = { pitchClass: number; mode: Mode };
export type Camelot = { number: number; letter: 'A' | 'B'; code: string };

function checkPitchClass(pitchClass: number): void {
  if (!Number.isInteger(pitchClass) || pitchClass < 0 || pitchClass > 11) {
    throw new RangeError(`pitch class must be an integer 0..11, got ${pitchClass}`);
  }
}

/** keyName(6, 'minor') === "F# minor" */
export function keyName(pitchClass: number, mode: Mode): string {
  checkPitchClass(pitchClass);
  return `${PITCH_CLASSES[pitchClass]} ${mode}`;
}

const LETTER_PC: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };

/**
 * Lenient inverse of keyName: accepts flats and the ♯/♭ signs ("Bb major",
 * "E♭ minor"), "maj"/"min"/"m" ("F#m") and a bare note as major. Unknown → undefined.
 */
export function parseKeyName(text: string): Key | undefined {
  const m = /^\s*([A-Ga-g])\s*([#♯b♭]?)\s*(major|minor|maj|min|m)?\s*$/i.exec(text);
  if (!m) return undefined;
  const [, letter = '', accidental = '', modeText = ''] = m;
  // "Bm" is B minor, but a lone lower-case "b" after the letter is a flat ("Bb").
  const shift = accidental === '#' || accidental === '♯' ? 1 : accidental ? -1 : 0;
  const pitchClass = ((LETTER_PC[letter.toUpperCase()] ?? 0) + shift + 12) % 12;
  // Upper-case "M" alone is chord shorthand for major ("CM"); "m" is minor.
  const mode: Mode = modeText === '' || modeText === 'M' || /^maj/i.test(modeText) ? 'major' : 'minor';
  return { pitchClass, mode };
}

/** Normalises any spelling parseKeyName accepts to the canonical sharp name. */
export function normalizeKeyName(text: string): string | undefined {
  const key = parseKeyName(text);
  return key && keyName(key.pitchClass, key.mode);
}

/**
 * Camelot wheel position. Majors are "B", minors "A"; one step round the wheel
 * is a fifth, and C major sits at 8B. A minor shares its number with its
 * relative major (three semitones up).
 */
export function camelot(pitchClass: number, mode: Mode): Camelot {
  checkPitchClass(pitchClass);
  const major = mode === 'major' ? pitchClass : (pitchClass + 3) % 12;
  const fifths = (major * 7) % 12; // steps round the circle of fifths from C
  const number = ((fifths + 7) % 12) + 1;
  const letter = mode === 'major' ? 'B' : 'A';
  return { number, letter, code: `${number}${letter}` };
}

/** "F# minor" → "11A"; undefined if the name cannot be parsed. */
export function camelotForKeyName(text: string): string | undefined {
  const key = parseKeyName(text);
  return key && camelot(key.pitchClass, key.mode).code;
}

/** "8B" → C major. Accepts 1..12 with A/B in either case; anything else → undefined. */
export function parseCamelot(code: string): Key | undefined {
  const m = /^\s*(1[0-2]|[1-9])\s*([AaBb])\s*$/.exec(code);
  if (!m) return undefined;
  const number = Number(m[1]);
  const mode: Mode = m[2]?.toUpperCase() === 'B' ? 'major' : 'minor';
  const fifths = (number - 1 + 5) % 12; // inverse of the mapping in camelot()
  const major = (fifths * 7) % 12; // 7 is its own inverse mod 12
  return { pitchClass: mode === 'major' ? major : (major + 9) % 12, mode };
}

export type TempoAlternatives = { half: number | null; double: number | null };
export const TEMPO_WINDOW = { min: 40, max: 250 } as const;

/**
 * Beat trackers often lock onto half or double the felt tempo, so the DM shows
 * both; each is null when it falls outside a plausible window (or the input is
 * not a positive finite BPM, e.g. silence).
 */
export function tempoAlternatives(bpm: number, window: { min: number; max: number } = TEMPO_WINDOW): TempoAlternatives {
  if (!Number.isFinite(bpm) || bpm <= 0) return { half: null, double: null };
  const inWindow = (x: number) => (x >= window.min && x <= window.max ? x : null);
  return { half: inWindow(bpm / 2), double: inWindow(bpm * 2) };
}
