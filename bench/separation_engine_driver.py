"""Drive one fresh `python -m sfa_engine` through N separate requests (bench helper).

    python bench/separation_engine_driver.py --out D [--param k=v ...] in1.wav [in2.wav ...]

Prints one JSON line: wall time of the whole run (spawn -> last result -> exit),
time to `ready`, and each request's engine-side elapsed seconds. Run it under
/usr/bin/time -v to get the peak RSS of the engine (the largest process in the tree).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--model", default="htdemucs")
    ap.add_argument("--param", action="append", default=[], help="extra request field k=v (JSON value)")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()
    extra = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sfa_engine"], cwd=REPO / "python",
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    ready = json.loads(proc.stdout.readline())
    t_ready = time.monotonic() - t0
    assert ready["type"] == "ready", ready
    for i, src in enumerate(args.inputs):
        req = {"id": f"b{i}", "cmd": "separate", "input": src, "out_dir": str(args.out / f"track{i}"),
               "model": args.model, **extra}
        proc.stdin.write(json.dumps(req) + "\n")
    proc.stdin.flush()
    results, backends = [], set()
    for line in proc.stdout:
        msg = json.loads(line)
        if msg["type"] == "error":
            print(json.dumps(msg), file=sys.stderr)
            proc.kill()
            return 1
        if msg["type"] == "result":
            results.append(msg["result"]["elapsed_seconds"])
            backends.add(f'{msg["result"].get("backend")} {msg["result"].get("precision")}')
            if len(results) == len(args.inputs):
                break
    proc.stdin.close()
    proc.wait()
    print(json.dumps({"wall": time.monotonic() - t0, "ready": t_ready, "requests": results, "backends": sorted(backends)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
