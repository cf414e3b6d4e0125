"""Key (and tempo) accuracy on the song corpus: ours vs Essentia vs plain librosa.

    NUMBA_CACHE_DIR=$PWD/.cache/numba python/.venv/bin/python bench/key_accuracy.py

Corpus (python/tests/key_corpus.py, rendered with FluidSynth + FluidR3 GM,
nothing downloaded): the sets ``pop``, ``jazz``, ``mixture`` and
``modulating`` (``--count`` songs each, 48 by default, two per key), plus the cadence grid of
python/tests/audio_fixtures.py (I-IV-V-I / I-vi-IV-V-I and the minor
equivalents, 24 keys x 2, FluidSynth and NumPy-synth renders).

Analyzers:

* ``ours``: sfa_engine.analysis.analyze_signal(features=["tempo", "key"]).
* ``essentia-<profile>``: Essentia's KeyExtractor with the profiles shaath,
  bgate, edma, krumhansl, temperley; tempo from RhythmExtractor2013.
  Essentia is AGPL-3.0 and not a dependency of the project: this script
  creates a separate venv (bench/out/essentia-venv, gitignored), installs
  the pinned essentia wheel from PyPI there and runs
  bench/key_essentia_worker.py with it.
* ``librosa-ks``: mean ``librosa.feature.chroma_stft`` + Krumhansl-Schmuckler
  (Krumhansl-Kessler profiles); tempo from ``librosa.feature.tempo``.

Per set and analyzer: MIREX score (1 / 0.5 fifth / 0.3 relative / 0.2
parallel / 0), exact, the share of each confusion class, tempo Acc1
(within 4 %, song sets only), and for ours the AUC of key_confidence
separating right from wrong answers.

Options: ``--split dev`` runs the tuning songs instead of the reported
``test`` songs; ``--analyzers ours`` skips the anchors; ``--sets pop,jazz``.
Writes bench/out/key_accuracy-<split>.json and prints Markdown.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "python"), str(REPO / "python" / "tests")]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

import audio_fixtures as af  # noqa: E402
import key_corpus as kc  # noqa: E402
from sfa_engine.analysis import analyze_signal  # noqa: E402
from sfa_engine.analysis_key import PROFILES, key_name, mirex_key_score  # noqa: E402

OUT = REPO / "bench" / "out"
ESSENTIA_VENV = OUT / "essentia-venv"
ESSENTIA_VERSION = "2.1b6.dev1389"
ESSENTIA_PROFILES = ("shaath", "bgate", "edma", "krumhansl", "temperley")
SONG_SETS = kc.SETS
CADENCE_SETS = ("cadence-fluidsynth", "cadence-synth")
CLASSES = ("exact", "fifth", "relative", "parallel", "other")
CLASS_OF_SCORE = {1.0: "exact", 0.5: "fifth", 0.3: "relative", 0.2: "parallel", 0.0: "other"}


def cases(sets: list[str], split: str, count: int = 24):
    """(set, name, key, bpm or None, render) for every song of the requested sets (``count`` per song set)."""
    for set_name in sets:
        if set_name in SONG_SETS:
            for song in kc.songs(set_name, split, count):
                yield set_name, song.name, song.key, song.bpm, (lambda s=song: kc.render(s))
        else:
            renderer = set_name.split("-")[1]
            offset = 0 if split == "test" else 3  # dev: other tempi
            for variant in (0, 1):
                for i, key in enumerate(af.all_keys()):
                    bpm = 80 + 10 * ((i + offset) % 5)
                    yield (set_name, f"{set_name}-{variant}-{i:02d}", key, None,
                           (lambda k=key, r=renderer, b=bpm, v=variant: af.chords(k, r, bpm=b, variant=v)))


def ks_key(chroma_mean: np.ndarray) -> str:
    """Plain Krumhansl-Schmuckler: best Pearson correlation with the rotated K-K profiles."""
    best, best_r = None, -2.0
    for mode, profile in zip(("major", "minor"), PROFILES["krumhansl"]):
        for tonic in range(12):
            r = float(np.corrcoef(np.roll(profile, tonic), chroma_mean)[0, 1])
            if r > best_r:
                best, best_r = key_name(tonic, mode), r
    return best


def run_librosa(y: np.ndarray) -> dict:
    import librosa

    chroma = librosa.feature.chroma_stft(y=y, sr=af.SR).mean(axis=1)
    return {"key": ks_key(chroma), "bpm": float(librosa.feature.tempo(y=y, sr=af.SR)[0])}


def ensure_essentia() -> Path:
    python = ESSENTIA_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ESSENTIA_VENV)], check=True)
    check = subprocess.run([str(python), "-c", "import essentia; print(essentia.__version__)"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"essentia=={ESSENTIA_VERSION}"], check=True)
    return python


def run_essentia(paths: list[str]) -> dict[str, dict]:
    """Essentia results per WAV path, cached by file content."""
    cache_path = OUT / "essentia-cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    digest = {p: hashlib.sha1(Path(p).read_bytes()).hexdigest() for p in paths}
    todo = [p for p in paths if digest[p] not in cache]
    if todo:
        python = ensure_essentia()
        proc = subprocess.run([str(python), str(REPO / "bench" / "key_essentia_worker.py")],
                              input=json.dumps(todo), capture_output=True, text=True, check=True)
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                cache[digest[row["path"]]] = row
        cache_path.write_text(json.dumps(cache))
    return {p: cache[digest[p]] for p in paths}


def auc(scores: list[float], positive: list[bool]) -> float | None:
    """Probability that a right answer has a higher confidence than a wrong one (ties count half)."""
    pos = [s for s, p in zip(scores, positive) if p]
    neg = [s for s, p in zip(scores, positive) if not p]
    if not pos or not neg:
        return None
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def within(estimate, truth, tolerance=0.04) -> bool:
    return estimate is not None and abs(estimate / truth - 1.0) <= tolerance


def evaluate(rows: list[dict], analyzers: list[str]) -> list[dict]:
    """One summary row per (set, analyzer), plus "all" per analyzer."""
    by_set = defaultdict(list)
    for row in rows:
        by_set[row["set"]].append(row)
    summary = []
    for set_name, set_rows in [*by_set.items(), ("all", rows)]:
        for analyzer in analyzers:
            results = [r["results"][analyzer] for r in set_rows]
            scores = [mirex_key_score(res["key"], r["key"]) for res, r in zip(results, set_rows)]
            classes = [CLASS_OF_SCORE[s] for s in scores]
            entry = {"set": set_name, "analyzer": analyzer, "n": len(set_rows),
                     "mirex": float(np.mean(scores)), **{c: classes.count(c) / len(classes) for c in CLASSES}}
            timed = [(res.get("bpm"), r["bpm"]) for res, r in zip(results, set_rows) if r["bpm"] is not None]
            entry["tempo_acc1"] = float(np.mean([within(e, t) for e, t in timed])) if timed else None
            confidences = [res.get("confidence") for res in results]
            if all(c is not None for c in confidences):
                entry["confidence_auc"] = auc(confidences, [c == "exact" for c in classes])
            summary.append(entry)
    return summary


def markdown(summary: list[dict]) -> str:
    lines = ["| set | analyzer | n | MIREX | exact | fifth | relative | parallel | other | tempo Acc1 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        tempo = f"{e['tempo_acc1']:.2f}" if e["tempo_acc1"] is not None else ""
        name = f"**{e['analyzer']}**" if e["analyzer"] == "ours" else e["analyzer"]
        lines.append(f"| {e['set']} | {name} | {e['n']} | {e['mirex']:.3f} | " +
                     " | ".join(f"{e[c]:.2f}" for c in CLASSES) + f" | {tempo} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=sorted(kc.SPLIT_SEEDS), default="test")
    parser.add_argument("--sets", default=",".join(SONG_SETS + CADENCE_SETS))
    parser.add_argument("--analyzers", default="ours,librosa,essentia")
    parser.add_argument("--count", type=int, default=48,
                        help="songs per song set (48: one song moves a set by 0.02; the cadence sets keep their 48)")
    args = parser.parse_args(argv)
    sets = args.sets.split(",")
    wanted = args.analyzers.split(",")
    started = time.perf_counter()
    wav_dir = OUT / "key-corpus" / args.split
    wav_dir.mkdir(parents=True, exist_ok=True)

    rows = []
    for set_name, name, key, bpm, render in cases(sets, args.split, args.count):
        y = render()
        row = {"set": set_name, "name": name, "key": key, "bpm": bpm, "results": {}}
        if "ours" in wanted:
            result = analyze_signal(y, af.SR, ["tempo", "key"])
            row["results"]["ours"] = {"key": result["key"], "bpm": result["tempo"],
                                      "confidence": result["features"]["key_confidence"],
                                      "alternatives": result["features"]["key_alternatives"]}
        if "librosa" in wanted:
            row["results"]["librosa-ks"] = run_librosa(y)
        if "essentia" in wanted:
            row["wav"] = str(wav_dir / f"{name}.wav")
            sf.write(row["wav"], y, af.SR, subtype="PCM_16")
        rows.append(row)
    if "essentia" in wanted:
        anchors = run_essentia([r["wav"] for r in rows])
        for row in rows:
            found = anchors[row["wav"]]
            for profile in ESSENTIA_PROFILES:
                row["results"][f"essentia-{profile}"] = {"key": found["keys"][profile]["key"], "bpm": found["bpm"],
                                                         "confidence": found["keys"][profile]["strength"]}
    analyzers = list(rows[0]["results"])
    summary = evaluate(rows, analyzers)
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.sets == parser.get_default("sets") else "-" + "+".join(sets)  # runs of some sets side by side
    (OUT / f"key_accuracy-{args.split}{suffix}.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(markdown(summary))
    ours_auc = [(e["set"], round(e["confidence_auc"], 3) if e.get("confidence_auc") is not None else None)
                for e in summary if e["analyzer"] == "ours"]
    print(f"\nconfidence AUC (ours, right vs wrong): {ours_auc}")
    misses = [(r["name"], r["key"], r["results"]["ours"]["key"]) for r in rows
              if "ours" in r["results"] and r["results"]["ours"]["key"] != r["key"]]
    print(f"ours misses: {misses}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
