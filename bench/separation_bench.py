"""Separation benchmarks: our engine vs `python -m demucs`, and memory vs track length.

    python/.venv/bin/python bench/separation_bench.py speed  --work /tmp/sfa-bench
    python/.venv/bin/python bench/separation_bench.py memory --work /tmp/sfa-bench [--backend auto|torch]

`speed`: full-size random htdemucs (same file for both), 30 s inputs; one track
and a batch of five, each in a fresh process tree measured by /usr/bin/time -v
(wall clock and peak RSS of the largest process). The CLI gets its 5 files in
ONE invocation (model loaded once, its best case); ours is one engine process
serving 5 requests.
`memory`: peak RSS of a fresh engine (--backend, default auto: OpenVINO on CPU) separating 5, 20 and 60-minute inputs
(tiny random htdemucs: the model is < 2 MB so decoding, windowing and writing
dominate; mp3 input, PCM_16 wav output like a real job).
Results: each run is appended to <work>/runs.jsonl as it finishes; all of them
to <work>/results-<what>.json at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def sh(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kw)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def timed(argv: list[str], env: dict | None = None) -> dict:
    """Run argv under /usr/bin/time -v; wall seconds, peak RSS (MB), the load before/after."""
    before = load_average()
    proc = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{proc.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr).group(1)
    seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
    # CPU seconds (user + kernel) move much less than wall time when other jobs share the cores.
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    return {"wall": seconds, "user": user, "sys": system, "cpu": user + system,
            "peak_rss_mb": rss_kb / 1024, "load_before": before, "load_after": load_average(),
            "stdout": proc.stdout.strip()[-2000:]}


def make_input(path: Path, seconds: int, seed: int) -> Path:
    """Tones + noise, different per file (cost does not depend on content)."""
    if not path.exists():
        ext = path.suffix
        codec = ["-c:a", "libmp3lame", "-b:a", "192k"] if ext == ".mp3" else ["-c:a", "pcm_s16le"]
        sh(["ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"sine=frequency={200 + 37 * seed}:duration={seconds}:sample_rate=44100",
            "-f", "lavfi", "-i", f"anoisesrc=duration={seconds}:amplitude=0.1:seed={seed}:sample_rate=44100",
            "-filter_complex", "[0:a][1:a]amerge=inputs=2[a]", "-map", "[a]", "-ac", "2", *codec, str(path)])
    return path


def make_model(directory: Path, size: str) -> Path:
    if not (directory / "htdemucs.yaml").exists():
        sh([PY, "-m", "sfa_engine.make_test_model", "--name", "htdemucs", "--size", size, "--dir", str(directory)],
           cwd=REPO / "python")
    return directory


def ours(inputs: list[Path], out: Path, model_dir: Path, params: dict, env: dict | None = None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    argv = [PY, str(REPO / "bench/separation_engine_driver.py"), "--out", str(out)]
    argv += [f"--param={k}={json.dumps(v)}" for k, v in params.items()] + [str(p) for p in inputs]
    r = timed(argv, {"SFA_MODEL_DIR": str(model_dir), "SFA_DEVICE": "cpu", **(env or {})})
    r["engine"] = json.loads(r.pop("stdout").splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return r


def cli(inputs: list[Path], out: Path, model_dir: Path, flags: list[str], env: dict | None = None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    argv = [PY, "-m", "demucs", "--repo", str(model_dir), "-n", "htdemucs", "-d", "cpu", "-o", str(out), *flags]
    r = timed(argv + [str(p) for p in inputs], env)
    r.pop("stdout")
    shutil.rmtree(out, ignore_errors=True)
    return r


class Runs(dict):
    """Results by name, appended to <work>/runs.jsonl as each run finishes."""

    def __init__(self, work: Path, what: str):
        super().__init__()
        self.log = work / "runs.jsonl"
        self.what = what

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        with self.log.open("a") as f:
            f.write(json.dumps({"what": self.what, "run": key, **value}) + "\n")


def speed(work: Path) -> dict:
    models = make_model(work / "models-full", "full")
    inputs = [make_input(work / f"in30_{i}.wav", 30, i) for i in range(5)]
    out = work / "out"
    equal_cli = ["--shifts", "0", "--overlap", "0.25", "--float32", "--clip-mode", "none"]
    equal_ours = {"shifts": 0, "overlap": 0.25, "wav_subtype": "FLOAT"}
    runs = Runs(work, "speed")
    # Interleave ours/CLI so a change in machine load hits both sides alike.
    runs["one_cli_equal"] = cli(inputs[:1], out, models, equal_cli)
    runs["one_ours_equal"] = ours(inputs[:1], out, models, equal_ours)
    runs["one_cli_default"] = cli(inputs[:1], out, models, [])
    runs["one_ours_default"] = ours(inputs[:1], out, models, {})
    runs["batch_cli_equal"] = cli(inputs, out, models, equal_cli)
    runs["batch_ours_equal"] = ours(inputs, out, models, equal_ours)
    runs["batch_cli_default"] = cli(inputs, out, models, [])
    runs["batch_ours_default"] = ours(inputs, out, models, {})
    return runs


def speed_one(work: Path) -> dict:
    """The one-track runs of `speed` only, each twice, interleaved (a quick check).

    Ours runs on both allocators (jemalloc, the default when installed, and glibc
    with SFA_ENGINE_ALLOCATOR=glibc) so the allocator's share is measured too.
    """
    models = make_model(work / "models-full", "full")
    inputs = [make_input(work / "in30_0.wav", 30, 0)]
    out = work / "out"
    equal_cli = ["--shifts", "0", "--overlap", "0.25", "--float32", "--clip-mode", "none"]
    equal_ours = {"shifts": 0, "overlap": 0.25, "wav_subtype": "FLOAT"}
    runs = Runs(work, "speed-one")
    for i in (1, 2):
        runs[f"one_cli_equal_{i}"] = cli(inputs, out, models, equal_cli)
        runs[f"one_ours_equal_{i}"] = ours(inputs, out, models, equal_ours)
        runs[f"one_ours_glibc_equal_{i}"] = ours(inputs, out, models, equal_ours, {"SFA_ENGINE_ALLOCATOR": "glibc"})
    return runs


def memory(work: Path, backend: str, lengths: list[int], cli_contrast: bool) -> dict:
    models = make_model(work / "models-tiny", "tiny")
    # One torch thread: this measures memory, not speed, and leaves a core for the rest.
    one_thread = {"SFA_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1", "SFA_OPENVINO_THREADS": "1",
                  "SFA_SEPARATION_BACKEND": backend, "SFA_CACHE_DIR": str(work / "ov-cache")}
    runs = Runs(work, f"memory-{backend}")
    for minutes in lengths:
        src = make_input(work / f"in{minutes}min.mp3", minutes * 60, minutes)
        runs[f"ours_{minutes}min"] = ours([src], work / "out", models, {}, one_thread)
    if not cli_contrast:
        return runs
    # For contrast: the demucs CLI (whole track in memory) on the 5-minute input, same tiny model.
    make_input(work / "in5min.mp3", 5 * 60, 5)
    runs["cli_5min"] = cli([work / "in5min.mp3"], work / "out", models, ["--shifts", "0", "--clip-mode", "none"],
                           one_thread)
    return runs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("speed", "speed-one", "memory"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/sfa-bench"))
    ap.add_argument("--backend", choices=("auto", "openvino", "torch"), default="auto",
                    help="memory: SFA_SEPARATION_BACKEND of the engine runs (auto = OpenVINO on CPU)")
    ap.add_argument("--minutes", default="5,20,60", help="memory: input lengths in minutes")
    ap.add_argument("--no-cli-contrast", action="store_true", help="memory: skip the demucs CLI on 5 minutes")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    suites = {"speed": speed, "speed-one": speed_one, "memory": lambda work: memory(work, args.backend, [int(m) for m in args.minutes.split(",")], not args.no_cli_contrast)}
    runs = suites[args.what](args.work)
    record = {"what": args.what, "started": started, "cpus": os.cpu_count(), "runs": runs}
    path = args.work / f"results-{args.what}{'-' + args.backend if args.what == 'memory' else ''}.json"
    path.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
