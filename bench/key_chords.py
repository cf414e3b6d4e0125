"""Harmonic-function evidence for the key, a lever tried on the song corpus and not kept (bench/key_levers.py).

The song's chords are named frame by frame (major and minor triads on the
key stage's semitone spectrum, smoothed over half a second, short runs
dropped); each key then scores how usual those chords are in it (textbook
weights, not fitted) and the share of chord changes that are cadences into
its tonic (V -> I, IV -> I, iv -> i, bVII -> i). docs/benchmarks.md gives
what it was worth: on the corpus's loops the chords are as likely in the
relative key, so it did not pay.
"""

from __future__ import annotations

import numpy as np

from sfa_engine import analysis_key as ak

CHORD_SMOOTH_SECONDS = 0.5  # chroma averaged over this long before naming the chord
CHORD_MIN_SECONDS = 0.4  # shorter chord runs are passing harmony (or a mislabel) and are dropped
CHORD_MIN_FIT = 0.5  # frames whose best triad correlates less than this name no chord
# How usual each chord is in a key: textbook common practice, not fitted.
CHORD_FUNCTIONS = {
    # (semitones above the tonic, "maj"/"min") -> weight, per mode.
    "major": {(0, "maj"): 1.0, (7, "maj"): 0.8, (5, "maj"): 0.7, (9, "min"): 0.5, (2, "min"): 0.5,
              (4, "min"): 0.3, (10, "maj"): 0.2, (5, "min"): 0.2, (8, "maj"): 0.1, (2, "maj"): 0.2},
    "minor": {(0, "min"): 1.0, (7, "maj"): 0.8, (5, "min"): 0.6, (8, "maj"): 0.5, (3, "maj"): 0.5,
              (10, "maj"): 0.5, (7, "min"): 0.4, (5, "maj"): 0.2, (1, "maj"): 0.1},
}
# Moves into the tonic chord that establish a key: the dominant (both modes), the plagal IV / iv
# and, in minor, the Aeolian bVII -> i.
CADENCES = {
    "major": {(7, "maj"): 1.0, (5, "maj"): 0.5},
    "minor": {(7, "maj"): 1.0, (5, "min"): 0.5, (10, "maj"): 0.5},
}


def chord_sequence(chroma: np.ndarray, frame_seconds: float) -> list[tuple[int, int]]:
    """Chord runs ``(triad, frames)`` of frame-normalised chroma (12, frames), in order.

    Each frame's chroma, averaged over :data:`CHORD_SMOOTH_SECONDS`, is named
    by the triad it correlates with best (rows as :func:`sfa_engine.analysis_key.key_profiles`), or
    no chord below :data:`CHORD_MIN_FIT`. Runs shorter than
    :data:`CHORD_MIN_SECONDS` and unnamed frames are dropped, and neighbours
    left equal are merged.
    """
    if chroma.shape[1] == 0:
        return []
    width = max(1, int(round(CHORD_SMOOTH_SECONDS / frame_seconds)))
    kernel = np.ones(width) / width
    smooth = np.vstack([np.convolve(row, kernel, mode="same") for row in chroma])
    centred = smooth - smooth.mean(axis=0, keepdims=True)
    templates = ak._TONIC_TRIADS - ak._TONIC_TRIADS.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(templates, axis=1)[:, None] * np.linalg.norm(centred, axis=0)[None, :]
    fits = np.divide(templates @ centred, norms, out=np.zeros((24, chroma.shape[1])), where=norms > 0)
    labels = np.where(fits.max(axis=0) >= CHORD_MIN_FIT, fits.argmax(axis=0), -1)
    shortest = max(1, int(round(CHORD_MIN_SECONDS / frame_seconds)))
    runs: list[tuple[int, int]] = []
    starts = np.flatnonzero(np.diff(labels, prepend=labels[0] - 1))
    for start, end in zip(starts, [*starts[1:], len(labels)]):
        label, length = int(labels[start]), int(end - start)
        if label < 0 or length < shortest:
            continue
        if runs and runs[-1][0] == label:
            runs[-1] = (label, runs[-1][1] + length)
        else:
            runs.append((label, length))
    return runs


def chord_statistics(runs: list[tuple[int, int]]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Share of time per triad (24,) and share of changes per (from, to) pair (24, 24); None without chords."""
    if not runs:
        return None, None
    time = np.zeros(24)
    for label, length in runs:
        time[label] += length
    moves = np.zeros((24, 24))
    for (a, _), (b, _) in zip(runs, runs[1:]):
        moves[a, b] += 1
    return time / time.sum(), (moves / moves.sum() if moves.sum() else moves)


def _function_table(weights: dict[str, dict[tuple[int, str], float]]) -> np.ndarray:
    """(24 keys, 24 triads) table of ``weights`` rotated to every key (rows as :func:`sfa_engine.analysis_key.key_profiles`)."""
    table = np.zeros((24, 24))
    for key in range(24):
        tonic, mode = key % 12, ak.MODES[key // 12]
        for (interval, quality), weight in weights[mode].items():
            table[key, (tonic + interval) % 12 + (12 if quality == "min" else 0)] = weight
    return table


_CHORD_FUNCTIONS = _function_table(CHORD_FUNCTIONS)
CHORD_FUNCTION_TABLE = _function_table(CHORD_FUNCTIONS)
CADENCE_TABLE = _function_table(CADENCES)  # [key, chord]: weight of a move from that chord to the key's tonic


def chord_terms(spectrum: np.ndarray, active: np.ndarray, frame_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Per key (24,): the chords' harmonic-function fit and the cadence share; zeros without chords."""
    frames = np.nonzero(np.asarray(active[: spectrum.shape[1]], dtype=bool))[0]
    chroma = ak.normalise_frames(ak.fold_pitch_classes(spectrum[:, frames]))
    time, moves = chord_statistics(chord_sequence(chroma, frame_seconds))
    if time is None:
        return np.zeros(24), np.zeros(24)
    # moves[a, b] is a change from triad a to b; the key k's tonic triad has index k.
    return CHORD_FUNCTION_TABLE @ time, np.sum(CADENCE_TABLE * moves.T, axis=1)
