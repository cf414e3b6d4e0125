"""Decode an audio file to one mono signal at the analysis sample rate.

The input is probed first (:func:`sfa_engine.audio_io.probe`): only the
containers and codecs of catalog/audio_formats.json get any further. Then
libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis/Opus and MP3
directly, which is the fast path; anything else (M4A/AAC, WebM, ...) goes
through the engine's ffmpeg decoder in :mod:`sfa_engine.audio_io`. Channels
are averaged and the result is resampled with soxr (as ``librosa.load`` does).
"""

from __future__ import annotations

import os

import numpy as np

from .audio_formats import SOUNDFILE_FORMATS
from .errors import EngineError

_READ_BLOCK_SECONDS = 30


def load_mono(path: str, sr: int, max_duration: float | None = None) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sr``.

    Raises
    ------
    EngineError
        ``bad_input`` when the file does not exist, ``unsupported_audio`` when
        neither libsndfile nor ffmpeg can decode it, ``too_long`` when it is
        longer than ``max_duration`` seconds.
    """
    from . import audio_io

    if not os.path.isfile(path):
        raise EngineError("bad_input", f"input file not found: {path}")
    info = audio_io.probe(path)  # unsupported_audio unless an allowed container and codec
    if info.duration is not None:
        _check_duration(info.duration, max_duration)
    try:
        y, file_sr = _read_soundfile(path, max_duration)
    except _NotForLibsndfile:
        y, file_sr = _read_ffmpeg(path, max_duration)
    if file_sr != sr and len(y):
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr, res_type="soxr_hq")
    return np.ascontiguousarray(y, dtype=np.float32)


class _NotForLibsndfile(Exception):
    """libsndfile does not know this container: try ffmpeg."""


def _read_soundfile(path: str, max_duration: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        handle = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise _NotForLibsndfile() from exc
    with handle:
        if handle.format not in SOUNDFILE_FORMATS:
            raise _NotForLibsndfile()
        # MP3 frame counts are estimates; the read below is what counts.
        _check_duration(handle.frames / handle.samplerate, max_duration)
        blocks = []
        total = 0
        for block in handle.blocks(blocksize=_READ_BLOCK_SECONDS * handle.samplerate, dtype="float32",
                                   always_2d=True):
            blocks.append(block.mean(axis=1))  # mono per block: never hold all channels at once
            total += len(block)
            _check_duration(total / handle.samplerate, max_duration)
        y = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
        return y, handle.samplerate


def _read_ffmpeg(path: str, max_duration: float | None) -> tuple[np.ndarray, int]:
    from . import audio_io

    blocks = []
    total = 0
    for block in audio_io.decode_blocks(path, _READ_BLOCK_SECONDS * audio_io.SAMPLE_RATE):
        blocks.append(block.mean(axis=0))
        total += block.shape[1]
        _check_duration(total / audio_io.SAMPLE_RATE, max_duration)
    y = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    return y, audio_io.SAMPLE_RATE


def _check_duration(seconds: float, max_duration: float | None) -> None:
    # A little slack: container durations and decoded lengths differ by a frame or two.
    if max_duration is not None and seconds > max_duration + 0.5:
        raise EngineError("too_long", f"input is {seconds:.0f} s long; the limit is {max_duration:.0f} s")
