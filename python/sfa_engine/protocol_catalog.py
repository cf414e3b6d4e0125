"""Reads catalog/engine_protocol.json: the engine's command names, message
(event) types and error codes with their meaning, shared with the TypeScript
side (src/jobs/engine/protocol.ts). protocol.py and errors.py take their lists
from here, so the two languages cannot drift apart.

Path: <repo>/catalog/engine_protocol.json (no override: one contract for both sides).
"""
from __future__ import annotations

import json
from pathlib import Path

from . import REPO_ROOT

PATH = REPO_ROOT / "catalog" / "engine_protocol.json"
_SECTIONS = ("commands", "events", "errors")


def _load() -> dict[str, dict[str, str]]:
    raw = json.loads(PATH.read_text(encoding="utf-8"))
    if set(raw) != set(_SECTIONS):
        raise ValueError(f"engine_protocol.json must have exactly {', '.join(_SECTIONS)}")
    for section in _SECTIONS:
        entries = raw[section]
        if not entries or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in entries.items()):
            raise ValueError(f"engine_protocol.json: '{section}' must map names to their meaning")
    return raw


_CATALOG = _load()
COMMANDS: dict[str, str] = _CATALOG["commands"]
EVENTS: dict[str, str] = _CATALOG["events"]
ERRORS: dict[str, str] = _CATALOG["errors"]
