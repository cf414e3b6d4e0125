"""Tempo and key accuracy of the analyzer on the full generated grid.

    NUMBA_CACHE_DIR=$PWD/.cache/numba python/.venv/bin/python bench/analysis_accuracy.py

Audio comes from python/tests/audio_fixtures.py (nothing downloaded):

* tempo: 4 drum patterns x 60..190 BPM in 5 BPM steps (with a fractional
  offset so tempi are not all integers) x 2 renderers (NumPy synth, FluidSynth
  + FluidR3 GM), plus chords+bass+drums songs. Acc1 = within 4 %, Acc2 = also
  at x2, x3, 1/2, 1/3.
* key: 24 keys x 2 cadences (I-IV-V-I / i-iv-V-i, I-vi-IV-V-I / i-VI-iv-V-i)
  x 2 renderers, plus songs with drums. Exact and MIREX-weighted (1.0
  correct, 0.5 fifth, 0.3 relative, 0.2 parallel).

Prints Markdown tables per group and writes bench/out/analysis_accuracy.json.
The pytest suite (python/tests/test_analysis.py) asserts the thresholds on a
smaller subset of this grid.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "python"), str(REPO / "python" / "tests")]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))

import audio_fixtures as af  # noqa: E402
from sfa_engine.analysis import analyze_signal  # noqa: E402
from sfa_engine.analysis_key import mirex_key_score  # noqa: E402

ACC2_FACTORS = (1.0, 2.0, 3.0, 0.5, 1.0 / 3.0)
OUT = REPO / "bench" / "out"


def within(estimate, truth, factors, tolerance=0.04) -> bool:
    return estimate is not None and any(abs(estimate / (truth * f) - 1.0) <= tolerance for f in factors)


def renderers() -> list[str]:
    return ["synth", "fluidsynth"] if af.fluidsynth_available() else ["synth"]


def tempo_cases():
    patterns = list(af.DRUM_PATTERNS)
    for renderer in renderers():
        for pattern in patterns:
            for i, bpm in enumerate(range(60, 191, 5)):
                true_bpm = bpm + 0.37 * (i % 3)
                yield f"{renderer}/drums-{pattern}", true_bpm, lambda: af.drums(true_bpm, pattern, renderer, seed=i)
        for i, key in enumerate(af.all_keys()[::2]):
            bpm = 70 + 10 * i
            pattern = patterns[i % 4]
            yield f"{renderer}/song", bpm, lambda: af.song(bpm, key, pattern, renderer, seed=i)


def key_cases():
    patterns = list(af.DRUM_PATTERNS)
    for renderer in renderers():
        for variant in (0, 1):
            for i, key in enumerate(af.all_keys()):
                yield f"{renderer}/cadence{variant}", key, lambda: af.chords(key, renderer, bpm=80 + 10 * (i % 5),
                                                                              variant=variant)
        for i, key in enumerate(af.all_keys()):
            yield f"{renderer}/song", key, lambda: af.song(90 + 5 * (i % 8), key, patterns[i % 4], renderer, seed=i)


def run_tempo() -> dict:
    groups = defaultdict(list)
    for group, truth, render in tempo_cases():
        estimate = analyze_signal(render(), af.SR, ["tempo"])["tempo"]
        groups[group].append({"truth": round(truth, 2), "estimate": estimate,
                              "acc1": within(estimate, truth, (1.0,)), "acc2": within(estimate, truth, ACC2_FACTORS)})
    return groups


def run_key() -> dict:
    groups = defaultdict(list)
    for group, truth, render in key_cases():
        estimate = analyze_signal(render(), af.SR, ["key"])["key"]
        groups[group].append({"truth": truth, "estimate": estimate, "exact": estimate == truth,
                              "mirex": mirex_key_score(estimate, truth)})
    return groups


def summarise(groups: dict, metrics: tuple[str, ...]) -> list[dict]:
    rows = []
    everything = [case for cases in groups.values() for case in cases]
    for name, cases in [*sorted(groups.items()), ("all", everything)]:
        row = {"group": name, "n": len(cases)}
        for metric in metrics:
            row[metric] = round(sum(float(c[metric]) for c in cases) / len(cases), 3)
        rows.append(row)
    return rows


def markdown(rows: list[dict], metrics: tuple[str, ...]) -> str:
    head = "| set | n | " + " | ".join(metrics) + " |\n|---|---|" + "---|" * len(metrics)
    lines = [f"| {r['group']} | {r['n']} | " + " | ".join(f"{100 * r[m]:.1f} %" for m in metrics) + " |"
             for r in rows]
    return "\n".join([head, *lines])


def main() -> int:
    started = time.perf_counter()
    tempo = run_tempo()
    key = run_key()
    tempo_rows = summarise(tempo, ("acc1", "acc2"))
    key_rows = summarise(key, ("exact", "mirex"))
    OUT.mkdir(parents=True, exist_ok=True)
    misses = {
        "tempo_acc2": [dict(c, group=g) for g, cases in tempo.items() for c in cases if not c["acc2"]],
        "key": [dict(c, group=g) for g, cases in key.items() for c in cases if not c["exact"]],
    }
    (OUT / "analysis_accuracy.json").write_text(json.dumps(
        {"tempo": tempo_rows, "key": key_rows, "misses": misses}, indent=2) + "\n")
    print("Tempo\n\n" + markdown(tempo_rows, ("acc1", "acc2")) + "\n")
    print("Key\n\n" + markdown(key_rows, ("exact", "mirex")) + "\n")
    print(f"tempo Acc2 misses: {[(m['group'], m['truth'], m['estimate']) for m in misses['tempo_acc2']]}")
    print(f"key misses: {[(m['group'], m['truth'], m['estimate']) for m in misses['key']]}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
