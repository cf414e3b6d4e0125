"""`python -m sfa_engine.prepare_model --name M [--dir D]`: convert a model for this CPU ahead of time.

Does what the engine's first request would do (load the model, convert and
compile its networks for the configured backend and precision, fill the cache),
so that request does not pay for it. Progress lines go to stderr; a JSON
summary to stdout. Exit 0 when the model is ready (also when it runs on torch,
which needs no preparation: the summary says why), 1 when it cannot be loaded.
"""
from __future__ import annotations

import json
import logging
import sys
import time

from .errors import EngineError
from .models import ModelCache, model_command_args, pick_backend, pick_device


def main(argv: list[str] | None = None) -> int:
    entry, model_dir = model_command_args("python -m sfa_engine.prepare_model", argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
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
