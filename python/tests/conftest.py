"""Shared fixtures: tiny random models and generated audio in session temp dirs.

Run from the repo root: `python/.venv/bin/python -m pytest -q python/tests`.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

SR = 44100


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def write_wav(path: Path, audio: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> Path:
    import soundfile as sf
    sf.write(path, audio.T.astype(np.float32), sr, subtype=subtype)
    return path


def tone_noise(seconds: float, seed: int = 0, level: float = 0.3) -> np.ndarray:
    """Stereo [2, n]: different tones per channel plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    left = np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 1760 * t)
    right = np.sin(2 * np.pi * 330 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    x = level * np.stack([left, right]) / 1.3 + 0.02 * rng.standard_normal((2, t.size))
    return x.astype(np.float32)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    from sfa_engine.make_test_model import make_test_model
    from sfa_engine.catalog import load_catalog
    d = tmp_path_factory.mktemp("models")
    for name in load_catalog().names:
        make_test_model(name, "tiny", d)
    return d


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("audio")
    write_wav(d / "tone3.wav", tone_noise(3.0))
    write_wav(d / "tone12.wav", tone_noise(12.0, seed=1))
    write_wav(d / "long30.wav", tone_noise(30.0, seed=2), subtype="PCM_16")
    write_wav(d / "silence.wav", np.zeros((2, 2 * SR), np.float32))
    write_wav(d / "short.wav", tone_noise(0.1))
    (d / "empty.wav").write_bytes(b"")
    (d / "text.mp3").write_text("this is not audio\n" * 50)
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate=44100", "-ac", "2",
           "-b:a", "128k", str(d / "full.mp3"))
    data = (d / "full.mp3").read_bytes()
    (d / "truncated.mp3").write_bytes(data[: len(data) // 40])
    (d / "half.mp3").write_bytes(data[: len(data) // 2 + 77])  # + 77: cut inside a frame
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=3:sample_rate=8000", "-ac", "1",
           str(d / "mono8k.wav"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=500:duration=3:sample_rate=96000",
           "-filter_complex", "[0:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0",
           "-c:a", "pcm_s24le", str(d / "surround96k.wav"))
    return d


class EngineProcess:
    """The real `python -m sfa_engine` as a subprocess, for protocol tests."""

    def __init__(self, env: dict):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sfa_engine"], cwd=PYTHON_DIR, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.messages: queue.Queue = queue.Queue()
        self.raw_lines: list[str] = []
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=lambda: [self.stderr_lines.append(l) for l in self.proc.stderr], daemon=True).start()
        self.ready = self.next_message(timeout=60)
        assert self.ready["type"] == "ready", self.ready

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.raw_lines.append(line)
            self.messages.put(json.loads(line))  # a non-JSON line fails the reader loudly
        self.messages.put(None)

    def next_message(self, timeout: float = 60) -> dict:
        msg = self.messages.get(timeout=timeout)
        if msg is None:
            raise EOFError("engine closed stdout; stderr:\n" + "".join(self.stderr_lines[-30:]))
        return msg

    def send(self, obj) -> None:
        line = obj if isinstance(obj, str) else json.dumps(obj)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def collect(self, rid, timeout: float = 120) -> tuple[dict, list[dict]]:
        """Messages for `rid` until its result/error; returns (final, progress list)."""
        progress, deadline = [], time.monotonic() + timeout
        while True:
            msg = self.next_message(timeout=max(0.1, deadline - time.monotonic()))
            if msg["id"] != rid:
                continue
            if msg["type"] == "progress":
                progress.append(msg)
            else:
                return msg, progress

    def request(self, obj: dict, timeout: float = 120) -> tuple[dict, list[dict]]:
        self.send(obj)
        return self.collect(obj["id"], timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def engine_env(model_dir, tmp_path_factory) -> dict:
    env = dict(os.environ)
    env.update(SFA_MODEL_DIR=str(model_dir), SFA_DEVICE="cpu", PYTHONUNBUFFERED="1",
               SFA_CACHE_DIR=str(tmp_path_factory.mktemp("openvino-cache")))
    return env


@pytest.fixture(scope="module")
def engine(engine_env):
    e = EngineProcess(engine_env)
    yield e
    e.close()
