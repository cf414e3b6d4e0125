"""Python side of docs/engine-protocol.md: request validation and message shapes.

Requests are validated here (types, ranges, defaults) so handlers receive clean
dataclasses and a bad field is always a `bad_input` error, never a crash.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .audio_formats import formats
from .errors import EngineError
from .protocol_catalog import COMMANDS as COMMAND_MEANINGS

# Command names: catalog/engine_protocol.json; stem formats: catalog/audio_formats.json.
COMMANDS = tuple(COMMAND_MEANINGS)
FORMATS = formats().stem_formats
WAV_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
ANALYSIS_FEATURES = ("tempo", "key", "energy", "spectral", "mfcc", "chroma", "all")
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


class BadRequest(EngineError):
    """A request we could not accept; `request_id` is the id if one was readable."""

    def __init__(self, message: str, request_id: str | None = None):
        super().__init__("bad_input", message)
        self.request_id = request_id


@dataclass
class SeparateRequest:
    input: str
    out_dir: str
    model: str
    format: str = "wav"
    wav_subtype: str = "PCM_16"
    mp3_bitrate: int = 320
    shifts: int = 0
    overlap: float = 0.25
    segment: float | None = None
    two_stems: str | None = None
    max_duration: float | None = None


@dataclass
class AnalyzeRequest:
    input: str
    features: list[str] = field(default_factory=lambda: ["all"])
    overview_png: str | None = None
    max_duration: float | None = None


@dataclass
class Request:
    id: str
    cmd: str
    body: Any = None  # SeparateRequest | AnalyzeRequest | target id (cancel) | None


def _get(obj: dict, key: str, kind, rid, default=None, required=False):
    if key not in obj or obj[key] is None:
        if required:
            raise BadRequest(f"'{key}' is required", rid)
        return default
    value = obj[key]
    # bool is an int subclass; never accept it for numbers.
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise BadRequest(f"'{key}' must be a number", rid)
    if kind is int and float(value) != int(value):
        raise BadRequest(f"'{key}' must be an integer", rid)
    if kind is str and (not isinstance(value, str) or value == ""):
        raise BadRequest(f"'{key}' must be a non-empty string", rid)
    if kind is list and not isinstance(value, list):
        raise BadRequest(f"'{key}' must be a list", rid)
    return kind(value) if kind in (int, float) else value


def _choice(value, choices, key, rid):
    if value not in choices:
        raise BadRequest(f"'{key}' must be one of {', '.join(map(str, choices))}", rid)
    return value


def parse_request(line: str) -> Request:
    """Parse one stdin line. Raises BadRequest (with the id when readable)."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BadRequest("a request must be a JSON object")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        raise BadRequest("'id' must be a non-empty string", rid if isinstance(rid, str) else None)
    cmd = obj.get("cmd")
    if cmd not in COMMANDS:
        raise BadRequest(f"unknown cmd {cmd!r}; expected one of {', '.join(COMMANDS)}", rid)
    if cmd == "ping":
        return Request(rid, cmd)
    if cmd == "cancel":
        return Request(rid, cmd, _get(obj, "target", str, rid, required=True))
    if cmd == "separate":
        return Request(rid, cmd, _parse_separate(obj, rid))
    return Request(rid, cmd, _parse_analyze(obj, rid))


def _max_duration(obj, rid):
    value = _get(obj, "max_duration", float, rid)
    if value is not None and value <= 0:
        raise BadRequest("'max_duration' must be > 0", rid)
    return value


def _parse_separate(obj: dict, rid: str) -> SeparateRequest:
    req = SeparateRequest(
        input=_get(obj, "input", str, rid, required=True),
        out_dir=_get(obj, "out_dir", str, rid, required=True),
        model=_get(obj, "model", str, rid, required=True),
        format=_choice(_get(obj, "format", str, rid, "wav"), FORMATS, "format", rid),
        wav_subtype=_choice(_get(obj, "wav_subtype", str, rid, "PCM_16"), WAV_SUBTYPES, "wav_subtype", rid),
        mp3_bitrate=_choice(_get(obj, "mp3_bitrate", int, rid, 320), MP3_BITRATES, "mp3_bitrate", rid),
        shifts=_get(obj, "shifts", int, rid, 0),
        overlap=_get(obj, "overlap", float, rid, 0.25),
        segment=_get(obj, "segment", float, rid),
        two_stems=_get(obj, "two_stems", str, rid),
        max_duration=_max_duration(obj, rid),
    )
    if not 0 <= req.shifts <= 20:
        raise BadRequest("'shifts' must be 0..20", rid)
    if not 0 <= req.overlap <= 0.9:
        raise BadRequest("'overlap' must be 0..0.9", rid)
    if req.segment is not None and not 1 <= req.segment <= 600:
        raise BadRequest("'segment' must be 1..600 seconds", rid)
    if req.format == "flac" and req.wav_subtype == "FLOAT":
        raise BadRequest("flac has no float samples; use wav_subtype PCM_16 or PCM_24", rid)
    return req


def _parse_analyze(obj: dict, rid: str) -> AnalyzeRequest:
    features = _get(obj, "features", list, rid, ["all"])
    for f in features:
        _choice(f, ANALYSIS_FEATURES, "features", rid)
    if not features:
        raise BadRequest("'features' must not be empty", rid)
    return AnalyzeRequest(
        input=_get(obj, "input", str, rid, required=True),
        features=list(features),
        overview_png=_get(obj, "overview_png", str, rid),
        max_duration=_max_duration(obj, rid),
    )


# --- messages (engine -> client) -------------------------------------------

def ready_message(version: str, device: str) -> dict:
    return {"id": None, "type": "ready", "version": version, "device": device}


def progress_message(rid: str, progress: float, stage: str) -> dict:
    return {"id": rid, "type": "progress", "progress": round(progress, 2), "stage": stage}


def result_message(rid: str, result: dict) -> dict:
    return {"id": rid, "type": "result", "result": result}


def error_message(rid: str | None, code: str, message: str, details: dict | None = None) -> dict:
    msg = {"id": rid, "type": "error", "code": code, "message": message}
    if details:
        msg["details"] = details
    return msg
