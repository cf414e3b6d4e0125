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


def reexec_env(environ: dict[str, str], library: str | None) -> dict[str, str] | None:
    """The environment to re-execute with, or None to keep running as is."""
    if (environ.get("SFA_ENGINE_ALLOCATOR", "jemalloc") == "glibc" or environ.get(MARKER) or library is None
            or active_allocator(environ) == "jemalloc"):
        return None
    env = dict(environ)
    env["LD_PRELOAD"] = ":".join(x for x in (library, environ.get("LD_PRELOAD")) if x)
    env.setdefault("MALLOC_CONF", DEFAULT_CONF)
    env[MARKER] = "1"
    return env


def active_allocator(environ: Mapping[str, str] = os.environ) -> str:
    return "jemalloc" if "jemalloc" in environ.get("LD_PRELOAD", "") else "glibc"


def ensure_allocator(argv: list[str]) -> None:
    """Re-exec `python -m sfa_engine` under jemalloc if that is wanted and possible."""
    env = reexec_env(dict(os.environ), find_jemalloc())
    if env is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, "-m", "sfa_engine", *argv], env)
