"""Pre-compile librosa's numba functions into the numba cache.

    NUMBA_CACHE_DIR=<dir> python -m sfa_engine.warm_numba

The first analysis in a process otherwise pays for compiling librosa's beat
tracker, onset and pitch-tracking kernels (~25 s on a 2-core machine); with a
warm cache a fresh process pays a few seconds. This runs the full analysis on
a few seconds of generated audio, so the kernels are compiled for exactly the
types real analyses use (float32 signals). Set NUMBA_CACHE_DIR to the same
directory the engine uses; unset, numba caches next to librosa's sources.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np


def warm_up_signal(sr: int, seconds: float = 6.0) -> np.ndarray:
    """Clicks at 120 BPM over an A minor triad: exercises every analysis stage."""
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) / 3
    clicks = np.zeros_like(t)
    for beat in np.arange(0, seconds, 0.5):
        i = int(beat * sr)
        clicks[i : i + 200] += np.hanning(400)[200:] * np.sign(np.sin(np.arange(200)))
    return (0.3 * chord + 0.5 * clicks).astype(np.float32)


def main() -> int:
    from .analysis import SAMPLE_RATE, analyze_signal

    started = time.perf_counter()
    analyze_signal(warm_up_signal(SAMPLE_RATE), SAMPLE_RATE, ["all"])
    elapsed = time.perf_counter() - started
    cache = os.environ.get("NUMBA_CACHE_DIR") or "(numba default: next to librosa's sources)"
    print(f"numba kernels ready in {elapsed:.1f} s; cache: {cache}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
