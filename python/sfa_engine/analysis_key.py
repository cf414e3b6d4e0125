"""Musical key estimation: profile correlation plus bass and final-chord evidence, key names, Camelot.

The key of a track is estimated (:func:`estimate_key`) by correlating its
mean pitch-class profile with a key profile rotated to all 24 major and minor
keys (the Krumhansl-Schmuckler algorithm, with Albrecht & Shanahan's
profile), plus two pieces of tonic evidence: the bass line's pitch classes,
correlated with the same profiles, and the final chord, matched against each
key's tonic triad. The pitch classes come from a semitone spectrum of
interpolated spectral peaks (:func:`peak_semitones`) of a long (8192-point)
STFT, which resolves bass notes down to ~30 Hz.

Spectral peaks, located between bins by parabolic interpolation and each
credited to its nearest semitone, rather than ``librosa.feature.chroma_stft``,
which spreads every bin over the pitch classes its (wide) band overlaps and so
smears a loud bass note onto its neighbouring semitones; on rendered piano +
bass cadences that alone cost ~10 points of key accuracy. docs/benchmarks.md
measures every ingredient.

Keys are named with sharps ("C major", "F# minor"), as the AnalysisResult
column expects, and are also given in Camelot notation (8B = C major,
5A = C minor), which DJs use for harmonic mixing.

This module is pure (NumPy only, no audio I/O) so that tests and benchmarks can
use :func:`mirex_key_score` and :func:`parse_key` without loading librosa.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES = ("major", "minor")

# Key profiles (major, minor), index 0 = tonic: numbers from the papers.
PROFILES = {
    # Krumhansl & Kessler (1982), probe-tone ratings.
    "krumhansl": ([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88],
                  [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
    # Temperley (1999), "What's key for key?".
    "temperley": ([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0],
                  [5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
    # Sha'ath (2011), Krumhansl's tuned for popular and electronic music.
    "shaath": ([6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4],
               [6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2]),
    # Faraldo et al. (2016), "edma": from electronic dance music audio.
    "edma": ([0.1652, 0.0475, 0.0829, 0.0669, 0.0999, 0.0927, 0.0529, 0.1316, 0.0522, 0.0744, 0.0694, 0.0643],
             [0.1724, 0.0534, 0.0761, 0.1004, 0.0562, 0.0853, 0.0498, 0.1345, 0.0746, 0.0500, 0.0919, 0.0555]),
    # Albrecht & Shanahan (2013), from a corpus of 490 pieces.
    "albrecht": ([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081],
                 [0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]),
}
PROFILE = "albrecht"  # what estimate_key correlates with (docs/benchmarks.md compares them)
MAJOR_PROFILE = np.array(PROFILES[PROFILE][0])
MINOR_PROFILE = np.array(PROFILES[PROFILE][1])

# Flat spellings accepted by parse_key(), mapped to pitch classes.
_FLAT_NAMES = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10, "Cb": 11, "Fb": 4, "E#": 5, "B#": 0}


@dataclass(frozen=True)
class KeyEstimate:
    """The outcome of :func:`estimate_key`.

    Attributes
    ----------
    tonic : int or None
        Pitch class of the tonic (0 = C), or None when no key could be found
        (silence, or a flat chroma vector).
    mode : str or None
        ``"major"`` or ``"minor"``.
    correlation : float
        Pearson correlation of the mean chroma with the winning profile
        (how tonal the audio is; 0 when no key).
    confidence : float
        0..1, from the winner's score lead over its relative major/minor
        (weight 3/4; the usual confusion) and over the runner-up key
        (1/4, saturating at 0.3). Below ~0.25 the runner-up is a real
        possibility; see :func:`confidence_of`.
    ranking : list of (tonic, mode, score)
        All 24 keys, best first, with their combined score (see
        :func:`estimate_key`).
    """

    tonic: int | None
    mode: str | None
    correlation: float
    confidence: float
    ranking: list[tuple[int, str, float]]

    @property
    def name(self) -> str | None:
        """Key name with sharps, e.g. ``"F# minor"``; None when no key."""
        if self.tonic is None or self.mode is None:
            return None
        return key_name(self.tonic, self.mode)

    @property
    def camelot(self) -> str | None:
        """Camelot code, e.g. ``"11A"``; None when no key."""
        if self.tonic is None or self.mode is None:
            return None
        return camelot_code(self.tonic, self.mode)


def key_profiles(major=MAJOR_PROFILE, minor=MINOR_PROFILE) -> np.ndarray:
    """The 24 rotated key profiles, shape (24, 12).

    Rows 0..11 are C major .. B major, rows 12..23 are C minor .. B minor;
    row ``k`` is the base profile rolled so that its tonic sits at pitch class
    ``k % 12``.
    """
    return np.vstack([np.roll(np.asarray(major, float), t) for t in range(12)] +
                     [np.roll(np.asarray(minor, float), t) for t in range(12)])


_PROFILES = key_profiles()
# The tonic triad of each key (same row order): what a final or long-held tonic chord sounds.
_TONIC_TRIADS = key_profiles([1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0])


CHROMA_LOW_MIDI = 43  # the chroma counts notes from G2 (98 Hz) up; the bass line is weighed on its own
BASS_HIGH_MIDI = 48  # notes below C3 count as the bass line
BASS_WEIGHT = 0.25  # weight of the bass line's correlation with the key profile
# The bass line's pitch-class shares are squared before the correlation: its most frequent notes
# (the roots it returns to) count, its passing and walking notes hardly. At full weight the bass,
# which plays chord roots rather than the key profile's scale, outvoted the chords on minor loops
# (read as the bVII or relative major); docs/benchmarks.md has the numbers.
BASS_POWER = 2
ENDING_SECONDS = 1.9  # the last this-many seconds of sound: the final chord
ENDING_WEIGHT = 0.3  # weight of the tonic-triad fit of the final chord
ENDING_POWER = 4  # fit**4: only a clear final triad counts


@dataclass(frozen=True)
class KeyEvidence:
    """What a key is estimated from: three pitch-class profiles (12 values, C first).

    ``chroma``: the mean frame-normalised profile of the notes from
    :data:`CHROMA_LOW_MIDI` up (a loud bass would otherwise outweigh the
    chords); ``bass``: the same for notes below :data:`BASS_HIGH_MIDI`;
    ``ending``: the profile of all notes in the last :data:`ENDING_SECONDS`
    of sound (songs tend to end on the tonic chord).
    """

    chroma: np.ndarray
    bass: np.ndarray | None = None
    ending: np.ndarray | None = None


def key_evidence(spectrum: np.ndarray, active: np.ndarray, frame_seconds: float) -> KeyEvidence:
    """The :class:`KeyEvidence` of a semitone spectrum (:func:`peak_semitones`).

    ``active`` marks the frames that count (not silent); ``frame_seconds`` is
    the hop between frames.
    """
    n = min(spectrum.shape[1], len(active))
    frames = np.nonzero(np.asarray(active[:n], dtype=bool))[0]
    if len(frames) == 0:
        return KeyEvidence(np.zeros(12))
    chroma = normalise_frames(fold_pitch_classes(spectrum[:, frames], CHROMA_LOW_MIDI, MIDI_HIGH))
    bass = normalise_frames(fold_pitch_classes(spectrum[:, frames], MIDI_LOW, BASS_HIGH_MIDI))
    last = max(1, int(round(ENDING_SECONDS / frame_seconds)))
    ending = normalise_frames(fold_pitch_classes(spectrum[:, frames[-last:]])).mean(axis=1)
    return KeyEvidence(chroma.mean(axis=1), bass.mean(axis=1), ending)


def normalise_frames(frames: np.ndarray) -> np.ndarray:
    """Scale each frame (column) to a maximum of 1, as chroma_stft's norm=inf; empty frames stay 0."""
    peak = frames.max(axis=0, keepdims=True)
    return np.divide(frames, peak, out=np.zeros_like(frames, dtype=np.float64), where=peak > 0)


def estimate_key(chroma_mean: np.ndarray | KeyEvidence) -> KeyEstimate:
    """Estimate the key from a mean chroma vector or from :class:`KeyEvidence`.

    Each of the 24 keys scores the Pearson correlation of the chroma with its
    profile (:data:`PROFILE`, Krumhansl-Schmuckler style), plus, when the
    evidence has them, :data:`BASS_WEIGHT` x the correlation of the bass
    line's pitch classes (to the power :data:`BASS_POWER`) with the same
    profile and :data:`ENDING_WEIGHT` x the final chord's
    correlation with the key's tonic triad (clipped at 0, to the power
    :data:`ENDING_POWER`). docs/benchmarks.md gives what each term is worth.

    Returns
    -------
    KeyEstimate
        No key (``tonic=None``, confidence 0) when the chroma is all zeros or
        flat: silence and pure noise have no key.
    """
    evidence = chroma_mean if isinstance(chroma_mean, KeyEvidence) else KeyEvidence(chroma_mean)
    chroma = _check_profile(evidence.chroma)
    # A (nearly) flat vector has no tonal centre; the correlation would be 0/0.
    if chroma.max() <= 0 or np.ptp(chroma) < 1e-6 * chroma.max():
        return KeyEstimate(None, None, 0.0, 0.0, [])

    correlations = _pearson_rows(_PROFILES, chroma)
    scores = key_scores(evidence)
    order = np.argsort(-scores, kind="stable")
    ranking = [(int(k % 12), MODES[k // 12], float(scores[k])) for k in order]
    best = int(order[0])
    confidence = confidence_of(scores, best)
    return KeyEstimate(best % 12, MODES[best // 12], float(correlations[best]), confidence, ranking)


def key_scores(
    evidence: KeyEvidence,
    profiles: np.ndarray = _PROFILES,
    bass_weight: float = BASS_WEIGHT,
    bass_power: float = BASS_POWER,
    ending_weight: float = ENDING_WEIGHT,
) -> np.ndarray:
    """The 24 keys' combined scores (rows as :func:`key_profiles`); see :func:`estimate_key`.

    The arguments default to the shipped profile and weights; bench/key_levers.py varies them.
    """
    scores = _pearson_rows(profiles, _check_profile(evidence.chroma))
    if bass_weight and evidence.bass is not None and np.ptp(_check_profile(evidence.bass)) > 0:
        scores = scores + bass_weight * _pearson_rows(profiles, evidence.bass**bass_power)
    if ending_weight and evidence.ending is not None and np.ptp(_check_profile(evidence.ending)) > 0:
        fit = np.clip(_pearson_rows(_TONIC_TRIADS, evidence.ending), 0.0, 1.0)
        scores = scores + ending_weight * fit**ENDING_POWER
    return scores


def confidence_of(scores: np.ndarray, best: int) -> float:
    """0..1 confidence of key ``best`` among 24 key scores (rows as :func:`key_profiles`).

    Most wrong answers are the relative major/minor, so the lead over the
    relative key weighs 3/4; the lead over the runner-up (saturating at 0.3)
    weighs 1/4. On the tuning songs this separated right from wrong answers
    better (AUC 0.77) than the runner-up margin alone (0.61).
    """
    relative = (best + 9) % 12 + 12 if best < 12 else (best - 12 + 3) % 12
    runner_up = np.max(np.delete(scores, best))
    lead_relative = np.clip(scores[best] - scores[relative], 0.0, 1.0)
    lead_runner_up = np.clip((scores[best] - runner_up) / 0.3, 0.0, 1.0)
    return float(0.75 * lead_relative + 0.25 * lead_runner_up)


def _check_profile(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64)
    if vector.shape != (12,) or not np.all(np.isfinite(vector)):
        raise ValueError(f"chroma_mean must be 12 finite values, got shape {vector.shape}")
    return vector


def _pearson_rows(rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``rows`` with ``vector``."""
    rows_c = rows - rows.mean(axis=1, keepdims=True)
    vec_c = vector - vector.mean()
    denom = np.linalg.norm(rows_c, axis=1) * np.linalg.norm(vec_c)
    return rows_c @ vec_c / denom


PEAK_FMIN_HZ = 100.0  # below this, semitones are < 0.6 of a 2048-point bin apart at 22050 Hz
PEAK_FMAX_HZ = 5000.0  # above this, mostly upper partials and noise
PEAK_FLOOR_DB = -60.0  # peaks this far below the frame's strongest are ignored


def peak_chroma(
    magnitude: np.ndarray,
    sr: int,
    n_fft: int,
    fmin: float = PEAK_FMIN_HZ,
    fmax: float = PEAK_FMAX_HZ,
    floor_db: float = PEAK_FLOOR_DB,
) -> tuple[np.ndarray, float]:
    """Pitch-class profile per frame from interpolated spectral peaks.

    Each local maximum of the magnitude spectrum within ``[fmin, fmax]`` is
    located between bins by parabolic interpolation of the log magnitude,
    converted to a (fractional) MIDI pitch, corrected by the global tuning
    offset, and adds its magnitude, weighted by ``cos^2`` of its distance to
    the nearest semitone, to that semitone's pitch class.

    Parameters
    ----------
    magnitude : np.ndarray, shape (1 + n_fft // 2, frames)
        STFT magnitude.
    sr, n_fft : int
        Sample rate and FFT size of the STFT.

    Returns
    -------
    chroma : np.ndarray, shape (12, frames)
        Unnormalised; C first. All zeros for frames without peaks.
    tuning : float
        Estimated tuning offset in semitones (-0.5..0.5), the
        magnitude-weighted circular mean of the peaks' deviations.
    """
    spectrum, tuning = peak_semitones(magnitude, sr, n_fft, fmin, fmax, floor_db)
    return fold_pitch_classes(spectrum), tuning


MIDI_LOW, MIDI_HIGH = 21, 117  # A0 .. G#8 (6.6 kHz): the rows of a semitone spectrum


def peak_semitones(
    magnitude: np.ndarray,
    sr: int,
    n_fft: int,
    fmin: float = PEAK_FMIN_HZ,
    fmax: float = PEAK_FMAX_HZ,
    floor_db: float = PEAK_FLOOR_DB,
) -> tuple[np.ndarray, float]:
    """Semitone spectrum per frame from interpolated spectral peaks (see :func:`peak_chroma`).

    Returns ``(spectrum, tuning)``: ``spectrum`` has shape
    ``(MIDI_HIGH - MIDI_LOW, frames)``, row ``i`` holding MIDI note
    ``MIDI_LOW + i``; each peak adds its magnitude, weighted by ``cos^2`` of
    its distance to the nearest (tuning-corrected) semitone.
    """
    n_bins, n_frames = magnitude.shape
    lo = max(1, int(np.floor(fmin * n_fft / sr)))
    hi = min(n_bins - 1, int(np.ceil(fmax * n_fft / sr)))
    n_notes = MIDI_HIGH - MIDI_LOW
    spectrum = np.zeros((n_notes, n_frames))
    if hi <= lo:
        return spectrum, 0.0
    mid, left, right = magnitude[lo:hi], magnitude[lo - 1 : hi - 1], magnitude[lo + 1 : hi + 1]
    floor = magnitude.max(axis=0, keepdims=True) * 10.0 ** (floor_db / 20.0)
    bins, frames = np.nonzero((mid > left) & (mid >= right) & (mid > floor))
    if len(bins) == 0:
        return spectrum, 0.0

    amplitude = mid[bins, frames].astype(np.float64)
    freq = (lo + bins + _parabolic_offset(left[bins, frames], amplitude, right[bins, frames])) * sr / n_fft
    pitch = 12.0 * np.log2(freq / 440.0) + 69.0
    tuning = _circular_mean_deviation(pitch, amplitude)
    pitch -= tuning
    nearest = np.round(pitch)
    weight = amplitude * np.cos(np.pi * (pitch - nearest)) ** 2
    note = nearest.astype(np.int64) - MIDI_LOW
    keep = (note >= 0) & (note < n_notes)
    spectrum += np.bincount(note[keep] * n_frames + frames[keep], weights=weight[keep],
                            minlength=n_notes * n_frames).reshape(n_notes, n_frames)
    return spectrum, tuning


def fold_pitch_classes(spectrum: np.ndarray, low: int = MIDI_LOW, high: int = MIDI_HIGH) -> np.ndarray:
    """Sum a semitone spectrum's notes in ``[low, high)`` into 12 pitch classes (C first)."""
    chroma = np.zeros((12, spectrum.shape[1]))
    for note in range(max(low, MIDI_LOW), min(high, MIDI_HIGH)):
        chroma[note % 12] += spectrum[note - MIDI_LOW]
    return chroma


def _parabolic_offset(left: np.ndarray, mid: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Peak position relative to the centre bin (-0.5..0.5) from log magnitudes."""
    a, b, c = (np.log(np.maximum(x, 1e-12)) for x in (left, mid, right))
    curvature = a - 2.0 * b + c
    safe = np.where(curvature < 0, curvature, -1.0)
    return np.where(curvature < 0, np.clip(0.5 * (a - c) / safe, -0.5, 0.5), 0.0)


def _circular_mean_deviation(pitch: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean deviation from the equal-tempered grid, in semitones, wrapping at +-0.5."""
    phase = np.sum(weight * np.exp(2j * np.pi * (pitch - np.round(pitch))))
    return float(np.angle(phase) / (2.0 * np.pi)) if abs(phase) > 0 else 0.0


def key_name(tonic: int, mode: str) -> str:
    """Name a key with sharps: ``key_name(6, "minor") == "F# minor"``."""
    _check_mode(mode)
    return f"{PITCH_CLASSES[tonic % 12]} {mode}"


def camelot_code(tonic: int, mode: str) -> str:
    """Camelot wheel code of a key.

    Major keys are ``B`` (C major = 8B), minor keys ``A`` (A minor = 8A,
    C minor = 5A). One step round the wheel is a fifth; a relative
    major/minor pair shares the number.
    """
    _check_mode(mode)
    # Minor keys sit on the number of their relative major (3 semitones up).
    major_tonic = tonic % 12 if mode == "major" else (tonic + 3) % 12
    number = (7 * major_tonic + 8) % 12 or 12
    return f"{number}{'B' if mode == 'major' else 'A'}"


def parse_key(name: str) -> tuple[int, str]:
    """Parse ``"F# minor"`` / ``"Bb major"`` into ``(pitch_class, mode)``."""
    try:
        tonic_name, mode = name.strip().split()
    except ValueError:
        raise ValueError(f"not a key name: {name!r} (expected e.g. 'F# minor')") from None
    mode = mode.lower()
    _check_mode(mode)
    if tonic_name in PITCH_CLASSES:
        return PITCH_CLASSES.index(tonic_name), mode
    if tonic_name in _FLAT_NAMES:
        return _FLAT_NAMES[tonic_name], mode
    raise ValueError(f"unknown tonic {tonic_name!r} in key name {name!r}")


def mirex_key_score(estimated: str | None, reference: str) -> float:
    """MIREX key score of an estimate against the reference key.

    1.0 same key; 0.5 same mode a perfect fifth above or below; 0.3 relative
    major/minor; 0.2 parallel major/minor (same tonic); 0.0 otherwise or when
    there is no estimate.
    """
    if estimated is None:
        return 0.0
    est_tonic, est_mode = parse_key(estimated)
    ref_tonic, ref_mode = parse_key(reference)
    interval = (est_tonic - ref_tonic) % 12
    if est_mode == ref_mode:
        if interval == 0:
            return 1.0
        return 0.5 if interval in (5, 7) else 0.0
    if interval == 0:
        return 0.2
    # Relative keys: the minor tonic is 3 semitones below the major tonic.
    relative = (ref_mode == "major" and interval == 9) or (ref_mode == "minor" and interval == 3)
    return 0.3 if relative else 0.0


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
