"""Analyse one file from the command line and print ONE JSON object.

    python -m sfa_engine.analyze_cli <file> [--features tempo,key,...|all]
                                     [--png PATH] [--max-duration SECONDS]

Run from ``python/`` (or with it on ``PYTHONPATH``). stdout carries exactly one
JSON object: the analysis result (AnalysisResult columns + ``features``), or
``{"error": {"code": ..., "message": ...}}``. Logs and warnings go to stderr.

Exit status: 0 ok, 1 analysis failed, 2 bad input (usage, unknown feature,
missing file).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sfa_engine.analyze_cli", description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--features", default="all", help="comma-separated: tempo,key,energy,spectral,mfcc,chroma|all")
    parser.add_argument("--png", default=None, help="write the overview picture here")
    parser.add_argument("--max-duration", type=float, default=None, help="fail with too_long above this (s)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage to stderr
        return 2 if exc.code else 0

    from .analysis import analyze
    from .errors import EngineError

    features = [name.strip() for name in args.features.split(",") if name.strip()]
    try:
        result = analyze(args.file, features, overview_png=args.png, max_duration=args.max_duration)
    except EngineError as exc:
        _print({"error": {"code": exc.code, "message": exc.message}})
        return 2 if exc.code == "bad_input" else 1
    except Exception as exc:  # noqa: BLE001 - report every failure as one JSON object
        _print({"error": {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}})
        return 1
    _print(result)
    return 0


def _print(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
