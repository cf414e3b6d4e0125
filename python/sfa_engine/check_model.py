"""`python -m sfa_engine.check_model --name M [--dir D]`: prove a model loads and runs.

Exit 0 and a JSON summary on stdout when demucs' own `get_model` loads it from
the directory and one window of silence goes through `apply_model`; exit 1
with the precise missing files (or the load error) on stderr otherwise.
"""
from __future__ import annotations

import json
import sys
import time

from .errors import EngineError
from .models import load_demucs_model, model_bytes, model_command_args


def main(argv: list[str] | None = None) -> int:
    entry, model_dir = model_command_args("python -m sfa_engine.check_model", argv)
    started = time.monotonic()
    try:
        model = load_demucs_model(entry, model_dir)
    except EngineError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    loaded = time.monotonic() - started
    import torch
    from demucs.apply import apply_model
    with torch.no_grad():
        out = apply_model(model, torch.zeros(1, 2, 44100), shifts=0, split=True)
    ok = tuple(out.shape) == (1, len(entry.stems), 2, 44100)
    print(json.dumps({"model": entry.name, "directory": str(model_dir), "networks": len(getattr(model, "models", [model])),
                      "megabytes": round(model_bytes(model) / 2**20, 1), "load_seconds": round(loaded, 2),
                      "run_seconds": round(time.monotonic() - started - loaded, 2), "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
