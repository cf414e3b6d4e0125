"""Musical key estimation: Krumhansl-Schmuckler key finding, key names, Camelot.

The key of a track is estimated from its mean chroma vector by correlating it
with the Krumhansl-Kessler probe-tone profiles rotated to all 24 major and
minor keys (the Krumhansl-Schmuckler algorithm) and taking the best match.

The chroma for the key comes from :func:`peak_chroma`: spectral peaks of the
shared STFT, located between bins by parabolic interpolation, each credited
to its nearest pitch class. ``librosa.feature.chroma_stft`` spreads every
bin over the pitch classes its (wide) band overlaps, which at n_fft=2048
smears a loud bass note onto its neighbouring semitones; on rendered piano +
bass cadences that alone cost ~10 points of key accuracy (see
docs/benchmarks.md).

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

# Krumhansl & Kessler (1982) probe-tone ratings, index 0 = tonic.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

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
        Correlation margin over the runner-up key, clipped to [0, 1].
        Near 0: ambiguous (typically the relative or a fifth-related key is
        as likely); above ~0.1: a clear winner.
    ranking : list of (tonic, mode, correlation)
        All 24 keys, best first.
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


def key_profiles() -> np.ndarray:
    """The 24 rotated key profiles, shape (24, 12).

    Rows 0..11 are C major .. B major, rows 12..23 are C minor .. B minor;
    row ``k`` is the base profile rolled so that its tonic sits at pitch class
    ``k % 12``.
    """
    major = [np.roll(MAJOR_PROFILE, tonic) for tonic in range(12)]
    minor = [np.roll(MINOR_PROFILE, tonic) for tonic in range(12)]
    return np.vstack(major + minor)


_PROFILES = key_profiles()


def estimate_key(chroma_mean: np.ndarray) -> KeyEstimate:
    """Estimate the key of a mean chroma vector with Krumhansl-Schmuckler.

    Parameters
    ----------
    chroma_mean : np.ndarray, shape (12,)
        Mean chroma energy per pitch class, C first (as
        ``librosa.feature.chroma_stft(...).mean(axis=1)``).

    Returns
    -------
    KeyEstimate
        No key (``tonic=None``, confidence 0) when the vector is all zeros or
        flat: silence and pure noise have no key.
    """
    chroma_mean = np.asarray(chroma_mean, dtype=np.float64)
    if chroma_mean.shape != (12,) or not np.all(np.isfinite(chroma_mean)):
        raise ValueError(f"chroma_mean must be 12 finite values, got shape {chroma_mean.shape}")
    # A (nearly) flat vector has no tonal centre; the correlation would be 0/0.
    if chroma_mean.max() <= 0 or np.ptp(chroma_mean) < 1e-6 * chroma_mean.max():
        return KeyEstimate(None, None, 0.0, 0.0, [])

    correlations = _pearson_rows(_PROFILES, chroma_mean)
    order = np.argsort(-correlations, kind="stable")
    ranking = [(int(k % 12), MODES[k // 12], float(correlations[k])) for k in order]
    best, runner_up = ranking[0], ranking[1]
    confidence = float(np.clip(best[2] - runner_up[2], 0.0, 1.0))
    return KeyEstimate(best[0], best[1], best[2], confidence, ranking)


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
    n_bins, n_frames = magnitude.shape
    lo = max(1, int(np.floor(fmin * n_fft / sr)))
    hi = min(n_bins - 1, int(np.ceil(fmax * n_fft / sr)))
    chroma = np.zeros((12, n_frames))
    if hi <= lo:
        return chroma, 0.0
    mid, left, right = magnitude[lo:hi], magnitude[lo - 1 : hi - 1], magnitude[lo + 1 : hi + 1]
    floor = magnitude.max(axis=0, keepdims=True) * 10.0 ** (floor_db / 20.0)
    bins, frames = np.nonzero((mid > left) & (mid >= right) & (mid > floor))
    if len(bins) == 0:
        return chroma, 0.0

    amplitude = mid[bins, frames].astype(np.float64)
    freq = (lo + bins + _parabolic_offset(left[bins, frames], amplitude, right[bins, frames])) * sr / n_fft
    pitch = 12.0 * np.log2(freq / 440.0) + 69.0
    tuning = _circular_mean_deviation(pitch, amplitude)
    pitch -= tuning
    nearest = np.round(pitch)
    weight = amplitude * np.cos(np.pi * (pitch - nearest)) ** 2
    index = (nearest.astype(np.int64) % 12) * n_frames + frames
    chroma += np.bincount(index, weights=weight, minlength=12 * n_frames).reshape(12, n_frames)
    return chroma, tuning


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
