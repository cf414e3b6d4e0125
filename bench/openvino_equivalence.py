"""Stems from OpenVINO (f32, bf16) against the torch path, per stem, on full-size networks.

    python/.venv/bin/python bench/openvino_equivalence.py --work /tmp/sfa-ov-equiv [--seconds 12]

For each htdemucs-family model (htdemucs, htdemucs_6s, the htdemucs_ft bag of
four) a full-size random checkpoint (`make_test_model --size full`) separates
the same input through torch and through OpenVINO in f32 and, where the CPU
has native bf16, bf16. Stems are written as float wav and compared per stem:
SNR in dB = 10 log10(|torch|^2 / |torch - openvino|^2). Floors: f32 >= 90 dB,
bf16 >= 45 dB. The pytest suite checks the same floors on tiny models; this
is the full-size figure. Results to stdout and <work>/equivalence.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from separation_bench import make_input  # noqa: E402

from sfa_engine.catalog import load_catalog  # noqa: E402
from sfa_engine.make_test_model import make_test_model  # noqa: E402
from sfa_engine.models import ModelCache  # noqa: E402
from sfa_engine.openvino_backend import OpenVinoRuntime, cpu_capabilities  # noqa: E402
from sfa_engine.protocol import SeparateRequest  # noqa: E402
from sfa_engine.separate import separate  # noqa: E402

MODELS = ("htdemucs", "htdemucs_6s", "htdemucs_ft")
FLOOR_DB = {"f32": 90.0, "bf16": 45.0}


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference - estimate) ** 2))
    return float(10 * np.log10(float(np.sum(reference ** 2)) / max(noise, 1e-30)))


def stems(cache: ModelCache, model: str, src: Path, out: Path) -> tuple[dict[str, np.ndarray], float]:
    started = time.process_time()
    req = SeparateRequest(input=str(src), out_dir=str(out), model=model, wav_subtype="FLOAT")
    result = separate(req, cache, load_catalog(), lambda *_: None, lambda: False)
    return {s["name"]: sf.read(s["path"], dtype="float64")[0] for s in result["stems"]}, time.process_time() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/sfa-ov-equiv"))
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    import openvino as ov
    import torch
    torch.set_num_threads(2)
    models_dir = args.work / "models-full"
    precisions = ["f32"] + (["bf16"] if "BF16" in cpu_capabilities(ov.Core()) else [])
    src = make_input(args.work / f"in{args.seconds}.wav", args.seconds, 3)
    report: dict = {"seconds": args.seconds, "precisions": precisions, "models": {}}
    for model in args.models.split(","):
        if not (models_dir / f"{model}.yaml").exists():
            make_test_model(model, "full", models_dir)
        reference, torch_cpu = stems(ModelCache(models_dir, "cpu"), model, src, args.work / "out-torch")
        row: dict = {"torch_cpu_s": round(torch_cpu, 1)}
        for precision in precisions:
            cache = ModelCache(models_dir, "cpu", runtime=OpenVinoRuntime(args.work / "ov-cache", precision))
            stems(cache, model, src, args.work / f"out-{precision}")  # first run converts and compiles
            got, cpu = stems(cache, model, src, args.work / f"out-{precision}")
            per_stem = {name: round(snr_db(reference[name], got[name]), 1) for name in reference}
            row[precision] = {"cpu_s": round(cpu, 1), "snr_db": per_stem, "worst_db": min(per_stem.values()),
                              "floor_db": FLOOR_DB[precision], "meets_floor": min(per_stem.values()) >= FLOOR_DB[precision]}
        report["models"][model] = row
        print(json.dumps({model: row}), flush=True)
    (args.work / "equivalence.json").write_text(json.dumps(report, indent=2))
    return 0 if all(r[p]["meets_floor"] for r in report["models"].values() for p in precisions) else 1


if __name__ == "__main__":
    raise SystemExit(main())
