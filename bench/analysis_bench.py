"""Speed of the analyzer on a 4-minute input.

    NUMBA_CACHE_DIR=$PWD/.cache/numba python/.venv/bin/python bench/analysis_bench.py [--repeats 3]

Measures, on one generated 4-minute track (chords + bass + drums, 44.1 kHz
stereo WAV under bench/out/):

1. ``sfa_engine.analysis.analyze(path, ["all"])`` (one decode, one STFT) vs the
   naive way: the same decode, then every feature through its own librosa
   ``y=`` call (each computing its own STFT / mel spectrogram), in the same
   warm process. Best of ``--repeats``; the ratio is naive / ours.
2. The first analysis in a fresh Python process: with an empty
   NUMBA_CACHE_DIR (librosa's numba kernels compile) and with a warm one
   (``python -m sfa_engine.warm_numba`` has run). Import time is reported
   separately.

Prints a Markdown table and writes bench/out/analysis_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "python"), str(REPO / "python" / "tests")]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))

import numpy as np  # noqa: E402

OUT = REPO / "bench" / "out"
DURATION_S = 240.0


def make_input(path: Path) -> Path:
    """A 4-minute track: songs in a few keys and tempos back to back."""
    import librosa
    import soundfile as sf

    import audio_fixtures as af

    if path.exists():
        return path
    pieces, total = [], 0
    plan = [(96, "A minor", "rock"), (124, "C major", "four_on_floor"), (108, "F# minor", "funk"),
            (140, "D major", "breakbeat")]
    i = 0
    while total < DURATION_S * af.SR:
        bpm, key, pattern = plan[i % len(plan)]
        piece = af.song(bpm, key, pattern, renderer="synth", seed=i)
        pieces.append(piece)
        total += len(piece)
        i += 1
    y = np.concatenate(pieces)[: int(DURATION_S * af.SR)]
    y44 = librosa.resample(y, orig_sr=af.SR, target_sr=44100)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([y44, y44], axis=1), 44100, subtype="PCM_16")
    return path


def naive_analysis(path: str) -> dict:
    """Every feature through its own librosa call, as straightforward code does it."""
    import librosa

    from sfa_engine.analysis_decode import load_mono
    from sfa_engine.analysis_key import estimate_key

    sr = 22050
    y = load_mono(path, sr)
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    key = estimate_key(chroma.mean(axis=1))
    return {
        "tempo": float(np.atleast_1d(tempo)[0]),
        "key": key.name,
        "energy": float(librosa.feature.rms(y=y).mean()),
        "zero_crossing_rate": float(librosa.feature.zero_crossing_rate(y).mean()),
        "spectral_centroid": float(librosa.feature.spectral_centroid(y=y, sr=sr).mean()),
        "spectral_rolloff": float(librosa.feature.spectral_rolloff(y=y, sr=sr).mean()),
        "bandwidth": float(librosa.feature.spectral_bandwidth(y=y, sr=sr).mean()),
        "contrast": librosa.feature.spectral_contrast(y=y, sr=sr).mean(axis=1).tolist(),
        "mfcc": librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13).mean(axis=1).tolist(),
        "chroma": chroma.mean(axis=1).tolist(),
    }


def best_times(fns: dict, repeats: int) -> dict:
    """Best wall time of each function, run interleaved so load spikes hit both alike."""
    best = {name: (float("inf"), None) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            best[name] = (min(best[name][0], elapsed), result)
    return best


FRESH_PROCESS = """
import time, json
t0 = time.perf_counter()
from sfa_engine.analysis import analyze
import librosa
t1 = time.perf_counter()
analyze({path!r}, ["all"])
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_analysis_s": t2 - t1}}))
"""


def fresh_process(path: str, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS.format(path=path)], cwd=REPO / "python",
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from sfa_engine.analysis import analyze
    from sfa_engine.warm_numba import main as warm

    path = str(make_input(OUT / "bench_4min.wav"))
    warm()  # compile (or load) numba kernels before timing anything in this process
    timed = best_times({"ours": lambda: analyze(path, ["all"]), "naive": lambda: naive_analysis(path)}, args.repeats)
    (ours_s, ours), (naive_s, naive) = timed["ours"], timed["naive"]

    with tempfile.TemporaryDirectory(prefix="numba-empty-") as empty:
        cold = fresh_process(path, empty)
    warm_cache = fresh_process(path, os.environ["NUMBA_CACHE_DIR"])

    report = {
        "input": {"path": os.path.relpath(path, REPO), "seconds": DURATION_S},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "warm_process": {"ours_s": round(ours_s, 3), "naive_s": round(naive_s, 3),
                         "speedup": round(naive_s / ours_s, 2), "repeats": args.repeats},
        "fresh_process_empty_numba_cache": {k: round(v, 2) for k, v in cold.items()},
        "fresh_process_warm_numba_cache": {k: round(v, 2) for k, v in warm_cache.items()},
        "agreement": {"tempo_ours": ours["tempo"], "tempo_naive": round(naive["tempo"], 2),
                      "key_ours": ours["key"], "key_naive": naive["key"]},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "analysis_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    w = report["warm_process"]
    print(f"| measurement (4-minute input, all features) | seconds |\n|---|---|\n"
          f"| ours: one decode, one STFT (warm process, best of {args.repeats}) | {w['ours_s']:.2f} |\n"
          f"| naive: per-feature librosa `y=` calls (same process) | {w['naive_s']:.2f} |\n"
          f"| speed-up | {w['speedup']:.2f}x |\n"
          f"| fresh process, empty NUMBA_CACHE_DIR: import / first analysis | "
          f"{cold['import_s']:.1f} / {cold['first_analysis_s']:.1f} |\n"
          f"| fresh process, warm NUMBA_CACHE_DIR: import / first analysis | "
          f"{warm_cache['import_s']:.1f} / {warm_cache['first_analysis_s']:.1f} |")
    print(json.dumps(report["agreement"]))
    print(f"load average during the run: {report['machine']['load_avg_1m']} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
