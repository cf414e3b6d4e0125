"""The engine re-executes itself under jemalloc (see sfa_engine/allocator.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfa_engine.allocator import DEFAULT_CONF, MARKER, find_jemalloc, reexec_env

LIB = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
PYTHON_DIR = Path(__file__).resolve().parents[1]


def test_reexec_env_preloads_jemalloc_with_purging_off():
    env = reexec_env({"PATH": "/bin"}, LIB)
    assert env is not None
    assert env["LD_PRELOAD"] == LIB
    assert env["MALLOC_CONF"] == DEFAULT_CONF
    assert env[MARKER] == "1"
    assert env["PATH"] == "/bin"


def test_reexec_env_keeps_other_preloads_and_an_explicit_malloc_conf():
    env = reexec_env({"LD_PRELOAD": "/x/libfoo.so", "MALLOC_CONF": "narenas:2"}, LIB)
    assert env["LD_PRELOAD"] == f"{LIB}:/x/libfoo.so"
    assert env["MALLOC_CONF"] == "narenas:2"


@pytest.mark.parametrize("environ, library", [
    ({"SFA_ENGINE_ALLOCATOR": "glibc"}, LIB),      # opted out
    ({MARKER: "1"}, LIB),                           # already re-executed once: never loop
    ({"LD_PRELOAD": LIB}, LIB),                     # the user preloaded it already
    ({}, None),                                     # not installed
])
def test_reexec_env_leaves_the_process_alone(environ, library):
    assert reexec_env(environ, library) is None


def test_jemalloc_only_when_openvino_cannot_be_in_the_process():
    assert reexec_env({}, LIB, openvino_installed=True) is None  # auto: OpenVINO on CPU
    assert reexec_env({"SFA_SEPARATION_BACKEND": "openvino"}, LIB, openvino_installed=True) is None
    assert reexec_env({"SFA_SEPARATION_BACKEND": "torch"}, LIB, openvino_installed=True)["LD_PRELOAD"] == LIB
    assert reexec_env({}, LIB, openvino_installed=False)["LD_PRELOAD"] == LIB


def _ready_log(extra_env: dict[str, str]) -> tuple[str, str]:
    """Start the engine, read its ready line, close stdin; return (ready line, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", MARKER, "SFA_ENGINE_ALLOCATOR")}
    proc = subprocess.run([sys.executable, "-m", "sfa_engine"], cwd=PYTHON_DIR, input="", capture_output=True,
                          text=True, timeout=120, env={**env, **extra_env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()[0], proc.stderr


def test_engine_runs_on_jemalloc_with_the_torch_backend():
    if find_jemalloc() is None:
        pytest.fail("libjemalloc2 is not installed: `npm run setup` installs it")
    ready, stderr = _ready_log({"SFA_SEPARATION_BACKEND": "torch"})
    assert json.loads(ready)["type"] == "ready"
    assert "allocator jemalloc" in stderr


def test_engine_with_openvino_starts_on_glibc():
    ready, stderr = _ready_log({})
    assert json.loads(ready)["type"] == "ready"
    assert "allocator glibc" in stderr and "backend openvino" in stderr


def test_engine_opt_out_keeps_glibc():
    ready, stderr = _ready_log({"SFA_ENGINE_ALLOCATOR": "glibc"})
    assert json.loads(ready)["type"] == "ready"
    assert "allocator glibc" in stderr
