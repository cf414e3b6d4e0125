"""`python -m sfa_engine.prepare_model --name M [--dir D]`: convert a model for this CPU ahead of time.

Does what the engine's first request would do (load the model, convert and
compile its networks for the configured backend and precision, fill the cache),
so that request does not pay for it. Progress lines go to stderr; a JSON
summary to stdout. Exit 0 when the model is ready (also when it runs on torch,
which needs no preparation: the summary says why), 1 when it cannot be loaded.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from .catalog import load_catalog
from .errors import EngineError
from .models import ModelCache, model_dir_from_env, pick_backend, pick_device


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sfa_engine.prepare_model")
    ap.add_argument("--name", required=True)
    ap.add_argument("--dir", type=Path, default=None, help="model directory (default $SFA_MODEL_DIR)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    entry = load_catalog().get(args.name)
    if entry is None:
        print(f"unknown model {args.name!r}; expected one of {', '.join(load_catalog().names)}", file=sys.stderr)
        return 2
    model_dir = args.dir or model_dir_from_env()
    started = time.monotonic()
    try:
        device = pick_device()
        runtime, note = pick_backend(device)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    stages: list[str] = []

    def progress(_value: float, stage: str) -> None:
        if stage not in stages:
            stages.append(stage)
            print(f"{entry.name}: {stage}", file=sys.stderr)

    try:
        model = ModelCache(model_dir, device, runtime=runtime, backend_note=note).get(entry, progress)
    except EngineError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    info = model.sfa_backend
    print(json.dumps({"model": entry.name, "backend": info.backend, "precision": info.precision, "note": info.note,
                      "cache_dir": str(runtime.cache_dir) if runtime else None,
                      "converted": bool(stages), "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
