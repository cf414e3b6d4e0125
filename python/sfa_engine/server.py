"""The engine process: JSON lines on stdin -> messages on stdout.

Threads: the main thread reads stdin and answers `ping`/`cancel` at once; one
worker thread runs `separate`/`analyze` requests one at a time from a queue.
stdout belongs to the protocol only: the real fd 1 is duplicated for our
writer, then fd 1 and sys.stdout are pointed at stderr, so prints from
demucs, tqdm, warnings or child processes can never corrupt the stream.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
import time
import traceback
from typing import Callable

from . import __version__
from .allocator import active_allocator
from .catalog import load_catalog
from .errors import EngineError
from .protocol import (AnalyzeRequest, BadRequest, Request, SeparateRequest, error_message,
                       parse_request, progress_message, ready_message, result_message)

log = logging.getLogger("sfa_engine")

PROGRESS_MIN_STEP = 0.5  # percent
PROGRESS_MIN_INTERVAL = 0.25  # seconds


class MessageWriter:
    """Thread-safe writer of one JSON object per line on the private protocol fd."""

    def __init__(self, fd: int):
        self._out = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()
        self.on_broken: Callable[[], None] = lambda: None
        self.broken = False

    def send(self, message: dict) -> None:
        line = json.dumps(message, ensure_ascii=False, allow_nan=False)
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):  # the client went away: stop working for it
                if not self.broken:
                    self.broken = True
                    self.on_broken()


class ProgressReporter:
    """Monotonic, throttled progress for one request."""

    def __init__(self, rid: str, send: Callable[[dict], None]):
        self.rid, self.send = rid, send
        self.value = 0.0
        self.sent_value = -1.0
        self.sent_at = 0.0
        self.stage = ""

    def __call__(self, value: float, stage: str) -> None:
        value = max(self.value, min(100.0, float(value)))  # never goes backwards
        self.value = value
        now = time.monotonic()
        due = (value - self.sent_value >= PROGRESS_MIN_STEP
               or (now - self.sent_at >= PROGRESS_MIN_INTERVAL and value > self.sent_value)
               or stage != self.stage or (value == 100.0 and self.sent_value < 100.0))
        if due:
            self.sent_value, self.sent_at, self.stage = value, now, stage
            self.send(progress_message(self.rid, value, stage))


class Job:
    def __init__(self, request: Request):
        self.request = request
        self.cancel_event = threading.Event()


class Engine:
    def __init__(self, writer: MessageWriter):
        from .models import ModelCache, model_dir_from_env, pick_backend, pick_device
        self.writer = writer
        self.catalog = load_catalog()
        self.device = pick_device()
        runtime, note = pick_backend(self.device)
        self.cache = ModelCache(model_dir_from_env(), self.device, runtime=runtime, backend_note=note)
        self.jobs: dict[str, Job] = {}  # queued or running, by id
        self.jobs_lock = threading.Lock()
        self.queue: queue.Queue[Job | None] = queue.Queue()
        self.worker = threading.Thread(target=self._work, name="sfa-worker", daemon=True)

    # -- stdin side -------------------------------------------------------------
    def handle_line(self, line: str) -> None:
        if not line.strip():
            return
        try:
            req = parse_request(line)
        except BadRequest as exc:
            self.writer.send(error_message(exc.request_id, "bad_input", exc.message))
            return
        if req.cmd == "ping":
            self.writer.send(result_message(req.id, {"pong": True, "version": __version__, "device": self.device,
                                                     "backend": "openvino" if self.cache.runtime else "torch",
                                                     "busy": self._running_id(), "models_loaded": self.cache.loaded()}))
        elif req.cmd == "cancel":
            self._cancel(req)
        else:
            with self.jobs_lock:
                if req.id in self.jobs:
                    self.writer.send(error_message(req.id, "bad_input", f"request id {req.id!r} is already in use"))
                    return
                job = Job(req)
                self.jobs[req.id] = job
            self.queue.put(job)

    def _running_id(self) -> str | None:
        return getattr(self, "_running", None)

    def _cancel(self, req: Request) -> None:
        target = req.body
        with self.jobs_lock:
            job = self.jobs.get(target)
            if job is not None:
                job.cancel_event.set()
        # A queued job ends with `cancelled` when the worker picks it up (at once).
        self.writer.send(result_message(req.id, {"target": target, "found": job is not None}))

    # -- worker side --------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            rid = job.request.id
            self._running = rid
            try:
                self.writer.send(self._run(job))
            finally:
                self._running = None
                with self.jobs_lock:
                    self.jobs.pop(rid, None)

    def _run(self, job: Job) -> dict:
        rid = job.request.id
        if job.cancel_event.is_set():
            return error_message(rid, "cancelled", "cancelled before it started")
        progress = ProgressReporter(rid, self.writer.send)
        cancelled = job.cancel_event.is_set
        try:
            body = job.request.body
            if isinstance(body, SeparateRequest):
                from .separate import separate
                result = separate(body, self.cache, self.catalog, progress, cancelled)
            else:
                result = self._analyze(body, progress, cancelled)
            return result_message(rid, result)
        except EngineError as exc:
            if exc.code != "cancelled":
                log.info("request %s failed: %s: %s", rid, exc.code, exc.message)
            return error_message(rid, exc.code, exc.message, exc.details)
        except MemoryError:
            return error_message(rid, "out_of_memory", "ran out of memory; try a shorter input or a smaller segment")
        except Exception as exc:  # noqa: BLE001 - one bad request must never kill the engine
            if _is_oom(exc):
                return error_message(rid, "out_of_memory", f"ran out of memory: {str(exc)[:200]}")
            log.error("request %s crashed:\n%s", rid, traceback.format_exc())
            return error_message(rid, "internal", f"{type(exc).__name__}: {str(exc)[:500]}")

    def _analyze(self, body: AnalyzeRequest, progress, cancelled) -> dict:
        try:
            from .analysis import analyze
        except ImportError as exc:
            raise EngineError("internal", f"analysis is not available: {exc}") from exc
        if not os.path.isfile(body.input):
            raise EngineError("bad_input", f"input file not found: {body.input}")

        def report(value, stage="analyzing"):
            progress(value, stage)

        result = analyze(body.input, body.features, overview_png=body.overview_png,
                         max_duration=body.max_duration, progress=report, cancelled=cancelled)
        progress(100, "done")
        return result

    def cancel_all(self) -> None:
        with self.jobs_lock:
            for job in self.jobs.values():
                job.cancel_event.set()

    def drain_and_stop(self) -> None:
        """stdin closed: finish what was asked (a script piping requests expects
        answers), unless stdout is gone too, in which case jobs are cancelled."""
        self.queue.put(None)
        self.worker.join()


def _is_oom(exc: Exception) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _take_over_stdout() -> int:
    """Keep the real stdout for the protocol; everything else writing to fd 1 goes to stderr."""
    sys.stdout.flush()
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto_fd


def _limit_heap_fragmentation() -> None:
    """On glibc (no jemalloc, see allocator.py): serve allocations >= 16 MB with mmap.

    glibc otherwise raises its mmap threshold after the first big frees and
    keeps later tensors in the heap, where the per-window churn fragments it.
    A fixed threshold trades page-fault time against peak RSS; measured on a
    30 s input with full-size htdemucs on an idle 2-core machine
    (docs/benchmarks.md): 1 MB 105 s / 867 MB, 2 MB 68 s / 903 MB,
    8 MB 58 s / 1053 MB, 16 MB 54 s / 1217 MB, 32 MB 47 s / 1627 MB; the
    demucs CLI 64 s / 1267 MB. An explicit MALLOC_MMAP_THRESHOLD_ wins.
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") is not None or active_allocator() != "glibc":
        return
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 16 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def _configure_runtime() -> None:
    logging.basicConfig(level=os.environ.get("SFA_ENGINE_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    _limit_heap_fragmentation()
    import torch
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    # Default: one torch thread per core. SFA_TORCH_THREADS overrides it, e.g. on a
    # machine shared with other busy processes, where OpenMP threads spin-waiting
    # for a contended core can make 2 threads slower than 1.
    torch.set_num_threads(int(os.environ.get("SFA_TORCH_THREADS") or cores))


def main() -> int:
    writer = MessageWriter(_take_over_stdout())
    _configure_runtime()
    try:
        engine = Engine(writer)
    except Exception as exc:  # e.g. unreadable catalog, bad SFA_DEVICE
        log.error("engine failed to start: %s", exc)
        writer.send(error_message(None, "internal", f"engine failed to start: {exc}"))
        return 1
    writer.on_broken = engine.cancel_all
    engine.worker.start()
    writer.send(ready_message(__version__, engine.device))
    log.info("ready (device %s, backend %s, model dir %s, allocator %s)", engine.device,
             "openvino" if engine.cache.runtime else "torch", engine.cache.model_dir, active_allocator())
    stdin = open(sys.stdin.fileno(), "r", encoding="utf-8", errors="replace", closefd=False)
    for line in stdin:
        try:
            engine.handle_line(line)
        except Exception:  # noqa: BLE001 - keep serving whatever happens
            log.error("failed to handle a line:\n%s", traceback.format_exc())
    engine.drain_and_stop()
    return 0
