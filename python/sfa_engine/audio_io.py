"""Audio in and out without holding a whole track in memory.

- `probe`: ffprobe the input (duration, channels, rate) before any work; only
  the containers and codecs of catalog/audio_formats.json (see audio_formats).
- `decode_blocks`: ffmpeg decodes any input to 44.1 kHz stereo float32 and we
  read it from a pipe in fixed-size blocks (mono is duplicated, 5.1 downmixed
  and other rates resampled by ffmpeg).
- `StemWriter`: writes one stem incrementally to `<dir>/.<stem>.<ext>.part`
  (wav/flac via soundfile, mp3 via lameenc) and renames it on `commit()`.
Subprocesses always get an argv list, never a shell.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from . import audio_formats
from .errors import EngineError

log = logging.getLogger("sfa_engine.audio_io")

SAMPLE_RATE = 44100
CHANNELS = 2


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise EngineError("internal", f"{name} is not installed (needed to read audio)")
    return path


@dataclass(frozen=True)
class ProbeInfo:
    duration: float | None  # seconds; None when the container does not say
    sample_rate: int
    channels: int
    codec: str


def probe(path: str) -> ProbeInfo:
    """Describe the first audio stream of an allowed container and codec, or raise.

    bad_input when the path is not a readable regular file, unsupported_audio
    when ffprobe cannot read it or it is not an allowed format (audio_formats).
    """
    check_readable(path)
    argv = [_tool("ffprobe"), "-v", "error", *audio_formats.input_guard(), "-select_streams", "a:0",
            "-show_entries", "stream=codec_name,sample_rate,channels,duration:format=duration,format_name",
            "-of", "json", audio_formats.file_input(path)]
    proc = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise _ffmpeg_failure("cannot read", path, proc.stderr)
    info = json.loads(proc.stdout or b"{}")
    streams = info.get("streams") or []
    if not streams:
        raise EngineError("unsupported_audio", f"{Path(path).name} has no audio stream")
    stream = streams[0]
    fmt = info.get("format") or {}
    detected = audio_formats.refused(fmt.get("format_name"), stream.get("codec_name"))
    if detected:
        raise EngineError("unsupported_audio", f"{Path(path).name}: {audio_formats.unsupported_message(detected)}")
    duration = _float(stream.get("duration")) or _float(fmt.get("duration"))
    return ProbeInfo(duration=duration, sample_rate=int(stream.get("sample_rate") or 0),
                     channels=int(stream.get("channels") or 0), codec=str(stream.get("codec_name")))


def check_readable(path: str) -> None:
    """A regular file this process may read, or bad_input saying what it is instead.

    Opened non-blocking, so a fifo cannot hang the engine.
    """
    name = Path(path).name
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise EngineError("bad_input", f"input file not found: {name}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise EngineError("bad_input", f"{name} is {kind}, not an audio file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError:
        raise EngineError("bad_input", f"cannot read the file {name} (permission denied)") from None
    os.close(fd)


def _float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def _ffmpeg_failure(what: str, path: str, stderr: bytes) -> EngineError:
    """unsupported_audio naming a refused format, or ffmpeg's last line (with the file's name, not its path)."""
    name = Path(path).name
    detected = audio_formats.refused_demuxer(stderr.decode("utf-8", "replace"))
    if detected:
        return EngineError("unsupported_audio", f"{name}: {audio_formats.unsupported_message(detected)}")
    return EngineError("unsupported_audio", f"{what} {name}: {_last_line(stderr).replace(audio_formats.file_input(path), name)}")


def _last_line(data: bytes) -> str:
    lines = [line for line in data.decode("utf-8", "replace").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "ffmpeg failed"


def decode_blocks(path: str, block_frames: int) -> Iterator[np.ndarray]:
    """Yield float32 arrays of shape [2, n] (n == block_frames except the last).

    Closing the generator (cancel, error) kills ffmpeg. A decoding failure
    raises unsupported_audio after the frames decoded so far were yielded.
    """
    argv = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", *audio_formats.input_guard(),
            "-i", audio_formats.file_input(path),
            "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le",
            "-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE), "-"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Drain stderr in the background so a chatty ffmpeg cannot block on a full pipe.
    err_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    drain.start()
    frame_bytes = 4 * CHANNELS
    block_bytes = block_frames * frame_bytes
    try:
        while True:
            data = _read_exact(proc.stdout, block_bytes)
            usable = len(data) - len(data) % frame_bytes
            if usable:
                yield np.frombuffer(data[:usable], dtype="<f4").reshape(-1, CHANNELS).T
            if len(data) < block_bytes:
                break
        rc = proc.wait()
        drain.join(timeout=5)
        if rc != 0:
            raise _ffmpeg_failure("cannot decode", path, b"".join(err_chunks))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _read_exact(stream, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


class StemWriter:
    """Incremental writer for one stem; clips integer formats and counts clipped samples."""

    def __init__(self, out_dir: Path, stem: str, fmt: str, wav_subtype: str = "PCM_16", mp3_bitrate: int = 320):
        self.final_path = out_dir / f"{stem}.{fmt}"
        self.part_path = out_dir / f".{stem}.{fmt}.part"
        self.fmt = fmt
        self.clipped = 0
        self._float = fmt == "wav" and wav_subtype == "FLOAT"
        if fmt == "mp3":
            import lameenc
            self._encoder = lameenc.Encoder()
            self._encoder.set_bit_rate(mp3_bitrate)
            self._encoder.set_in_sample_rate(SAMPLE_RATE)
            self._encoder.set_channels(CHANNELS)
            self._encoder.set_quality(2)  # as demucs' --mp3-preset default
            self._file = open(self.part_path, "wb")
        else:
            import soundfile as sf
            self._file = sf.SoundFile(self.part_path, "w", samplerate=SAMPLE_RATE, channels=CHANNELS,
                                      subtype=wav_subtype, format="WAV" if fmt == "wav" else "FLAC")

    def write(self, audio: np.ndarray) -> None:
        """audio: float32 [2, n] in -1..1 full scale."""
        frames = np.ascontiguousarray(audio.T)
        if not self._float:
            # Integer formats cannot hold |x| > 1: clip (never rescale, so stems
            # keep summing to the mix) and count, so the caller can report it.
            over = np.abs(frames) > 1.0
            count = int(np.count_nonzero(over))
            if count:
                self.clipped += count
                frames = np.clip(frames, -1.0, 1.0)
        if self.fmt == "mp3":
            pcm = (frames * 32767.0).round().astype("<i2")
            self._file.write(self._encoder.encode(pcm.tobytes()))
        else:
            self._file.write(frames)

    def commit(self) -> Path:
        if self.fmt == "mp3":
            self._file.write(self._encoder.flush())
        self._file.close()
        os.replace(self.part_path, self.final_path)
        return self.final_path

    def abort(self) -> None:
        try:
            self._file.close()
        except Exception:  # a half-written file may fail to finalise; it is removed anyway
            pass
        self.part_path.unlink(missing_ok=True)
