"""Test audio with known tempo and key, made offline.

Two renderers produce the same musical material:

* ``synth``: NumPy only. Drums are synthesised (pitch-swept sine kick, tone +
  noise snare, high-passed noise hats); chords and bass are additive tones with
  a piano-like decay. Always available, fast, deterministic.
* ``fluidsynth``: the material is written as a Standard MIDI File and rendered
  by the ``fluidsynth`` program with the FluidR3 General MIDI sound font
  (drums on channel 10, grand piano chords, acoustic bass). Closer to real
  recordings; skipped when fluidsynth or the sound font is missing.

Material
--------
``drums(bpm, pattern)``: a 4/4 drum pattern (see :data:`DRUM_PATTERNS`) with
small timing and velocity variation; ground truth is the quarter-note tempo.

``chords(key)``: a cadence in the key (major I-IV-V-I or I-vi-IV-V-I; minor
i-iv-V-i or i-VI-iv-V-i with the harmonic-minor V), triads in the middle
register and a bass line on the chord roots.

``song(bpm, key)``: chords + bass + drums together.

Run as a script to write a WAV file, e.g.::

    python python/tests/audio_fixtures.py drums --bpm 128 --out /tmp/d.wav
    python python/tests/audio_fixtures.py chords --key "F# minor" --out /tmp/c.wav
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np
import soundfile as sf

SR = 22050
SOUND_FONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# One bar of 4/4 in sixteenth-note steps (0..15) per drum voice.
DRUM_PATTERNS: dict[str, dict[str, list[int]]] = {
    "rock": {"kick": [0, 8], "snare": [4, 12], "hat": [0, 2, 4, 6, 8, 10, 12, 14]},
    "four_on_floor": {"kick": [0, 4, 8, 12], "snare": [4, 12], "open_hat": [2, 6, 10, 14]},
    "funk": {"kick": [0, 3, 8, 10], "snare": [4, 12], "hat": list(range(16)), "ghost": [7, 14]},
    "breakbeat": {"kick": [0, 10], "snare": [4, 12], "hat": [0, 2, 4, 6, 8, 10, 12, 14], "ghost": [7, 9]},
}

# General MIDI percussion notes (channel 10).
GM_DRUM_NOTES = {"kick": 36, "snare": 38, "ghost": 38, "hat": 42, "open_hat": 46}
DRUM_VELOCITY = {"kick": 110, "snare": 105, "ghost": 45, "hat": 70, "open_hat": 80}

# Chord progressions as (root offset from tonic in semitones, quality).
PROGRESSIONS = {
    "major": [
        [(0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")],  # I IV V I
        [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj"), (0, "maj")],  # I vi IV V I
    ],
    "minor": [
        [(0, "min"), (5, "min"), (7, "maj"), (0, "min")],  # i iv V i
        [(0, "min"), (8, "maj"), (5, "min"), (7, "maj"), (0, "min")],  # i VI iv V i
    ],
}
TRIAD_INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7)}


@dataclass(frozen=True)
class Note:
    """One note event: start and duration in seconds, MIDI pitch and velocity."""

    start: float
    duration: float
    pitch: int
    velocity: int
    voice: str  # "kick", "snare", ..., "chord" or "bass"


def all_keys() -> list[str]:
    """The 24 major and minor key names with sharps, C major first."""
    return [f"{pc} {mode}" for mode in ("major", "minor") for pc in PITCH_CLASSES]


def parse_key(name: str) -> tuple[int, str]:
    """``"F# minor"`` -> ``(6, "minor")`` (sharps only, as :func:`all_keys`)."""
    tonic, mode = name.split()
    return PITCH_CLASSES.index(tonic), mode


# --------------------------------------------------------------------------
# Scores (lists of Note)
# --------------------------------------------------------------------------


def drum_notes(bpm: float, pattern: str = "rock", bars: int = 8, seed: int = 0) -> list[Note]:
    """Drum hits of ``pattern`` at ``bpm`` (quarter notes) for ``bars`` bars.

    Hits get +-4 ms Gaussian timing jitter and +-10% velocity variation so the
    audio is not a perfectly periodic loop.
    """
    rng = np.random.default_rng(seed)
    step = 60.0 / bpm / 4.0
    notes = []
    for bar in range(bars):
        for voice, steps in DRUM_PATTERNS[pattern].items():
            for s in steps:
                start = max(0.0, (bar * 16 + s) * step + rng.normal(0.0, 0.004))
                velocity = int(np.clip(DRUM_VELOCITY[voice] * rng.uniform(0.9, 1.1), 1, 127))
                notes.append(Note(start, 0.1, GM_DRUM_NOTES[voice], velocity, voice))
    return notes


def chord_notes(key: str, bpm: float = 90.0, repeats: int = 2, variant: int = 0) -> list[Note]:
    """A cadence in ``key``: one chord per bar, bass on each beat.

    ``variant`` picks the progression (0: I-IV-V-I / i-iv-V-i, 1: the longer
    I-vi-IV-V-I / i-VI-iv-V-i).
    """
    tonic, mode = parse_key(key)
    progression = PROGRESSIONS[mode][variant % len(PROGRESSIONS[mode])]
    beat = 60.0 / bpm
    notes = []
    bar = 0
    for _ in range(repeats):
        for offset, quality in progression:
            root = (tonic + offset) % 12
            start = bar * 4 * beat
            for pitch in _triad_voicing(root, quality):
                notes.append(Note(start, 4 * beat * 0.95, pitch, 80, "chord"))
            for b in range(4):
                notes.append(Note(start + b * beat, beat * 0.9, 36 + root, 95, "bass"))
            bar += 1
    return notes


def _triad_voicing(root: int, quality: str) -> list[int]:
    """Close-position triad with its lowest note in MIDI 57..68 (A3..G#4)."""
    base = 60 + root
    if base > 68:
        base -= 12
    if base < 57:
        base += 12
    return [base + i for i in TRIAD_INTERVALS[quality]]


def song_notes(bpm: float, key: str, pattern: str = "rock", seed: int = 0) -> list[Note]:
    """Chords, bass and drums together: 8 bars at ``bpm`` in ``key``."""
    harmony = chord_notes(key, bpm=bpm, repeats=2, variant=seed % 2)
    bars = int(round(max(n.start + n.duration for n in harmony) / (240.0 / bpm)))
    return harmony + drum_notes(bpm, pattern, bars=max(bars, 1), seed=seed)


# --------------------------------------------------------------------------
# NumPy synthesiser
# --------------------------------------------------------------------------


def render_synth(notes: list[Note], sr: int = SR, seed: int = 0, tail: float = 1.0) -> np.ndarray:
    """Render notes with the built-in synthesiser; returns mono float32 at ``sr``."""
    rng = np.random.default_rng(seed)
    length = int((max(n.start + n.duration for n in notes) + tail) * sr)
    out = np.zeros(length, dtype=np.float64)
    for note in notes:
        sound = _synth_voice(note, sr, rng) * (note.velocity / 127.0)
        i = int(round(note.start * sr))
        n = min(len(sound), length - i)
        out[i : i + n] += sound[:n]
    return _normalise(out)


def _synth_voice(note: Note, sr: int, rng: np.random.Generator) -> np.ndarray:
    if note.voice == "kick":
        return _kick(sr)
    if note.voice in ("snare", "ghost"):
        return _snare(sr, rng)
    if note.voice in ("hat", "open_hat"):
        return _hat(sr, rng, decay=0.15 if note.voice == "open_hat" else 0.03)
    harmonics = 4 if note.voice == "bass" else 7
    return _tone(_midi_to_hz(note.pitch), note.duration, sr, harmonics, decay=1.2)


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.35 * sr)) / sr
    freq = 50.0 + 110.0 * np.exp(-t / 0.035)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return np.sin(phase) * np.exp(-t / 0.18)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    noise = np.diff(rng.standard_normal(len(t) + 1))  # first difference: brighter noise
    body = np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.05)
    return 0.6 * body + 0.35 * noise * np.exp(-t / 0.09)


def _hat(sr: int, rng: np.random.Generator, decay: float) -> np.ndarray:
    t = np.arange(int(5 * decay * sr)) / sr
    noise = np.diff(np.diff(rng.standard_normal(len(t) + 2)))  # second difference: hiss
    return 0.12 * noise * np.exp(-t / decay)


def _tone(freq: float, duration: float, sr: int, harmonics: int, decay: float) -> np.ndarray:
    """Additive harmonic tone with a 10 ms attack and exponential decay."""
    t = np.arange(int(duration * sr)) / sr
    partials = sum(
        np.sin(2 * np.pi * k * freq * t) / k**1.3 for k in range(1, harmonics + 1) if k * freq < sr / 2
    )
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t / decay)
    release = np.minimum((duration - t) / 0.02, 1.0)  # avoid clicks at note off
    return 0.3 * partials * envelope * release


def _midi_to_hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _normalise(y: np.ndarray, peak: float = 0.9) -> np.ndarray:
    top = np.max(np.abs(y))
    return (y * (peak / top) if top > 0 else y).astype(np.float32)


# --------------------------------------------------------------------------
# FluidSynth renderer
# --------------------------------------------------------------------------


def fluidsynth_available() -> bool:
    """True when the ``fluidsynth`` program and the FluidR3 sound font exist."""
    return shutil.which("fluidsynth") is not None and os.path.exists(SOUND_FONT)


def render_fluidsynth(notes: list[Note], sr: int = SR) -> np.ndarray:
    """Render notes with fluidsynth + FluidR3 GM; returns mono float32 at ``sr``."""
    with tempfile.TemporaryDirectory(prefix="sfa-fixture-") as tmp:
        midi_path = os.path.join(tmp, "score.mid")
        wav_path = os.path.join(tmp, "score.wav")
        with open(midi_path, "wb") as f:
            f.write(midi_file_bytes(notes))
        subprocess.run(
            ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(sr), "-F", wav_path, SOUND_FONT, midi_path],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        y, file_sr = sf.read(wav_path, dtype="float32", always_2d=True)
    assert file_sr == sr, (file_sr, sr)
    return _normalise(y.mean(axis=1))


def midi_file_bytes(notes: list[Note], ticks_per_beat: int = 480) -> bytes:
    """A format-0 Standard MIDI File playing ``notes`` (times at 120 BPM, 1 s = 960 ticks).

    Drums go to channel 10, chords to channel 1 (grand piano), bass to
    channel 2 (acoustic bass).
    """
    ticks_per_second = ticks_per_beat * 2  # tempo meta below is 120 BPM
    channel = {"chord": 0, "bass": 1}
    events: list[tuple[int, int, bytes]] = []  # (tick, order, data); note-offs sort first
    for note in notes:
        ch = channel.get(note.voice, 9)
        on = int(round(note.start * ticks_per_second))
        off = int(round((note.start + note.duration) * ticks_per_second))
        events.append((on, 1, bytes([0x90 | ch, note.pitch, note.velocity])))
        events.append((max(off, on + 1), 0, bytes([0x80 | ch, note.pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))

    track = bytearray()
    track += _vlq(0) + b"\xff\x51\x03" + (500_000).to_bytes(3, "big")  # 120 BPM
    track += _vlq(0) + bytes([0xC0, 0])  # channel 1: acoustic grand piano
    track += _vlq(0) + bytes([0xC1, 32])  # channel 2: acoustic bass
    last = 0
    for tick, _, data in events:
        track += _vlq(tick - last) + data
        last = tick
    track += _vlq(ticks_per_second) + b"\xff\x2f\x00"  # end of track after 1 s of tail
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_beat)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


# --------------------------------------------------------------------------
# Front door
# --------------------------------------------------------------------------


def render(notes: list[Note], renderer: str = "synth", sr: int = SR, seed: int = 0) -> np.ndarray:
    """Render a score with ``"synth"`` or ``"fluidsynth"``."""
    if renderer == "synth":
        return render_synth(notes, sr=sr, seed=seed)
    if renderer == "fluidsynth":
        return render_fluidsynth(notes, sr=sr)
    raise ValueError(f"unknown renderer {renderer!r}")


def drums(bpm: float, pattern: str = "rock", renderer: str = "synth", bars: int = 8, seed: int = 0) -> np.ndarray:
    """Rendered drum pattern at ``bpm``; see :func:`drum_notes`."""
    return render(drum_notes(bpm, pattern, bars=bars, seed=seed), renderer, seed=seed)


def chords(key: str, renderer: str = "synth", bpm: float = 90.0, variant: int = 0) -> np.ndarray:
    """Rendered cadence in ``key``; see :func:`chord_notes`."""
    return render(chord_notes(key, bpm=bpm, variant=variant), renderer)


def song(bpm: float, key: str, pattern: str = "rock", renderer: str = "synth", seed: int = 0) -> np.ndarray:
    """Rendered chords + bass + drums; see :func:`song_notes`."""
    return render(song_notes(bpm, key, pattern, seed=seed), renderer, seed=seed)


def write_wav(path: str, y: np.ndarray, sr: int = SR) -> str:
    """Write mono float audio as 16-bit PCM WAV; returns ``path``."""
    sf.write(path, y, sr, subtype="PCM_16")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a test WAV with known tempo/key.")
    parser.add_argument("kind", choices=["drums", "chords", "song"])
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--key", default="C major")
    parser.add_argument("--pattern", default="rock", choices=sorted(DRUM_PATTERNS))
    parser.add_argument("--renderer", default="synth", choices=["synth", "fluidsynth"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.kind == "drums":
        y = drums(args.bpm, args.pattern, args.renderer)
    elif args.kind == "chords":
        y = chords(args.key, args.renderer)
    else:
        y = song(args.bpm, args.key, args.pattern, args.renderer)
    write_wav(args.out, y)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
