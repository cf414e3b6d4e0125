"""Run the engine on jemalloc with page purging off, when the library is installed.

Why: separation allocates and frees tens of 10-100 MB tensors per window.
glibc either serves them with fresh mmaps (every page faulted and zeroed again:
a quarter of the CPU time went to the kernel) or, above its mmap threshold, from
a heap that fragments and grows with the track. jemalloc with purging disabled
reuses the same dirty pages window after window, and its size classes keep
fragmentation bounded. Measured on a 30 s input with full-size htdemucs
(docs/benchmarks.md): kernel time ~25 s -> 1.5 s, CPU time 0.66x, peak RSS no higher.

LD_PRELOAD only takes effect at process start, so the engine re-executes itself
once (same pid, same stdin/stdout) with the library preloaded.
SFA_ENGINE_ALLOCATOR=glibc keeps the system allocator.

Not with the OpenVINO backend: its CPU plugin, loaded with its own symbol
binding, frees jemalloc's pointers with glibc's free() ("munmap_chunk():
invalid pointer" as soon as a Core is created). The churn jemalloc fixes is
torch's per-window tensors; with OpenVINO only the STFT/iSTFT stay in torch.
So jemalloc is used when the torch backend is chosen
(SFA_SEPARATION_BACKEND=torch) or OpenVINO is not installed.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
    "/usr/lib64/libjemalloc.so.2",
    "/usr/lib/libjemalloc.so.2",
)
# Never return freed pages to the kernel (-1): RSS stays at the engine's peak, which
# streaming keeps independent of track length, and no page is faulted twice.
DEFAULT_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
MARKER = "SFA_ENGINE_ALLOCATOR_APPLIED"


def find_jemalloc() -> str | None:
    return next((c for c in CANDIDATES if Path(c).is_file()), None)


def reexec_env(environ: dict[str, str], library: str | None, openvino_installed: bool = False) -> dict[str, str] | None:
    """The environment to re-execute with, or None to keep running as is."""
    if (environ.get("SFA_ENGINE_ALLOCATOR", "jemalloc") == "glibc" or environ.get(MARKER) or library is None
            or active_allocator(environ) == "jemalloc" or may_use_openvino(environ, openvino_installed)):
        return None
    env = dict(environ)
    env["LD_PRELOAD"] = ":".join(x for x in (library, environ.get("LD_PRELOAD")) if x)
    env.setdefault("MALLOC_CONF", DEFAULT_CONF)
    env[MARKER] = "1"
    return env


def may_use_openvino(environ: Mapping[str, str], openvino_installed: bool) -> bool:
    return openvino_installed and (environ.get("SFA_SEPARATION_BACKEND") or "auto").strip().lower() != "torch"


def openvino_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("openvino") is not None


def active_allocator(environ: Mapping[str, str] = os.environ) -> str:
    return "jemalloc" if "jemalloc" in environ.get("LD_PRELOAD", "") else "glibc"


def ensure_allocator(argv: list[str]) -> None:
    """Re-exec `python -m sfa_engine` under jemalloc if that is wanted and possible."""
    env = reexec_env(dict(os.environ), find_jemalloc(), openvino_installed())
    if env is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, "-m", "sfa_engine", *argv], env)
