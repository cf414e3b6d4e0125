"""Stem separation with demucs 4.1.0, streaming so memory does not grow with length.

Why not `apply_model(whole_track, split=True)`: it keeps the whole input and the
whole output (~1.4 MB per second of audio) in memory. Why not independent
~60 s chunks with a crossfade either: the overlap is computed twice and the
seams differ from what demucs would output. Instead this module runs demucs'
own split algorithm incrementally:

- windows of `segment` seconds start at k * stride (stride = (1 - overlap) *
  segment), exactly the offsets `apply_model(split=True)` uses;
- each window goes through `apply_model(model, TensorChunk, split=False)`, the
  very call demucs makes per window (bags, weights and padding included);
- outputs are overlap-added with demucs' triangular weights into a small
  rolling buffer, and every sample that no later window can touch is
  normalised, de-normalised and written out at once.

With shifts=0 the result equals demucs' whole-track output up to float
rounding (tests/test_separate.py checks it), no work is repeated, and memory is
a few windows of audio plus the model. shifts=N follows demucs too: N random
offsets of the whole window grid, each normalised on its own, then averaged.

Normalisation is demucs' API one (mean and std of the mono mix), computed in a
first streaming decode pass. Stems are made to sum exactly to the mix by
spreading the (small, for trained weights) residual equally over the stems
("mixture consistency"); there is no rescaling, so integer formats clip and
the clipped-sample count per stem is reported.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .audio_io import SAMPLE_RATE, StemWriter, decode_blocks, probe
from .catalog import Catalog
from .errors import Cancelled, EngineError
from .models import ModelCache
from .openvino_backend import model_windows
from .protocol import SeparateRequest

log = logging.getLogger("sfa_engine.separate")

MIN_SECONDS = 1.0
DECODE_BLOCK_FRAMES = 10 * SAMPLE_RATE  # 10 s = 3.5 MB of float32 stereo per read

ProgressFn = Callable[[float, str], None]
CancelledFn = Callable[[], bool]


@dataclass
class MixStats:
    frames: int
    mean: float
    std: float


def scan_mix(path: str, expected_frames: int | None, progress: ProgressFn, cancelled: CancelledFn,
             lo: float, hi: float, max_frames: int | None = None) -> MixStats:
    """First pass: count frames and get mean/std of the mono mix (float64 sums)."""
    n, s, ss = 0, 0.0, 0.0
    for block in decode_blocks(path, DECODE_BLOCK_FRAMES):
        if cancelled():
            raise Cancelled()
        mono = block.mean(axis=0, dtype=np.float64)
        n += mono.size
        s += float(mono.sum())
        ss += float(np.dot(mono, mono))
        if max_frames is not None and n > max_frames:
            raise EngineError("too_long", f"input is longer than max_duration ({max_frames / SAMPLE_RATE:.0f} s)")
        if expected_frames:
            progress(lo + (hi - lo) * min(1.0, n / expected_frames), "reading")
    if n < 2:
        return MixStats(n, 0.0, 1e-8)
    mean = s / n
    var = max(0.0, (ss - n * mean * mean) / (n - 1))  # unbiased, like torch.std
    return MixStats(n, mean, var ** 0.5 + 1e-8)  # + 1e-8 as demucs.api does


def _members(model) -> list:
    return list(model.models) if hasattr(model, "models") else [model]


def window_segment(model, requested: float | None) -> float:
    """Window length in seconds, as apply_model(split=True) would pick it."""
    from demucs.htdemucs import HTDemucs
    members = _members(model)
    if requested is not None:
        for m in members:
            if isinstance(m, HTDemucs) and requested > float(m.segment):
                raise EngineError("bad_input", f"segment must be <= {float(m.segment):g} s for this model")
        return requested
    segments = {m.segment for m in members}
    if len(segments) > 1:
        log.warning("bag members have different segments %s; using the smallest", segments)
    return min(segments)


class CancelHooks:
    """Forward pre-hooks on every layer so a cancel interrupts mid-window.

    One window of full-size htdemucs takes seconds on a CPU; checking only
    between windows would miss the 2 s cancel promise.
    """

    def __init__(self, model, cancelled: CancelledFn):
        from .openvino_backend import set_cancel_check
        self.model = model
        set_cancel_check(model, cancelled)  # OpenVINO members poll it while a window runs

        def check(_module, _inputs):
            if cancelled():
                raise Cancelled()
        self.handles = []
        for net in _members(model):
            for child in net.children():
                self.handles.append(child.register_forward_pre_hook(check))
                for grandchild in child.children():
                    self.handles.append(grandchild.register_forward_pre_hook(check))

    def remove(self) -> None:
        from .openvino_backend import set_cancel_check
        set_cancel_check(self.model, None)
        for h in self.handles:
            h.remove()


class StreamingSeparator:
    """Overlap-adds demucs windows over a stream; see the module docstring."""

    def __init__(self, model, stats: MixStats, segment: float, requested_segment: float | None,
                 overlap: float, shifts: int, device: str):
        import torch
        self.torch = torch
        self.model = model
        self.stats = stats
        self.total = stats.frames
        self.seg_len = int(model.samplerate * segment)  # same rounding as apply_model
        self.stride = max(1, int((1 - overlap) * self.seg_len))
        self.requested_segment = requested_segment
        self.device = device
        self.n_sources = len(model.sources)
        # demucs.apply: triangle weights, transition_power 1.
        half = self.seg_len // 2
        w = torch.cat([torch.arange(1, half + 1), torch.arange(self.seg_len - half, 0, -1)]).float()
        self.weight = w / w.max()
        # Shifts: demucs pads the track with max_shift zeros on both sides and moves
        # the whole grid by `max_shift - offset` samples, one random offset per shift.
        self.max_shift = int(0.5 * model.samplerate) if shifts else 0
        self.shift_deltas = [self.max_shift - random.randint(0, self.max_shift) for _ in range(shifts)] or [0]
        self.windows = sorted(
            (k * self.stride - d, i)
            for i, d in enumerate(self.shift_deltas)
            for k in range(0, (self.total + d + self.stride - 1) // self.stride)
        )
        self.margin = self.seg_len  # context kept around a window for demucs' centred padding
        n = len(self.shift_deltas)
        self.acc = torch.zeros(n, self.n_sources, 2, 0)
        self.wsum = torch.zeros(n, 0)
        self.out_start = 0  # global index of acc[..., 0]
        self.raw = np.zeros((2, 0), dtype=np.float32)  # unnormalised input ring
        self.raw_start = 0

    # -- input ring ---------------------------------------------------------
    def _fill(self, blocks, upto: int) -> None:
        upto = min(upto, self.total)
        while self.raw_start + self.raw.shape[1] < upto:
            block = next(blocks, None)
            if block is None:
                break
            self.raw = np.concatenate([self.raw, block], axis=1)

    def _drop_input_before(self, index: int) -> None:
        cut = min(max(0, index - self.raw_start), self.raw.shape[1])
        if cut:
            self.raw = self.raw[:, cut:]
            self.raw_start += cut

    def _window_input(self, a: int, b: int):
        """Normalised input for global [a, b), zeros outside the track."""
        torch = self.torch
        out = torch.zeros(1, 2, b - a)
        lo, hi = max(a, self.raw_start), min(b, self.raw_start + self.raw.shape[1], self.total)
        if hi > lo:
            seg = torch.from_numpy(self.raw[:, lo - self.raw_start:hi - self.raw_start])
            out[0, :, lo - a:hi - a] = (seg - self.stats.mean) / self.stats.std
        return out

    # -- output accumulation -------------------------------------------------
    def _accumulate(self, shift_idx: int, p: int, est) -> None:
        torch = self.torch
        n = est.shape[-1]
        w = self.weight[:n]
        start, end = max(p, 0), min(p + n, self.total)  # shifted windows may start before 0
        if end <= start:
            return
        need = end - self.out_start
        if need > self.acc.shape[-1]:
            grow = need - self.acc.shape[-1]
            self.acc = torch.cat([self.acc, torch.zeros(*self.acc.shape[:-1], grow)], dim=-1)
            self.wsum = torch.cat([self.wsum, torch.zeros(self.wsum.shape[0], grow)], dim=-1)
        a, b = start - self.out_start, end - self.out_start
        self.acc[shift_idx, :, :, a:b] += w[start - p:end - p] * est[0, :, :, start - p:end - p]
        self.wsum[shift_idx, a:b] += w[start - p:end - p]

    def _take_final(self, upto: int):
        """Pop finished samples [out_start, upto) as de-normalised numpy [S, 2, m] plus the mix."""
        m = min(upto, self.total) - self.out_start
        if m <= 0:
            return None
        est = (self.acc[..., :m] / self.wsum[:, None, None, :m]).mean(dim=0)
        est = est * self.stats.std + self.stats.mean
        mix = self.raw[:, self.out_start - self.raw_start:self.out_start - self.raw_start + m]
        if mix.shape[1] < m:  # the second decode came up short (should not happen): treat as silence
            mix = np.pad(mix, ((0, 0), (0, m - mix.shape[1])))
        self.acc = self.acc[..., m:].clone()
        self.wsum = self.wsum[:, m:].clone()
        self.out_start += m
        stems = est.numpy()
        # Mixture consistency: spread the residual so the stems sum to the mix exactly.
        residual = mix - stems.sum(axis=0)
        stems += residual[None] / self.n_sources
        return stems.astype(np.float32, copy=False)

    # -- main loop -------------------------------------------------------------
    def run(self, path: str, emit: Callable[[np.ndarray], None], progress: ProgressFn,
            cancelled: CancelledFn, lo: float, hi: float, in_flight: int = 1) -> None:
        """`in_flight` > 1: that many windows run at once on worker threads (the
        OpenVINO backend has one infer request per window); results are still
        accumulated and written in window order, so the output is the same."""
        from demucs.apply import TensorChunk, apply_model
        torch = self.torch
        blocks = decode_blocks(path, DECODE_BLOCK_FRAMES)
        n_windows = len(self.windows)
        members = len(_members(self.model))
        lock = threading.Lock()
        state = {"done": 0.0, "reported": lo}

        def on_model_event(info: dict) -> None:
            # apply_model reports start/end per bag member, from whichever window's
            # thread; turn them into one monotonic %.
            if cancelled():
                raise Cancelled()
            if info.get("state") == "end":
                with lock:
                    state["done"] += 1 / members
                    value = lo + (hi - lo) * state["done"] / n_windows
                    if value > state["reported"]:
                        state["reported"] = value
                        progress(value, "separating")

        def separate_window(chunk):
            with torch.no_grad():
                return apply_model(self.model, chunk, shifts=0, split=False, segment=self.requested_segment,
                                   device=self.device, callback=on_model_event).cpu()

        def collect(j: int, est) -> None:
            p, shift_idx = self.windows[j]
            self._accumulate(shift_idx, p, est)
            next_p = self.windows[j + 1][0] if j + 1 < n_windows else self.total
            final = self._take_final(max(next_p, 0))
            if final is not None:
                emit(final)
            # Input still needed: the next window's context (windows already
            # submitted hold their own copy).
            self._drop_input_before(min(self.out_start, max(data_lo, next_p - self.margin)))

        data_lo, data_hi = -self.max_shift, self.total + self.max_shift
        pool = ThreadPoolExecutor(in_flight, thread_name_prefix="sfa-window") if in_flight > 1 else None
        pending: deque = deque()  # (window index, future), oldest first
        try:
            for j, (p, shift_idx) in enumerate(self.windows):
                if cancelled():
                    raise Cancelled()
                n = min(self.seg_len, self.total - p)
                a, b = max(data_lo, p - self.margin), min(data_hi, p + self.seg_len + self.margin)
                self._fill(blocks, b)
                chunk = TensorChunk(self._window_input(a, b), p - a, n)
                if pool is None:
                    collect(j, separate_window(chunk))
                    continue
                pending.append((j, pool.submit(separate_window, chunk)))
                if len(pending) >= in_flight:  # window j runs while the oldest one is collected
                    k, future = pending.popleft()
                    collect(k, future.result())
            while pending:
                k, future = pending.popleft()
                collect(k, future.result())
            final = self._take_final(self.total)
            if final is not None:
                emit(final)
        finally:
            if pool is not None:
                # On a cancel the windows still running see it within a poll; on an
                # error they finish. Either way none outlives this call.
                pool.shutdown(wait=True, cancel_futures=True)
            blocks.close()


def separate(req: SeparateRequest, cache: ModelCache, catalog: Catalog,
             progress: ProgressFn, cancelled: CancelledFn) -> dict:
    started = time.monotonic()
    entry = catalog.get(req.model)
    if entry is None:
        raise EngineError("bad_input", f"unknown model '{req.model}'; expected one of {', '.join(catalog.names)}")
    if req.two_stems is not None and req.two_stems not in entry.stems:
        raise EngineError("bad_input", f"model {entry.name} has no '{req.two_stems}' stem "
                                       f"(it has {', '.join(entry.stems)})")
    src = Path(req.input)
    if not src.is_file():
        raise EngineError("bad_input", f"input file not found: {req.input}")
    if src.stat().st_size == 0:
        raise EngineError("unsupported_audio", f"{src.name} is empty")
    info = probe(req.input)
    if req.max_duration is not None and info.duration is not None and info.duration > req.max_duration:
        raise EngineError("too_long", f"input is {info.duration:.0f} s long; the limit is {req.max_duration:.0f} s")

    progress(0, "loading model")
    model = cache.get(entry, progress)
    segment = window_segment(model, req.segment)
    expected = int(info.duration * SAMPLE_RATE) if info.duration else None
    max_frames = int(req.max_duration * SAMPLE_RATE) if req.max_duration is not None else None
    stats = scan_mix(req.input, expected, progress, cancelled, 2, 10, max_frames)
    if stats.frames < MIN_SECONDS * SAMPLE_RATE:
        raise EngineError("unsupported_audio",
                          f"{src.name} has {stats.frames / SAMPLE_RATE:.2f} s of audio; at least {MIN_SECONDS:g} s is needed")

    out_dir = Path(req.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [req.two_stems, "accompaniment"] if req.two_stems else list(entry.stems)
    writers: list[StemWriter] = []
    hooks = CancelHooks(model, cancelled)
    try:
        writers = [StemWriter(out_dir, name, req.format, req.wav_subtype, req.mp3_bitrate) for name in names]
        order = list(model.sources)

        def emit(stems: np.ndarray) -> None:
            if req.two_stems:
                k = order.index(req.two_stems)
                outs = [stems[k], stems.sum(axis=0) - stems[k]]
            else:
                outs = [stems[order.index(name)] for name in names]
            for writer, audio in zip(writers, outs):
                writer.write(audio)

        separator = StreamingSeparator(model, stats, segment, req.segment, req.overlap, req.shifts, cache.device)
        separator.run(req.input, emit, progress, cancelled, 10, 99, in_flight=model_windows(model))
        progress(99, "writing")
        paths = [w.commit() for w in writers]
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        hooks.remove()
    progress(100, "done")
    backend = model.sfa_backend
    return {
        "model": entry.name,
        "stems": [{"name": n, "path": str(p), "bytes": p.stat().st_size} for n, p in zip(names, paths)],
        "duration": round(stats.frames / SAMPLE_RATE, 3),
        "sample_rate": SAMPLE_RATE,
        "format": req.format,
        "clipped": {w.final_path.stem: w.clipped for w in writers},
        "elapsed_seconds": round(time.monotonic() - started, 3),
        "device": cache.device,
        "backend": backend.backend,
        "precision": backend.precision,
    }
