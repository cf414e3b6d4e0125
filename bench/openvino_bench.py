"""OpenVINO vs torch vs `python -m demucs`: CPU seconds and peak RSS, whole processes, interleaved.

    python/.venv/bin/python bench/openvino_bench.py --work /tmp/sfa-ov-bench --trials 3 [--seconds 30]

Full-size random htdemucs (`make_test_model --size full`), one input of
--seconds, demucs CLI defaults on both sides (shifts 1, overlap 0.25, 16-bit
wav). Every run is a fresh process tree under /usr/bin/time -v; CPU seconds
are user + sys of the child and its children (rusage), which moves far less
than wall time when other jobs share the cores. Variants run round-robin
(trial 1 of each, then trial 2 of each, ...) so load changes hit all alike.

Before the trials, the OpenVINO cache is emptied and one `prepare_model` run
measures the first conversion; a second one the cached start-up. Each run is
appended to <work>/runs.jsonl; medians go to <work>/summary.json and stdout.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from separation_bench import PY, REPO, Runs, cli, load_average, make_input, make_model, ours, timed  # noqa: E402

VARIANTS = {
    "ours_openvino_f32": {"SFA_SEPARATION_BACKEND": "openvino", "SFA_INFERENCE_PRECISION": "f32"},
    "ours_openvino_auto": {"SFA_SEPARATION_BACKEND": "auto", "SFA_INFERENCE_PRECISION": "auto"},
    "ours_torch": {"SFA_SEPARATION_BACKEND": "torch"},
}
CLI_DEFAULTS = {"shifts": 1, "overlap": 0.25}  # what `python -m demucs` does without flags


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/sfa-ov-bench"))
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--bf16", action="store_true", help="also run SFA_INFERENCE_PRECISION=bf16")
    ap.add_argument("--keep-cache", action="store_true", help="reuse <work>/ov-cache; no prepare runs")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    models = make_model(args.work / "models-full", "full")
    cache = args.work / "ov-cache"
    src = make_input(args.work / f"in{args.seconds}.wav", args.seconds, 0)
    out = args.work / "out"
    runs = Runs(args.work, "openvino")
    variants = dict(VARIANTS)
    import openvino as ov
    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        del variants["ours_openvino_auto"]  # auto is f32 on this CPU: the same run twice
    if args.bf16:
        variants["ours_openvino_bf16"] = {"SFA_SEPARATION_BACKEND": "openvino", "SFA_INFERENCE_PRECISION": "bf16"}
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    # Conversion cost: empty cache, then cached (--keep-cache: skip, reuse the cache).
    prepare = [PY, "-m", "sfa_engine.prepare_model", "--name", "htdemucs", "--dir", str(models)]
    env = {"SFA_CACHE_DIR": str(cache), "SFA_INFERENCE_PRECISION": "f32", "PYTHONPATH": str(REPO / "python")}
    if not args.keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
        runs["prepare_first"] = timed(prepare, env)
        runs["prepare_cached"] = timed(prepare, env)
    cache_mb = dir_mb(cache)

    for trial in range(1, args.trials + 1):
        runs[f"cli_{trial}"] = cli([src], out, models, [])
        for name, venv in variants.items():
            runs[f"{name}_{trial}"] = ours([src], out, models, CLI_DEFAULTS, {"SFA_CACHE_DIR": str(cache), **venv})

    def med(prefix: str, field: str) -> float:
        return statistics.median(r[field] for k, r in runs.items() if k.rsplit("_", 1)[0] == prefix)

    base = med("cli", "cpu")
    summary = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "seconds": args.seconds, "trials": args.trials, "load_at_end": load_average(),
               "cache_mb": round(cache_mb, 1),
               **({f"{k}_{f}": runs[k][f] for k in ("prepare_first", "prepare_cached") for f in ("wall", "cpu", "peak_rss_mb")}
                  if not args.keep_cache else {}),
               "variants": {}}
    for name in ["cli", *variants]:
        summary["variants"][name] = {
            "cpu_median": round(med(name, "cpu"), 1), "vs_cli": round(med(name, "cpu") / base, 3),
            "wall_median": round(med(name, "wall"), 1), "peak_rss_mb_median": round(med(name, "peak_rss_mb")),
            "loads": [runs[f"{name}_{t}"]["load_before"] for t in range(1, args.trials + 1)],
        }
    (args.work / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
