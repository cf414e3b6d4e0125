"""OpenVINO vs torch vs `python -m demucs`: CPU seconds and peak RSS, whole processes, interleaved.

    python/.venv/bin/python bench/openvino_bench.py --work /tmp/sfa-ov-bench --trials 3 [--seconds 30] [--batch 5]

Full-size random htdemucs (`make_test_model --size full`), one input of
--seconds, demucs CLI defaults on both sides (shifts 1, overlap 0.25, 16-bit
wav). Every run is a fresh process tree under /usr/bin/time -v; CPU seconds
are user + sys of the child and its children (rusage), which moves far less
than wall time when other jobs share the cores. Variants run round-robin
(trial 1 of each, then trial 2 of each, ...) so load changes hit all alike.

Before the trials, the OpenVINO cache is emptied and, per precision the
variants use (f32, and bf16 where the CPU has it), one `prepare_model` run
measures the first conversion and a second one the cached start-up. Each run is
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
    # Tuning candidates, run only when named with --variants:
    "ours_auto_omp_passive": {"SFA_SEPARATION_BACKEND": "auto", "OMP_WAIT_POLICY": "PASSIVE"},
    "ours_f32_omp_passive": {"SFA_SEPARATION_BACKEND": "openvino", "SFA_INFERENCE_PRECISION": "f32", "OMP_WAIT_POLICY": "PASSIVE"},
    # One window in flight (the default on 1 core), to compare with the 2+-core default:
    "ours_f32_one_window": {"SFA_SEPARATION_BACKEND": "openvino", "SFA_INFERENCE_PRECISION": "f32", "SFA_OPENVINO_WINDOWS": "1"},
    "ours_auto_one_window": {"SFA_SEPARATION_BACKEND": "auto", "SFA_OPENVINO_WINDOWS": "1"},
    "ours_auto_two_windows": {"SFA_SEPARATION_BACKEND": "auto", "SFA_OPENVINO_WINDOWS": "2"},
}
DEFAULT_VARIANTS = ("ours_openvino_f32", "ours_openvino_auto", "ours_torch")
CLI_DEFAULTS = {"shifts": 1, "overlap": 0.25}  # what `python -m demucs` does without flags


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/sfa-ov-bench"))
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--bf16", action="store_true", help="also run SFA_INFERENCE_PRECISION=bf16")
    ap.add_argument("--batch", type=int, default=0,
                    help="also time N inputs through one engine (auto) vs the CLI given the same N files")
    ap.add_argument("--batch-trials", type=int, default=None, help="rounds of the batch (default --trials)")
    ap.add_argument("--keep-cache", action="store_true", help="reuse <work>/ov-cache; no prepare runs")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    models = make_model(args.work / "models-full", "full")
    cache = args.work / "ov-cache"
    src = make_input(args.work / f"in{args.seconds}.wav", args.seconds, 0)
    out = args.work / "out"
    runs = Runs(args.work, "openvino")
    variants = {name: VARIANTS[name] for name in args.variants.split(",") if name}
    import openvino as ov
    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        variants.pop("ours_openvino_auto", None)  # auto is f32 on this CPU: the same run twice
    if args.bf16:
        variants["ours_openvino_bf16"] = {"SFA_SEPARATION_BACKEND": "openvino", "SFA_INFERENCE_PRECISION": "bf16"}
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    # Conversion cost per precision the variants use: empty cache, then cached
    # (--keep-cache: reuse the cache, only fill what is missing, unmeasured).
    prepare = [PY, "-m", "sfa_engine.prepare_model", "--name", "htdemucs", "--dir", str(models)]
    precisions = ["f32", *(["bf16"] if "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES") else [])]
    if not args.keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
    for precision in precisions:
        env = {"SFA_CACHE_DIR": str(cache), "SFA_INFERENCE_PRECISION": precision, "PYTHONPATH": str(REPO / "python")}
        if args.keep_cache:
            timed(prepare, env)
        else:
            runs[f"prepare_first_{precision}"] = timed(prepare, env)
            runs[f"prepare_cached_{precision}"] = timed(prepare, env)
        # Variants with another windows-in-flight setting compile their own blob (unmeasured).
        for windows in sorted({v["SFA_OPENVINO_WINDOWS"] for v in variants.values() if "SFA_OPENVINO_WINDOWS" in v}):
            timed(prepare, {**env, "SFA_OPENVINO_WINDOWS": windows})
    cache_mb = dir_mb(cache)

    for trial in range(1, args.trials + 1):
        runs[f"cli_{trial}"] = cli([src], out, models, [])
        for name, venv in variants.items():
            runs[f"{name}_{trial}"] = ours([src], out, models, CLI_DEFAULTS, {"SFA_CACHE_DIR": str(cache), **venv})

    # A batch: one engine process serves N requests; the CLI gets the N files in one
    # invocation (its best case: the model loaded once). Round-robin like the rest.
    batch_inputs = [make_input(args.work / f"in{args.seconds}_{i}.wav", args.seconds, i) for i in range(args.batch)]
    batch_trials = (args.batch_trials or args.trials) if args.batch else 0
    for trial in range(1, batch_trials + 1):
        runs[f"cli-batch_{trial}"] = cli(batch_inputs, out, models, [])
        runs[f"ours-batch_{trial}"] = ours(batch_inputs, out, models, CLI_DEFAULTS, {"SFA_CACHE_DIR": str(cache)})

    def med(prefix: str, field: str) -> float:
        return statistics.median(r[field] for k, r in runs.items() if k.rsplit("_", 1)[0] == prefix)

    base = med("cli", "cpu")
    summary = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "seconds": args.seconds, "trials": args.trials, "load_at_end": load_average(),
               "cache_mb": round(cache_mb, 1),
               **{f"{k}_{f}": round(r[f], 2) for k, r in runs.items() if k.startswith("prepare_")
                  for f in ("wall", "cpu", "peak_rss_mb")},
               "variants": {}}
    for name in ["cli", *variants]:
        summary["variants"][name] = {
            "cpu_median": round(med(name, "cpu"), 1), "vs_cli": round(med(name, "cpu") / base, 3),
            "wall_median": round(med(name, "wall"), 1), "peak_rss_mb_median": round(med(name, "peak_rss_mb")),
            "loads": [runs[f"{name}_{t}"]["load_before"] for t in range(1, args.trials + 1)],
        }
        if name != "cli":  # each round's ratio to the CLI run beside it: less exposed to load changes
            ratios = [runs[f"{name}_{t}"]["cpu"] / runs[f"cli_{t}"]["cpu"] for t in range(1, args.trials + 1)]
            summary["variants"][name]["round_ratios"] = [round(r, 3) for r in ratios]
            summary["variants"][name]["vs_cli_round_median"] = round(statistics.median(ratios), 3)
    if args.batch:
        cli_batch, ours_batch = med("cli-batch", "cpu"), med("ours-batch", "cpu")
        summary["batch"] = {
            "inputs": args.batch, "cli_one_invocation_cpu": round(cli_batch, 1), "ours_cpu": round(ours_batch, 1),
            "vs_cli_one_invocation": round(ours_batch / cli_batch, 3),
            "vs_cli_separate_runs": round(ours_batch / (args.batch * base), 3),  # N runs of the single-input CLI
            "cli_peak_rss_mb": round(med("cli-batch", "peak_rss_mb")), "ours_peak_rss_mb": round(med("ours-batch", "peak_rss_mb")),
            "ours_wall": round(med("ours-batch", "wall"), 1), "cli_wall": round(med("cli-batch", "wall"), 1),
        }
    (args.work / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
