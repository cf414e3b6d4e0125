"""A key-and-tempo evaluation corpus that sounds like songs, made offline.

The cadence grid of :mod:`audio_fixtures` announces its key (I-IV-V-I on a
piano). Songs do not: they start and linger on other degrees, borrow chords,
walk the bass and carry a melody that uses the whole scale. This module
writes such songs as MIDI and renders them with FluidSynth + FluidR3 GM.

Sets (each song is drawn from a seeded generator, so ``(set, split, index)``
always gives the same audio):

``pop``
    Four-chord loops that do not start on the tonic (vi-IV-I-V, I-V-vi-IV,
    IV-I-V-vi, i-VI-III-VII, VI-VII-i-i, i-VII-VI-VII ...).
``jazz``
    Seventh chords, ii-V-I, secondary dominants (VI7, III7, II7), walking
    bass, minor ii-V with the harmonic-minor V7.
``mixture``
    Modal mixture and borrowed chords: bVII, bVI, iv in major; the Dorian IV,
    the minor v and the Neapolitan in minor; V/V and V/vi.
``modulating``
    A first section in one key, then a longer section in another (up a
    tone, up a fourth, to the relative, down a minor third); labelled with
    the key of the longest section.

Per song: tempo 70-180 BPM, 20-60 s (``max_seconds`` can shorten the fast
subset), chord / bass / melody programs from :data:`PROGRAMS` with random
channel volumes (loud bass, quiet piano ...), chord rhythm (held, stabs,
arpeggio, eighths), bass style (roots, root-fifth, eighths, walking), a
scale melody, drums on (most songs) or off; most songs end on a held tonic
chord (with the melody on the tonic), the others stop mid-loop.

``split`` separates tuning from reporting: ``"dev"`` songs are for tuning an
estimator, ``"test"`` songs (different seeds, so different programs,
progressions and tempi) are what benchmarks report. The chord-tone and scale
rules are the same; the draws differ.

Rendered audio is cached by the hash of the MIDI bytes under
``.cache/key-corpus`` (gitignored), so reruns only analyse.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

import audio_fixtures as af

SR = af.SR
REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / ".cache" / "key-corpus"
SETS = ("pop", "jazz", "mixture", "modulating")
SPLIT_SEEDS = {"test": 0, "dev": 7_000}

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; V chords bring the leading tone

# Chord qualities as intervals above the root.
QUALITIES = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6),
    "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "dom7": (0, 4, 7, 10), "hdim7": (0, 3, 6, 10),
}

# Progressions: (root offset from the tonic, quality), one chord per bar.
PROGRESSIONS: dict[str, dict[str, list[list[tuple[int, str]]]]] = {
    "pop": {
        "major": [
            [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj")],  # vi IV I V
            [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")],  # I V vi IV
            [(5, "maj"), (0, "maj"), (7, "maj"), (9, "min")],  # IV I V vi
            [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")],  # I vi IV V
            [(2, "min"), (5, "maj"), (0, "maj"), (7, "maj")],  # ii IV I V
            [(0, "maj"), (4, "min"), (5, "maj"), (7, "maj")],  # I iii IV V
        ],
        "minor": [
            [(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")],  # i VI III VII
            [(8, "maj"), (10, "maj"), (0, "min"), (0, "min")],  # VI VII i i
            [(0, "min"), (10, "maj"), (8, "maj"), (10, "maj")],  # i VII VI VII
            [(0, "min"), (5, "min"), (10, "maj"), (3, "maj")],  # i iv VII III
            [(0, "min"), (3, "maj"), (10, "maj"), (5, "min")],  # i III VII iv
            [(5, "min"), (0, "min"), (8, "maj"), (7, "maj")],  # iv i VI V
        ],
    },
    "jazz": {
        "major": [
            [(2, "min7"), (7, "dom7"), (0, "maj7"), (0, "maj7")],  # ii V I
            [(0, "maj7"), (9, "dom7"), (2, "min7"), (7, "dom7")],  # I VI7 ii V
            [(4, "min7"), (9, "dom7"), (2, "min7"), (7, "dom7"), (0, "maj7"), (0, "maj7")],  # iii VI7 ii V I
            [(0, "maj7"), (4, "dom7"), (9, "min7"), (2, "dom7"), (2, "min7"), (7, "dom7")],  # I III7 vi II7 ii V
            [(5, "maj7"), (7, "dom7"), (4, "min7"), (9, "min7"), (2, "min7"), (7, "dom7"), (0, "maj7"), (0, "maj7")],
        ],
        "minor": [
            [(2, "hdim7"), (7, "dom7"), (0, "min7"), (0, "min7")],  # ii(half-dim) V7 i
            [(0, "min7"), (5, "min7"), (10, "dom7"), (3, "maj7"), (8, "maj7"), (2, "hdim7"), (7, "dom7"), (0, "min7")],
            [(0, "min7"), (8, "maj7"), (2, "hdim7"), (7, "dom7")],  # i VI ii V
            [(5, "min7"), (10, "dom7"), (3, "maj7"), (2, "hdim7"), (7, "dom7"), (0, "min7")],
        ],
    },
    "mixture": {
        "major": [
            [(0, "maj"), (10, "maj"), (5, "maj"), (0, "maj")],  # I bVII IV I
            [(0, "maj"), (8, "maj"), (10, "maj"), (0, "maj")],  # I bVI bVII I
            [(0, "maj"), (5, "maj"), (5, "min"), (0, "maj")],  # I IV iv I
            [(0, "maj"), (2, "maj"), (5, "maj"), (0, "maj")],  # I II(V/V) IV I
            [(0, "maj"), (4, "maj"), (9, "min"), (5, "maj"), (7, "maj")],  # I III(V/vi) vi IV V
            [(9, "min"), (5, "maj"), (8, "maj"), (7, "maj")],  # vi IV bVI V
        ],
        "minor": [
            [(0, "min"), (5, "maj"), (0, "min"), (5, "maj")],  # i IV (Dorian) i IV
            [(0, "min"), (7, "min"), (5, "min"), (0, "min")],  # i v iv i
            [(0, "min"), (1, "maj"), (7, "maj"), (0, "min")],  # i bII V i (Neapolitan)
            [(0, "min"), (8, "maj"), (3, "maj"), (7, "maj")],  # i VI III V
            [(0, "min"), (10, "maj"), (5, "maj"), (0, "min")],  # i VII IV i
            [(3, "maj"), (10, "maj"), (0, "min"), (7, "maj")],  # III VII i V
        ],
    },
}
PROGRESSIONS["modulating"] = PROGRESSIONS["pop"]
# Where the first (shorter) section sits relative to the labelled key.
MODULATIONS = ((-2, None), (-5, None), (0, "relative"), (3, None), (5, None))

# General MIDI programs (0-based) per part.
PROGRAMS = {
    "chords": {
        0: "acoustic grand piano", 4: "electric piano", 16: "drawbar organ", 24: "nylon guitar",
        25: "steel guitar", 27: "clean electric guitar", 29: "overdriven guitar", 30: "distortion guitar",
        48: "string ensemble", 52: "choir aahs", 61: "brass section", 88: "new age pad", 89: "warm pad",
        90: "polysynth pad",
    },
    "bass": {32: "acoustic bass", 33: "finger bass", 34: "pick bass", 35: "fretless bass", 36: "slap bass",
             38: "synth bass 1", 39: "synth bass 2"},
    "melody": {73: "flute", 56: "trumpet", 65: "alto sax", 40: "violin", 80: "square lead", 81: "saw lead",
               11: "vibraphone", 71: "clarinet", 68: "oboe", 22: "harmonica"},
}
CHANNELS = {"chords": 0, "bass": 1, "melody": 2, "drums": 9}


@dataclass(frozen=True)
class CNote:
    """A note on a part: start and duration in seconds, MIDI pitch, velocity."""

    start: float
    duration: float
    pitch: int
    velocity: int
    part: str  # "chords", "bass", "melody" or "drums"


@dataclass
class Song:
    """One corpus entry: its score, mix and ground truth."""

    set: str
    index: int
    key: str  # the label (for modulating songs: the longest section's key)
    bpm: float
    notes: list[CNote]
    programs: dict[str, int]
    volumes: dict[str, int]
    description: str
    sections: list[tuple[str, int]] = field(default_factory=list)  # (key, bars)

    @property
    def name(self) -> str:
        return f"{self.set}-{self.index:02d}"

    @property
    def seconds(self) -> float:
        return max(n.start + n.duration for n in self.notes)


# --------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------


def songs(set_name: str, split: str = "test", count: int = 24, max_seconds: float = 60.0) -> list[Song]:
    """``count`` songs of ``set_name``; song ``i`` is in key ``all_keys()[i % 24]``."""
    if set_name not in SETS:
        raise ValueError(f"unknown set {set_name!r}; sets: {SETS}")
    keys = af.all_keys()
    return [make_song(set_name, i, keys[i % 24], split, max_seconds) for i in range(count)]


def make_song(set_name: str, index: int, key: str, split: str = "test", max_seconds: float = 60.0) -> Song:
    seed = SPLIT_SEEDS[split] + 1000 * SETS.index(set_name) + index
    rng = np.random.default_rng(seed)
    tonic, mode = af.parse_key(key)
    bpm = float(np.round(rng.uniform(70, 180), 1))
    bar = 240.0 / bpm
    seconds = min(rng.uniform(20, 60), max_seconds)
    programs = {part: int(rng.choice(list(PROGRAMS[part]))) for part in ("chords", "bass", "melody")}
    volumes = {"chords": int(rng.integers(55, 128)), "bass": int(rng.integers(55, 128)),
               "melody": int(rng.integers(45, 115)), "drums": int(rng.integers(70, 120))}
    comp = {"chord_style": str(rng.choice(["held", "stabs", "arpeggio", "eighths"])),
            "bass_style": "walking" if set_name == "jazz" else str(rng.choice(["roots", "root_fifth", "eighths",
                                                                                "walking"])),
            "melody": bool(rng.random() < 0.85),
            "drums": str(rng.choice(list(af.DRUM_PATTERNS))) if rng.random() < 0.75 else None,
            # Most songs end on the tonic chord (held, with the melody on the tonic); the rest stop mid-loop.
            "ending": bool(rng.random() < 0.8)}
    total_bars = max(4, int(round(seconds / bar)))

    sections: list[tuple[int, str, int]] = []  # (tonic, mode, bars)
    if set_name == "modulating":
        shift, relation = MODULATIONS[index % len(MODULATIONS)]
        first_bars = max(2, int(round(total_bars * rng.uniform(0.25, 0.4))))
        if relation == "relative":
            first = ((tonic + 3) % 12, "major") if mode == "minor" else ((tonic + 9) % 12, "minor")
        else:
            first = ((tonic + shift) % 12, mode)
        sections = [(first[0], first[1], first_bars), (tonic, mode, total_bars - first_bars)]
    else:
        sections = [(tonic, mode, total_bars)]

    progressions = PROGRESSIONS[set_name]
    notes: list[CNote] = []
    bar_index = 0
    described = []
    for sec_tonic, sec_mode, bars in sections:
        progression = progressions[sec_mode][int(rng.integers(len(progressions[sec_mode])))]
        described.append(_roman(progression, sec_mode))
        for b in range(bars):
            offset, quality = progression[b % len(progression)]
            next_offset, next_quality = progression[(b + 1) % len(progression)]
            root = (sec_tonic + offset) % 12
            chord = [(root + i) % 12 for i in QUALITIES[quality]]
            start = (bar_index + b) * bar
            notes += _chord_part(rng, root, quality, start, bar, comp["chord_style"])
            notes += _bass_part(rng, root, quality, (sec_tonic + next_offset) % 12, sec_tonic, sec_mode, start, bar,
                                comp["bass_style"])
            if comp["melody"]:
                notes += _melody_part(rng, chord, sec_tonic, sec_mode, start, bar)
        bar_index += bars
    if comp["ending"]:
        final_tonic, final_mode = sections[-1][0], sections[-1][1]
        start = bar_index * bar
        notes += [CNote(start, bar * 1.5, p, 80, "chords")
                  for p in _voicing(rng, final_tonic, "maj" if final_mode == "major" else "min")]
        notes.append(CNote(start, bar * 1.5, 36 + final_tonic if final_tonic < 7 else 24 + final_tonic, 100, "bass"))
        if comp["melody"]:
            notes.append(CNote(start, bar * 1.5, 72 + final_tonic - (12 if final_tonic > 7 else 0), 90, "melody"))
        bar_index += 1
    if comp["drums"]:
        notes += [CNote(n.start, n.duration, n.pitch, n.velocity, "drums")
                  for n in af.drum_notes(bpm, comp["drums"], bars=bar_index, seed=seed)]
    labels = [(af.all_keys()[(12 if m == "minor" else 0) + t], n) for t, m, n in sections]
    description = (f"{bpm:g} BPM, {' -> '.join(described)}, chords {PROGRAMS['chords'][programs['chords']]} "
                   f"({comp['chord_style']}), bass {PROGRAMS['bass'][programs['bass']]} ({comp['bass_style']}), "
                   f"melody {PROGRAMS['melody'][programs['melody']] if comp['melody'] else 'none'}, "
                   f"drums {comp['drums'] or 'off'}, {'ends on the tonic' if comp['ending'] else 'stops mid-loop'}")
    return Song(set_name, index, key, bpm, notes, programs, volumes, description, labels)


def _roman(progression, mode) -> str:
    names = {0: "I", 1: "bII", 2: "II", 3: "bIII", 4: "III", 5: "IV", 6: "#IV", 7: "V", 8: "bVI", 9: "VI",
             10: "bVII", 11: "VII"}
    out = []
    for offset, quality in progression:
        numeral = names[offset]
        out.append(numeral.lower() if quality in ("min", "min7", "dim", "hdim7") else numeral)
    return f"{'-'.join(out)} ({mode})"


def _voicing(rng, root: int, quality: str) -> list[int]:
    """The chord's notes in MIDI 52..76, in a random inversion."""
    base = 60 + root - (12 if root > 7 else 0)
    pitches = [base + i for i in QUALITIES[quality]]
    for _ in range(int(rng.integers(0, len(pitches)))):
        pitches = pitches[1:] + [pitches[0] + 12]
    return pitches


def _chord_part(rng, root, quality, start, bar, style) -> list[CNote]:
    pitches = _voicing(rng, root, quality)
    beat = bar / 4
    velocity = int(rng.integers(60, 95))
    if style == "held":
        return [CNote(start, bar * 0.97, p, velocity, "chords") for p in pitches]
    if style == "stabs":  # beats 2 and 4, short
        return [CNote(start + b * beat, beat * 0.5, p, velocity, "chords") for b in (1, 3) for p in pitches]
    if style == "eighths":
        return [CNote(start + e * beat / 2, beat * 0.45, p, velocity, "chords") for e in range(8) for p in pitches]
    # arpeggio: eighth notes up and down the voicing
    cycle = pitches + pitches[-2:0:-1]
    return [CNote(start + e * beat / 2, beat * 0.9, cycle[e % len(cycle)], velocity, "chords") for e in range(8)]


def _scale(tonic: int, mode: str) -> list[int]:
    return [(tonic + i) % 12 for i in (MAJOR_SCALE if mode == "major" else MINOR_SCALE)]


def _bass_part(rng, root, quality, next_root, tonic, mode, start, bar, style) -> list[CNote]:
    beat = bar / 4
    low = 36 + root if root < 7 else 24 + root  # E1..F#2 range
    fifth = low + QUALITIES[quality][2]
    velocity = int(rng.integers(80, 115))
    if style == "roots":
        return [CNote(start, bar * 0.9, low, velocity, "bass")]
    if style == "root_fifth":
        return [CNote(start, beat * 1.8, low, velocity, "bass"), CNote(start + 2 * beat, beat * 1.8, fifth, velocity,
                                                                          "bass")]
    if style == "eighths":
        return [CNote(start + e * beat / 2, beat * 0.4, low, velocity, "bass") for e in range(8)]
    # walking: root, chord tone, scale tone, chromatic or scale approach to the next root
    chord = [low + i for i in QUALITIES[quality]]
    scale = _scale(tonic, mode)
    second = int(rng.choice(chord[1:]))
    third_candidates = [p for p in range(second - 2, second + 3) if p % 12 in scale and p != second]
    third = int(rng.choice(third_candidates)) if third_candidates else chord[-1]
    target = 36 + next_root if next_root < 7 else 24 + next_root
    approach = target + int(rng.choice([-1, 1])) if rng.random() < 0.5 else target + (2 if third > target else -2)
    line = [low, second, third, approach]
    return [CNote(start + b * beat, beat * 0.9, p, velocity, "bass") for b, p in enumerate(line)]


def _melody_part(rng, chord, tonic, mode, start, bar) -> list[CNote]:
    """A scale melody: chord tones on the beats, scale (or borrowed) tones between."""
    scale = set(_scale(tonic, mode))
    # Chromatic chord tones (borrowed chords, secondary dominants, the harmonic-minor V)
    # replace the scale tones a semitone away from them.
    for tone in chord:
        if tone not in scale:
            scale -= {(tone - 1) % 12, (tone + 1) % 12}
            scale.add(tone)
    pool = [p for p in range(67, 86) if p % 12 in scale]
    chord_pool = [p for p in pool if p % 12 in chord]
    beat = bar / 4
    velocity = int(rng.integers(70, 110))
    notes, t = [], 0.0
    pitch = int(rng.choice(chord_pool))
    while t < 4 - 1e-6:
        duration = float(rng.choice([0.5, 1.0, 1.0, 2.0])) if t % 1 == 0 else 0.5
        duration = min(duration, 4 - t)
        on_beat = abs(t - round(t)) < 1e-6
        candidates = chord_pool if on_beat else pool
        near = [p for p in candidates if abs(p - pitch) <= 4] or candidates
        pitch = int(rng.choice(near))
        if rng.random() > 0.12:  # some rests
            notes.append(CNote(start + t * beat, duration * beat * 0.92, pitch, velocity, "melody"))
        t += duration
    return notes


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def midi_bytes(song: Song, ticks_per_beat: int = 480) -> bytes:
    """Format-0 MIDI of ``song``: programs and volumes per channel, 120 BPM clock (1 s = 960 ticks)."""
    ticks_per_second = ticks_per_beat * 2
    events: list[tuple[int, int, bytes]] = []
    for note in song.notes:
        ch = CHANNELS[note.part]
        on = int(round(note.start * ticks_per_second))
        off = int(round((note.start + note.duration) * ticks_per_second))
        events.append((on, 1, bytes([0x90 | ch, note.pitch, note.velocity])))
        events.append((max(off, on + 1), 0, bytes([0x80 | ch, note.pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(af._vlq(0) + b"\xff\x51\x03" + (500_000).to_bytes(3, "big"))
    for part, program in song.programs.items():
        track += af._vlq(0) + bytes([0xC0 | CHANNELS[part], program])
    for part, volume in song.volumes.items():
        track += af._vlq(0) + bytes([0xB0 | CHANNELS[part], 7, volume])
    last = 0
    for tick, _, data in events:
        track += af._vlq(tick - last) + data
        last = tick
    track += af._vlq(ticks_per_second) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_beat)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def render(song: Song, sr: int = SR) -> np.ndarray:
    """The song rendered by FluidSynth (mono float32 at ``sr``), cached by MIDI hash."""
    data = midi_bytes(song)
    path = CACHE_DIR / f"{hashlib.sha1(data + str(sr).encode()).hexdigest()}.flac"
    if path.exists():
        y, _ = sf.read(path, dtype="float32")
        return y
    if not af.fluidsynth_available():
        raise RuntimeError("fluidsynth or the FluidR3 GM sound font is missing (npm run setup installs them)")
    with tempfile.TemporaryDirectory(prefix="sfa-corpus-") as tmp:
        midi_path, wav_path = os.path.join(tmp, "song.mid"), os.path.join(tmp, "song.wav")
        Path(midi_path).write_bytes(data)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sr), "-F", wav_path, af.SOUND_FONT,
                        midi_path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        y, file_sr = sf.read(wav_path, dtype="float32", always_2d=True)
    assert file_sr == sr, (file_sr, sr)
    y = af._normalise(y.mean(axis=1))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.flac")
    sf.write(partial, y, sr, subtype="PCM_16")
    shutil.move(partial, path)  # complete files only: a killed run leaves no half-written cache entry
    return sf.read(path, dtype="float32")[0]  # the 16-bit cached samples, as every later run sees them
