"""Audio analysis: tempo, key, energy, spectral shape, MFCC and chroma.

:func:`analyze` is what the engine's ``analyze`` command runs. It decodes the
input once (mono, 22050 Hz), computes ONE short-time Fourier transform and
derives every spectral feature from it, except the key, which needs the
finer frequency resolution of its own longer (and cheaper: 4x the hop)
transform:

====================  ====================================================
STFT magnitude        spectral centroid, bandwidth, rolloff, contrast
8192-point STFT       interpolated spectral peaks -> semitones -> key
STFT power            chroma, mel spectrogram
log-power mel         MFCC, onset envelope (-> tempo, beats)
the signal ``y``      RMS (-> energy) and zero-crossing rate
====================  ====================================================

Each per-frame feature equals librosa's own ``y=`` call (same n_fft, hop and
window); RMS and ZCR are taken from ``y`` because ``rms(S=...)`` differs.

Result
------
A JSON-safe dict holding the AnalysisResult columns (``tempo``, ``key``,
``energy``, ``spectral_centroid``, ``spectral_rolloff``,
``zero_crossing_rate``; null when their feature was not requested or there is
nothing to measure) and ``features``, a map with everything else.
Definitions:

- ``tempo``: BPM of the quarter-note pulse, None for silence or inputs
  shorter than 3 s. ``features.tempo_confidence`` 0..1 and
  ``features.tempo_alternatives`` (half / double with their confidence), see
  :mod:`sfa_engine.analysis_tempo`. ``features.beats``: beat times (s).
- ``key``: key profiles + bass line + final chord on a semitone spectrum of
  spectral peaks (see :func:`sfa_engine.analysis_key.estimate_key`), e.g.
  ``"F# minor"``; None for silence/noise. ``features.key_confidence`` 0..1
  (below ~0.25 the runner-up is a real possibility),
  ``features.key_score`` the winner's score and ``features.key_alternatives``
  the next three keys ``{"key", "score"}`` on the same scale,
  ``features.key_correlation`` how well the best profile fits at all,
  ``features.camelot`` e.g. ``"11A"`` (the one place Camelot is computed;
  the front ends show this value); see :mod:`sfa_engine.analysis_key`.
- ``energy``: overall RMS level on a dB scale mapped to 0..1:
  ``clip(1 + dBFS / 60, 0, 1)``, where ``dBFS = 20 log10(rms)`` and
  ``rms = sqrt(mean(y**2))`` of the mono signal (full scale = 1.0). So 0 dBFS
  (a full-scale square wave) = 1, -60 dBFS or quieter = 0, a typical master
  (-14..-8 dBFS RMS) = 0.77..0.87, halving the amplitude costs 0.1.
- ``zero_crossing_rate``: mean fraction of sign changes per sample (0..1).
- ``spectral_centroid`` / ``spectral_rolloff`` (85 %) in Hz; with
  ``features.spectral_bandwidth`` (Hz) and ``features.spectral_contrast``
  (dB, 7 bands) they are means over non-silent frames (frames within 60 dB
  of the loudest), so silent intros do not darken a track.
- ``features.mfcc`` / ``features.chroma``: ``{"mean": [...], "std": [...]}``
  per coefficient (13) / pitch class (12, C first) over non-silent frames.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .analysis_key import PITCH_CLASSES, estimate_key, key_evidence, peak_semitones
from .errors import Cancelled, EngineError

ANALYZER_VERSION = "sfa-analysis/2"  # 2: key from profile + bass + final chord; key_alternatives carry scores
FEATURES = ("tempo", "key", "energy", "spectral", "mfcc", "chroma")
VALID_FEATURES = FEATURES + ("all",)
COLUMNS = ("tempo", "key", "energy", "spectral_centroid", "spectral_rolloff", "zero_crossing_rate")

SAMPLE_RATE = 22050
N_FFT = 2048
HOP_LENGTH = 512
KEY_N_FFT = 8192  # the key's own STFT (see _key_stage)
KEY_HOP_LENGTH = 2048
KEY_FMIN_HZ = 30.0
N_MFCC = 13
ENERGY_FLOOR_DB = -60.0  # energy 0 at or below this RMS level (dBFS)
ACTIVE_FRAME_RANGE_DB = 60.0  # frames this far below the loudest one count as silent
ENERGY_CURVE_POINTS = 200  # length of the downsampled RMS curve in features

ProgressFn = Callable[[float, str], None]
CancelledFn = Callable[[], bool]


class InvalidFeatures(EngineError, ValueError):
    """A requested feature name is not one of :data:`VALID_FEATURES`.

    A ``ValueError`` for library callers and an ``EngineError("bad_input")``
    for the engine.
    """

    def __init__(self, message: str):
        EngineError.__init__(self, "bad_input", message)


class AnalysisCancelled(Cancelled):
    """Raised between stages when the ``cancelled`` callback returns True."""

    def __init__(self, stage: str):
        super().__init__(f"analysis cancelled before {stage}")


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def analyze(
    path: str,
    features: Iterable[str] = ("all",),
    overview_png: str | None = None,
    max_duration: float | None = None,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> dict:
    """Analyse an audio file.

    Parameters
    ----------
    path : str
        Any file libsndfile reads (WAV, FLAC, OGG, MP3) or ffmpeg decodes.
    features : iterable of str
        Subset of ``tempo key energy spectral mfcc chroma``, or ``all``.
    overview_png : str, optional
        Where to write the overview picture (waveform + RMS + beat grid,
        chromagram, title with BPM and key). Written to a temporary name and
        renamed. The picture always shows tempo and key, even when they
        were not requested (they are computed for it, not returned).
    max_duration : float, optional
        Longer inputs fail with ``EngineError("too_long")`` before decoding
        (or as soon as decoding passes the limit when the container does not
        tell the duration).
    progress : callable(percent, stage), optional
        Called at stage boundaries with a non-decreasing percent 0..100.
    cancelled : callable() -> bool, optional
        Checked between stages; True raises :class:`AnalysisCancelled`.

    Returns
    -------
    dict
        JSON-safe; see the module docstring.

    Raises
    ------
    InvalidFeatures
        (a ValueError) for an unknown feature name.
    EngineError
        ``bad_input`` (no such file), ``unsupported_audio``, ``too_long``.
    AnalysisCancelled
    """
    requested = parse_features(features)
    runner = _StageRunner(_plan_stages(requested, overview_png is not None, decode=True), progress, cancelled)
    runner.enter("decoding")
    from .analysis_decode import load_mono  # local: keeps ffmpeg/soundfile out of analyze_signal users

    y = load_mono(path, SAMPLE_RATE, max_duration)
    return _analyze(y, requested, overview_png, runner)


def analyze_signal(
    y: np.ndarray,
    sr: int = SAMPLE_RATE,
    features: Iterable[str] = ("all",),
    overview_png: str | None = None,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> dict:
    """Like :func:`analyze` for a mono signal already in memory.

    ``y`` is resampled to :data:`SAMPLE_RATE` when ``sr`` differs.
    """
    requested = parse_features(features)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y must be mono (1-D), got shape {y.shape}")
    if sr != SAMPLE_RATE:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    runner = _StageRunner(_plan_stages(requested, overview_png is not None, decode=False), progress, cancelled)
    return _analyze(y, requested, overview_png, runner)


def parse_features(features: Iterable[str] | str) -> tuple[str, ...]:
    """Validate feature names and expand ``all``; returns them in canonical order.

    Raises :class:`InvalidFeatures` (a ValueError) for unknown names or an
    empty list.
    """
    names = [features] if isinstance(features, str) else list(features)
    unknown = [name for name in names if name not in VALID_FEATURES]
    if unknown:
        raise InvalidFeatures(
            f"unknown analysis feature(s): {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(VALID_FEATURES)}"
        )
    if not names:
        raise InvalidFeatures(f"no analysis features requested; valid: {', '.join(VALID_FEATURES)}")
    if "all" in names:
        return FEATURES
    return tuple(name for name in FEATURES if name in names)


# --------------------------------------------------------------------------
# Stages and progress
# --------------------------------------------------------------------------

# Relative cost of each stage, measured on a 4-minute track (decode of a WAV).
_STAGE_WEIGHTS = {
    "decoding": 10,
    "spectrogram": 20,
    "tempo": 25,
    "key": 10,
    "chroma": 15,
    "spectral": 10,
    "mfcc": 5,
    "energy": 5,
    "overview": 10,
}


def _plan_stages(requested: Sequence[str], overview: bool, decode: bool) -> list[str]:
    """Stages to run, in order, for the requested features."""
    needs = _needs(requested, overview)
    stages = ["decoding"] if decode else []
    if needs & {"tempo", "key", "chroma", "spectral", "mfcc"}:
        stages.append("spectrogram")
    stages += [stage for stage in ("tempo", "key", "chroma", "spectral", "mfcc") if stage in needs]
    stages.append("energy")  # RMS also gates the frame means, so it always runs
    if overview:
        stages.append("overview")
    return stages


def _needs(requested: Sequence[str], overview: bool) -> set[str]:
    """Intermediate results the requested features (and picture) depend on."""
    needs = set(requested)
    if overview:
        needs |= {"tempo", "key", "chroma"}
    return needs


class _StageRunner:
    """Reports progress at stage starts and checks for cancellation there."""

    def __init__(self, stages: list[str], progress: ProgressFn | None, cancelled: CancelledFn | None):
        total = sum(_STAGE_WEIGHTS[s] for s in stages)
        self._start_percent = {}
        done = 0.0
        for stage in stages:
            self._start_percent[stage] = 100.0 * done / total
            done += _STAGE_WEIGHTS[stage]
        self._progress = progress
        self._cancelled = cancelled
        self._last = 0.0

    def enter(self, stage: str) -> None:
        if self._cancelled is not None and self._cancelled():
            raise AnalysisCancelled(stage)
        self._report(self._start_percent[stage], stage)

    def finish(self) -> None:
        self._report(100.0, "analysis done")

    def _report(self, percent: float, stage: str) -> None:
        self._last = max(self._last, round(percent, 1))
        if self._progress is not None:
            self._progress(self._last, stage)


# --------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------


@dataclass
class _Shared:
    """What the stages share: the signal and the one spectrogram derived from it."""

    signal: np.ndarray  # the decoded mono signal
    y: np.ndarray  # the signal padded to at least one FFT frame
    rms: np.ndarray  # frame RMS from y (not from the STFT: rms(S=) differs)
    active: np.ndarray  # frames within 60 dB of the loudest: the frames feature means use
    magnitude: np.ndarray | None = None
    power: np.ndarray | None = None
    log_mel: np.ndarray | None = None
    tuning: float | None = None  # semitones, from the key stage's spectral peaks


def _analyze(y: np.ndarray, requested: tuple[str, ...], overview_png: str | None, runner: _StageRunner) -> dict:
    needs = _needs(requested, overview_png is not None)
    shared = _prepare(y, needs, runner)
    result = _empty_result(requested, len(y) / SAMPLE_RATE)

    tempo = _tempo_stage(shared, requested, result, runner) if "tempo" in needs else None
    key = _key_stage(shared, requested, result, runner) if "key" in needs else None
    chroma = _chroma_stage(shared, requested, result, runner) if "chroma" in needs else None
    if "spectral" in needs:
        _spectral_stage(shared, result, runner)
    if "mfcc" in needs:
        _mfcc_stage(shared, result, runner)
    _energy_stage(shared, requested, result, runner)
    if overview_png is not None:
        runner.enter("overview")
        from .analysis_overview import render_overview

        render_overview(overview_png, y=shared.signal, sr=SAMPLE_RATE, rms=shared.rms, hop_length=HOP_LENGTH,
                        chroma=chroma, tempo=tempo, key=key, energy=result["energy"])
        result["features"]["overview_png"] = overview_png
    runner.finish()
    return to_json_safe(result)


def _prepare(y: np.ndarray, needs: set[str], runner: _StageRunner) -> _Shared:
    """Frame RMS, the active-frame mask and (when any feature needs it) the one STFT."""
    import librosa

    padded = _pad_to(y, N_FFT)  # shorter than one frame: pad so every transform has one
    rms = librosa.feature.rms(y=padded, frame_length=N_FFT, hop_length=HOP_LENGTH)[0]
    shared = _Shared(signal=y, y=padded, rms=rms, active=active_frames(rms))
    if needs & {"tempo", "key", "chroma", "spectral", "mfcc"}:
        runner.enter("spectrogram")
        shared.magnitude = np.abs(librosa.stft(padded, n_fft=N_FFT, hop_length=HOP_LENGTH))
        shared.power = shared.magnitude**2
        if needs & {"tempo", "mfcc"}:
            shared.log_mel = librosa.power_to_db(librosa.feature.melspectrogram(S=shared.power, sr=SAMPLE_RATE))
    return shared


def _tempo_stage(shared: _Shared, requested, result: dict, runner: _StageRunner):
    from . import analysis_tempo

    runner.enter("tempo")
    onset_env = analysis_tempo.onset_envelope(shared.log_mel, SAMPLE_RATE, HOP_LENGTH)
    tempo = analysis_tempo.estimate_tempo(onset_env, SAMPLE_RATE, HOP_LENGTH)
    if "tempo" in requested:
        result["tempo"] = _round(tempo.bpm, 2)
        result["features"].update(_tempo_features(tempo))
    return tempo


def _key_stage(shared: _Shared, requested, result: dict, runner: _StageRunner):
    import librosa

    runner.enter("key")
    # A longer STFT than the shared one: 2.7 Hz bins tell bass notes apart down to ~30 Hz.
    long_magnitude = np.abs(librosa.stft(_pad_to(shared.y, KEY_N_FFT), n_fft=KEY_N_FFT, hop_length=KEY_HOP_LENGTH))
    spectrum, tuning = peak_semitones(long_magnitude, SAMPLE_RATE, KEY_N_FFT, fmin=KEY_FMIN_HZ)
    shared.tuning = tuning
    # Frame j of the long STFT is centred where frame 4j of the shared one is.
    active = shared.active[:: KEY_HOP_LENGTH // HOP_LENGTH][: spectrum.shape[1]]
    key = estimate_key(key_evidence(spectrum, active, KEY_HOP_LENGTH / SAMPLE_RATE))
    if "key" in requested:
        result["key"] = key.name
        result["features"].update(_key_features(key), tuning=_round(tuning, 3))
    return key


def _chroma_stage(shared: _Shared, requested, result: dict, runner: _StageRunner) -> np.ndarray:
    import librosa

    runner.enter("chroma")
    # Reuse the key stage's tuning estimate: librosa's own (piptrack over the
    # whole spectrogram) would cost as much as the chroma itself. Silence has
    # no pitch to estimate it from (librosa would warn): 0.
    tuning = shared.tuning if shared.tuning is not None else (None if shared.active.any() else 0.0)
    chroma = librosa.feature.chroma_stft(S=shared.power, sr=SAMPLE_RATE, tuning=tuning)
    if "chroma" in requested:
        result["features"]["chroma"] = {
            "pitch_classes": list(PITCH_CLASSES),
            "mean": _round_list(_masked_mean(chroma, shared.active), 4),
            "std": _round_list(_masked_std(chroma, shared.active), 4),
        }
    return chroma


def _spectral_stage(shared: _Shared, result: dict, runner: _StageRunner) -> None:
    runner.enter("spectral")
    spectral = spectral_summary(shared.magnitude, SAMPLE_RATE, shared.active)
    result["spectral_centroid"] = spectral.pop("spectral_centroid")
    result["spectral_rolloff"] = spectral.pop("spectral_rolloff")
    result["features"].update(spectral)


def _mfcc_stage(shared: _Shared, result: dict, runner: _StageRunner) -> None:
    import librosa

    runner.enter("mfcc")
    mfcc = librosa.feature.mfcc(S=shared.log_mel, sr=SAMPLE_RATE, n_mfcc=N_MFCC)
    result["features"]["mfcc"] = {
        "mean": _round_list(_masked_mean(mfcc, shared.active), 3),
        "std": _round_list(_masked_std(mfcc, shared.active), 3),
    }


def _energy_stage(shared: _Shared, requested, result: dict, runner: _StageRunner) -> None:
    import librosa

    runner.enter("energy")
    if "energy" not in requested:
        return
    zcr = librosa.feature.zero_crossing_rate(shared.y, frame_length=N_FFT, hop_length=HOP_LENGTH)
    result["energy"] = _round(energy_level(shared.signal), 4)
    result["zero_crossing_rate"] = _round(_masked_mean(zcr, shared.active)[0], 5)
    result["features"].update(_energy_features(shared.signal, shared.rms, len(shared.signal) / SAMPLE_RATE))


def _empty_result(requested: tuple[str, ...], duration: float) -> dict:
    result: dict = {column: None for column in COLUMNS}
    result["features"] = {
        "analyzer": ANALYZER_VERSION,
        "requested": list(requested),
        "duration": round(duration, 3),
        "sample_rate": SAMPLE_RATE,
    }
    return result


def active_frames(rms: np.ndarray) -> np.ndarray:
    """Boolean mask of frames within ACTIVE_FRAME_RANGE_DB of the loudest frame.

    All False for digital silence (every frame below -120 dBFS).
    """
    loudest = float(rms.max()) if rms.size else 0.0
    if loudest <= 1e-6:
        return np.zeros(rms.shape, dtype=bool)
    return rms >= loudest * 10.0 ** (-ACTIVE_FRAME_RANGE_DB / 20.0)


def energy_level(y: np.ndarray) -> float:
    """Overall RMS level mapped to 0..1: ``clip(1 + dBFS / 60, 0, 1)``."""
    rms = math.sqrt(float(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
    if rms <= 0.0:
        return 0.0
    dbfs = 20.0 * math.log10(rms)
    return float(np.clip(1.0 - dbfs / ENERGY_FLOOR_DB, 0.0, 1.0))


def spectral_summary(magnitude: np.ndarray, sr: int, active: np.ndarray) -> dict:
    """Means over active frames of centroid, rolloff, bandwidth (Hz) and contrast (dB)."""
    import librosa

    centroid, bandwidth = centroid_and_bandwidth(magnitude, sr)
    rolloff = librosa.feature.spectral_rolloff(S=magnitude, sr=sr)
    contrast = librosa.feature.spectral_contrast(S=magnitude, sr=sr)
    return {
        "spectral_centroid": _round(_masked_mean(centroid, active)[0], 1),
        "spectral_rolloff": _round(_masked_mean(rolloff, active)[0], 1),
        "spectral_bandwidth": _round(_masked_mean(bandwidth, active)[0], 1),
        "spectral_contrast": _round_list(_masked_mean(contrast, active), 3),
    }


def centroid_and_bandwidth(magnitude: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectral centroid and (2nd-order) bandwidth per frame, shape (1, frames) each.

    The same values as ``librosa.feature.spectral_centroid(S=...)`` and
    ``spectral_bandwidth(S=...)``, from first and second moments of one
    normalised spectrum: librosa normalises the whole spectrogram once per
    feature (and bandwidth computes the centroid again), which costs more
    than the STFT itself. Frames with no energy get 0.
    """
    import librosa

    n_fft = 2 * (magnitude.shape[0] - 1)
    # Frequencies in the spectrogram's dtype: a float64 vector would make NumPy
    # copy the whole float32 spectrogram to float64 (15x slower here).
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft).astype(magnitude.dtype)
    total = magnitude.sum(axis=0, dtype=np.float64)
    scale = np.divide(1.0, total, out=np.zeros_like(total), where=total > np.finfo(magnitude.dtype).tiny)
    centroid = (freqs @ magnitude).astype(np.float64) * scale
    second_moment = ((freqs**2) @ magnitude).astype(np.float64) * scale
    bandwidth = np.sqrt(np.maximum(second_moment - centroid**2, 0.0))
    return centroid[None, :], bandwidth[None, :]


def _tempo_features(tempo) -> dict:
    return {
        "tempo_confidence": _round(tempo.confidence, 3),
        "tempo_alternatives": [
            {"bpm": _round(a["bpm"], 2), "relation": a["relation"], "confidence": _round(a["confidence"], 3)}
            for a in tempo.alternatives
        ],
        "beats": _round_list(tempo.beat_times, 3),
        "beat_count": len(tempo.beat_times),
    }


def _key_features(key) -> dict:
    return {
        "key_confidence": _round(key.confidence, 3),
        "key_correlation": _round(key.correlation, 3),
        "camelot": key.camelot,
        "mode": key.mode,
        "tonic": PITCH_CLASSES[key.tonic] if key.tonic is not None else None,
        "key_score": _round(key.ranking[0][2], 3) if key.ranking else None,
        "key_alternatives": [
            {"key": f"{PITCH_CLASSES[t]} {m}", "score": _round(r, 3)} for t, m, r in key.ranking[1:4]
        ],
    }


def _energy_features(y: np.ndarray, rms: np.ndarray, duration: float) -> dict:
    overall = math.sqrt(float(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
    return {
        "rms": _round(overall, 5),
        "rms_dbfs": _round(20 * math.log10(overall), 2) if overall > 0 else None,
        "peak": _round(float(np.max(np.abs(y))) if len(y) else 0.0, 4),
        "energy_curve": {
            "seconds_per_point": _round(duration / ENERGY_CURVE_POINTS, 4) if len(rms) > ENERGY_CURVE_POINTS
            else _round(HOP_LENGTH / SAMPLE_RATE, 4),
            "rms": _round_list(downsample_max(rms, ENERGY_CURVE_POINTS), 4),
        },
    }


def downsample_max(values: np.ndarray, points: int) -> np.ndarray:
    """Reduce a 1-D series to at most ``points`` values, keeping each bucket's max."""
    if len(values) <= points:
        return values
    edges = np.linspace(0, len(values), points + 1).astype(int)
    return np.maximum.reduceat(values, edges[:-1])


def _masked_mean(frames: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Per-row mean over active frames; zeros when no frame is active."""
    n = min(frames.shape[1], len(active))
    mask = active[:n]
    if not mask.any():
        return np.zeros(frames.shape[0])
    return frames[:, :n][:, mask].mean(axis=1)


def _masked_std(frames: np.ndarray, active: np.ndarray) -> np.ndarray:
    n = min(frames.shape[1], len(active))
    mask = active[:n]
    if not mask.any():
        return np.zeros(frames.shape[0])
    return frames[:, :n][:, mask].std(axis=1)


def _pad_to(y: np.ndarray, length: int) -> np.ndarray:
    return y if len(y) >= length else np.pad(y, (0, length - len(y)))


# --------------------------------------------------------------------------
# JSON safety
# --------------------------------------------------------------------------


def _round(value, digits: int):
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _round_list(values, digits: int) -> list:
    return [_round(v, digits) for v in np.asarray(values).ravel()]


def to_json_safe(value):
    """Convert NumPy scalars/arrays to Python types and NaN/inf to None, recursively."""
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot make {type(value).__name__} JSON-safe")
