"""Which audio files ffmpeg may open for the engine, and how (and which formats stems are written in).

``catalog/audio_formats.json`` is the single source, shared with the
TypeScript side (src/domain/audioFormats.ts). ffmpeg picks a demuxer from the
bytes whatever a file is called: a text file named ``song.mp3`` holding an HLS
playlist or a concat list would be opened as one, and the local files it names
decoded as if they were the input. So every ffprobe/ffmpeg run here gets
``-protocol_whitelist file,pipe`` and ``-format_whitelist`` with the allowed
demuxers, reads the one file as ``file:<absolute path>``, and the probe's
container and codec names are checked against the same lists.

Path: <repo>/catalog/audio_formats.json (no override: one list for both sides).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "catalog" / "audio_formats.json"
ACCEPTED_TEXT = "WAV, MP3, FLAC, OGG (Vorbis/Opus), M4A/AAC, WebM/MKA, AIFF, WMA, WavPack, APE or CAF"
_NAME = re.compile(r"^[a-z0-9_]+$")

# libsndfile's names (soundfile's `format`) for the containers above that the
# analysis reads without ffmpeg; anything else goes through ffmpeg.
SOUNDFILE_FORMATS = frozenset({"WAV", "WAVEX", "W64", "RF64", "FLAC", "OGG", "MP3", "AIFF", "CAF"})


@dataclass(frozen=True)
class AudioFormats:
    demuxers: tuple[str, ...]
    codecs: tuple[str, ...]
    # What stems are written in (the separate command's `format`); the first is the default.
    stem_formats: tuple[str, ...]


@lru_cache(maxsize=1)
def formats() -> AudioFormats:
    raw = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    if set(raw) != {"demuxers", "codecs", "stem_formats"}:
        raise ValueError("audio_formats.json must have exactly 'demuxers', 'codecs' and 'stem_formats'")
    for key in ("demuxers", "codecs", "stem_formats"):
        if not raw[key] or not all(isinstance(n, str) and _NAME.match(n) for n in raw[key]):
            raise ValueError(f"audio_formats.json: '{key}' must be a non-empty list of ffmpeg names")
    return AudioFormats(demuxers=tuple(raw["demuxers"]), codecs=tuple(raw["codecs"]), stem_formats=tuple(raw["stem_formats"]))


def input_guard() -> list[str]:
    """Options that go before the input on every ffprobe/ffmpeg run on user input."""
    return ["-protocol_whitelist", "file,pipe", "-format_whitelist", ",".join(formats().demuxers)]


def file_input(path: str) -> str:
    """The input argument: the file protocol and an absolute path (never a URL or an option)."""
    return "file:" + os.path.abspath(path)


def refused(format_name: str | None, codec_name: str | None) -> str | None:
    """None when the container and codec are allowed, else what was detected (for the message)."""
    names = (format_name or "").split(",")
    if not any(n in formats().demuxers for n in names):
        return _shown(format_name)
    if not codec_name or codec_name not in formats().codecs:
        return f"{_shown(names[0])} with {_shown(codec_name)} audio"
    return None


def refused_demuxer(stderr: str) -> str | None:
    """The demuxer ffmpeg detected but refused ("[hls @ 0x…] Format not on whitelist"), if that was the failure."""
    if "Format not on whitelist" not in stderr:
        return None
    m = re.search(r"\[([a-z0-9_,]+) @ 0x[0-9a-f]+\] Format not on whitelist", stderr)
    return _shown(m.group(1) if m else None)


_KIND = {"hls": "an HLS playlist", "concat": "a concat list", "dash": "a DASH manifest",
         "sdp": "an SDP session description", "tty": "a text file", "image2": "an image",
         "srt": "a subtitle file", "ass": "a subtitle file", "webvtt": "a subtitle file", "data": "raw data",
         "lrc": "a lyrics file"}


def unsupported_message(detected: str) -> str:
    codec = re.search(r" with (\w+) audio$", detected)
    if codec:
        return f"the file holds {codec.group(1)} audio, a codec the engine does not accept; send {ACCEPTED_TEXT}"
    kind = _KIND.get(detected) or ("an image" if detected.endswith("_pipe") else f'"{detected}"')
    return (f"the file is {kind}, not an audio format the engine accepts (playlists, lists and manifests "
            f"are never followed); send {ACCEPTED_TEXT}")


def _shown(name: str | None) -> str:
    return re.sub(r"[^a-z0-9_,]", "", (name or "").lower())[:40] or "unknown"
