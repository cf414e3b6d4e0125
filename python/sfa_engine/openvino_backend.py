"""OpenVINO backend: the network between STFT and iSTFT, converted once per CPU and cached.

What runs where (one htdemucs window):
- torch: padding to the training length, the complex STFT, the iSTFT and the
  final sum of the two branches (complex ops OpenVINO does not take; ~2-3 CPU s
  per track);
- OpenVINO: everything in between (`HTDemucsCore`: both normalisations, both
  encoders, the cross transformer, both decoders and the de-normalisation).
  htdemucs pads every window to its training length (343,980 samples for the
  published models), so one static shape serves every window, the last included.
demucs' splitting, shifting and bag weighting are untouched: only each member's
`forward` is replaced.

Windows in flight: with 2+ cores the compiled network has two streams (THROUGHPUT
hint, cores split between them) and one infer request per stream, so the
separator runs two windows at once: the torch STFT/iSTFT and Python work of one
window overlap the other's inference. f32 only, by default (bf16 is unmeasured);
one core keeps one stream and one window (LATENCY hint).

Cache: one directory per (checkpoint hash, OpenVINO version, precision, CPU
features, format) holding the IR (model.xml/.bin), the compiled blob and a
manifest with their sha256 (the key includes the number of streams, which the
blob is compiled for). Built in a temporary directory and renamed into
place under an exclusive file lock, so two engines starting at once convert
once and never see half a file; an entry whose manifest or checksums do not
match is rebuilt, never trusted.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import queue
import shutil
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import REPO_ROOT
from .backend_choice import Choice, choose_precision, has_native_bf16
from .errors import Cancelled

log = logging.getLogger("sfa_engine.openvino")

FORMAT = 2  # bump when HTDemucsCore or the files of an entry change
PREPARING = "preparing model for this CPU"
CANCEL_POLL_MS = 100
# CPU flags that change what the CPU plugin compiles (a blob from another CPU is not reused).
KEY_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "avx_vnni", "amx_bf16",
             "amx_int8", "amx_tile", "amx_fp16")

ProgressFn = Callable[[float, str], None]


def openvino_import_error() -> str | None:
    try:
        import openvino  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any failure to load means: not available
        return f"{type(exc).__name__}: {exc}"
    return None


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((l for l in text.splitlines() if l.startswith("flags")), "")
    present = set(line.partition(":")[2].split())
    return [f for f in KEY_FLAGS if f in present]


def cpu_capabilities(core) -> list[str]:
    """OpenVINO's own view of the CPU (tests replace this to simulate other CPUs)."""
    return list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def network_digest(net) -> str:
    """sha256 over the class, hyper-parameters that shape the graph, and every tensor."""
    import torch
    h = hashlib.sha256()
    h.update(f"{type(net).__module__}.{type(net).__name__}|{list(net.sources)}|{net.samplerate}|"
             f"{float(net.segment)!r}".encode())
    for name, tensor in net.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir() -> Path:
    """SFA_CACHE_DIR, else <repo>/.cache/openvino (next to the numba cache). Entries are
    keyed by the network's content, so every model directory shares one cache."""
    value = os.environ.get("SFA_CACHE_DIR")
    return Path(value) if value else REPO_ROOT / ".cache" / "openvino"


def training_length(net) -> int:
    return int(net.segment * net.samplerate)


def convertible(net) -> str | None:
    """None when `net` can go through OpenVINO, else why not (one log line)."""
    from demucs.htdemucs import HTDemucs
    if not isinstance(net, HTDemucs):
        return (f"{type(net).__name__} networks have a graph that depends on the input length "
                f"(no single static shape); they run on torch")
    if not net.use_train_segment or not net.cac:
        return "this HTDemucs variant (no training-segment padding or no complex-as-channels) runs on torch"
    return None


def _htdemucs_core_class():
    import torch
    from einops import rearrange

    class HTDemucsCore(torch.nn.Module):
        """HTDemucs.forward between `_magnitude` and `_mask` (demucs 4.1.0), batch 1,
        training length; returns the frequency branch (de-normalised spectrogram)
        and the time branch (de-normalised waveform), both per source."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, mag, mix):
            n = self.net
            B, C, Fq, T = mag.shape
            mean = mag.mean(dim=(1, 2, 3), keepdim=True)
            std = mag.std(dim=(1, 2, 3), keepdim=True)
            x = (mag - mean) / (1e-5 + std)
            meant = mix.mean(dim=(1, 2), keepdim=True)
            stdt = mix.std(dim=(1, 2), keepdim=True)
            xt = (mix - meant) / (1e-5 + stdt)
            saved, saved_t, lengths, lengths_t = [], [], [], []
            for idx, encode in enumerate(n.encoder):
                lengths.append(x.shape[-1])
                inject = None
                if idx < len(n.tencoder):
                    lengths_t.append(xt.shape[-1])
                    tenc = n.tencoder[idx]
                    xt = tenc(xt)
                    if not tenc.empty:
                        saved_t.append(xt)
                    else:
                        inject = xt
                x = encode(x, inject)
                if idx == 0 and n.freq_emb is not None:
                    frs = torch.arange(x.shape[-2], device=x.device)
                    emb = n.freq_emb(frs).t()[None, :, :, None].expand_as(x)
                    x = x + n.freq_emb_scale * emb
                saved.append(x)
            if n.crosstransformer:
                if n.bottom_channels:
                    f = x.shape[2]
                    x = rearrange(n.channel_upsampler(rearrange(x, "b c f t-> b c (f t)")), "b c (f t)-> b c f t", f=f)
                    xt = n.channel_upsampler_t(xt)
                x, xt = n.crosstransformer(x, xt)
                if n.bottom_channels:
                    x = rearrange(n.channel_downsampler(rearrange(x, "b c f t-> b c (f t)")), "b c (f t)-> b c f t", f=f)
                    xt = n.channel_downsampler_t(xt)
            offset = n.depth - len(n.tdecoder)
            for idx, decode in enumerate(n.decoder):
                x, pre = decode(x, saved.pop(-1), lengths.pop(-1))
                if idx >= offset:
                    tdec = n.tdecoder[idx - offset]
                    length_t = lengths_t.pop(-1)
                    if tdec.empty:
                        xt, _ = tdec(pre[:, :, 0], None, length_t)
                    else:
                        xt, _ = tdec(xt, saved_t.pop(-1), length_t)
            S = len(n.sources)
            x = x.view(B, S, -1, Fq, T) * std[:, None] + mean[:, None]
            xt = xt.view(B, S, -1, mix.shape[-1]) * stdt[:, None] + meant[:, None]
            return x, xt

    return HTDemucsCore


def convert_network(net):
    """Trace the core of one HTDemucs member and convert it to an OpenVINO model."""
    import openvino as ov
    import torch
    length = training_length(net)
    gen = torch.Generator().manual_seed(0)
    mix = torch.randn(1, 2, length, generator=gen)
    with torch.no_grad():
        mag = net._magnitude(net._spec(mix))
        core = _htdemucs_core_class()(net).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about Python ints: shapes are static here
            # check_trace=False: the sanity re-trace differs only in attribute-access order.
            traced = torch.jit.trace(core, (mag, mix), check_trace=False)
            model = ov.convert_model(traced, example_input=(mag, mix))
    # The converter leaves every dimension dynamic; fixed shapes let the CPU plugin plan
    # one memory arena per infer request: ~0.4 GB instead of ~0.95 GB for a full-size
    # htdemucs window, at the same speed, which is what makes a second request affordable.
    model.reshape({0: list(mag.shape), 1: list(mix.shape)})
    return model


@dataclass(frozen=True)
class BackendInfo:
    backend: str  # openvino | torch
    precision: str  # f32 | bf16 (what the compiled model reports)
    note: str | None = None


class OpenVinoNetwork:
    """Replaces one HTDemucs member's forward; infers asynchronously so a cancel
    is seen within CANCEL_POLL_MS even mid-window. Holds one infer request per
    stream: that many threads may call it at once (one window each)."""

    def __init__(self, net, compiled, windows: int = 1):
        self.net = net
        self.compiled = compiled
        self.windows = windows
        self.idle: queue.Queue = queue.Queue()
        for _ in range(windows):
            self.idle.put(compiled.create_infer_request())
        self.length = training_length(net)
        self.cancelled: Callable[[], bool] = lambda: False
        self.poll_ms = CANCEL_POLL_MS
        self.original_forward = type(net).forward.__get__(net)

    def __call__(self, mix):
        import torch
        import torch.nn.functional as F
        n = self.net
        length = mix.shape[-1]
        if mix.shape[0] != 1 or length > self.length or mix.dtype != torch.float32:
            return self.original_forward(mix)  # not the shape that was converted
        padded = F.pad(mix, (0, self.length - length)) if length < self.length else mix
        z = n._spec(padded)
        mag = n._magnitude(z)
        req = self.idle.get()
        try:
            x, xt = self._infer(req, mag, padded)
            # x and xt are the request's own buffers: used up before it goes back.
            out = xt + n._ispec(n._mask(z, x), self.length)
        finally:
            self.idle.put(req)
        return out[..., :length] if length < self.length else out

    def _infer(self, req, mag, mix):
        import openvino as ov
        import torch
        req.set_input_tensor(0, ov.Tensor(mag.contiguous().numpy(), shared_memory=True))
        req.set_input_tensor(1, ov.Tensor(mix.contiguous().numpy(), shared_memory=True))
        req.start_async()
        while not req.wait_for(self.poll_ms):
            if self.cancelled():
                req.cancel()
                try:
                    req.wait()
                except Exception:  # noqa: BLE001 - a cancelled request reports its cancellation
                    pass
                raise Cancelled()
        return (torch.from_numpy(req.get_output_tensor(0).data),
                torch.from_numpy(req.get_output_tensor(1).data))


class OpenVinoRuntime:
    """One per engine: the OpenVINO core, the chosen precision and the cache folder."""

    def __init__(self, cache_dir: Path, precision_setting: str = "auto", threads: int | None = None,
                 capabilities: list[str] | None = None, windows: int | None = None):
        """`threads`: OpenVINO threads in all (None: every core this process may use).
        `windows`: windows in flight (None: see windows_in_flight).
        `capabilities` replaces OpenVINO's CPU capability list (to simulate another CPU)."""
        import openvino as ov
        self.ov = ov
        self.core = ov.Core()
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        caps = cpu_capabilities(self.core) if capabilities is None else capabilities
        self.precision: Choice = choose_precision(precision_setting, has_native_bf16(caps))
        if self.precision.note:
            log.warning("%s", self.precision.note)
        self.windows = windows or windows_in_flight(threads or usable_cores(), self.precision.value)
        self.builds = 0  # IR conversions this process did (tests and logs)

    def config(self) -> dict:
        cfg = {"PERFORMANCE_HINT": "LATENCY" if self.windows == 1 else "THROUGHPUT",
               "NUM_STREAMS": str(self.windows), "INFERENCE_PRECISION_HINT": self.precision.value}
        if self.threads:
            cfg["INFERENCE_NUM_THREADS"] = str(self.threads)
        return cfg

    def keys(self, net) -> tuple[dict, dict]:
        """(IR key, compiled-blob key). The IR does not depend on precision or CPU,
        so f32 and bf16 blobs share one conversion."""
        ir = {"format": FORMAT, "network": network_digest(net), "openvino": self.ov.__version__,
              "length": training_length(net)}
        return ir, {**ir, "precision": self.precision.value, "cpu": cpu_flags(), "streams": self.windows}

    def entry_dir(self, kind: str, key: dict) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        suffix = f"-{key['precision']}" if "precision" in key else ""
        return self.cache_dir / f"{kind}-{key['network'][:12]}{suffix}-{digest[:16]}"

    # -- public ---------------------------------------------------------------
    def install(self, model, label: str, progress: ProgressFn | None = None) -> BackendInfo:
        """Swap every member's network for its compiled version; on any failure
        leave the model on torch and say why (one log line)."""
        members = list(model.models) if hasattr(model, "models") else [model]
        for net in members:
            reason = convertible(net)
            if reason:
                log.info("%s: %s", label, reason)
                return BackendInfo("torch", "f32", reason)
        runners = []
        try:
            for i, net in enumerate(members):
                compiled = self.compiled_for(net, progress, f"{label} member {i + 1}/{len(members)}")
                runners.append(OpenVinoNetwork(net, compiled, self.windows))
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - conversion is an optimisation, torch always works
            reason = f"OpenVINO conversion failed ({type(exc).__name__}: {str(exc)[:300]}); separating with torch"
            log.warning("%s: %s", label, reason)
            return BackendInfo("torch", "f32", reason)
        for net, runner in zip(members, runners):
            net.forward = runner
            net._sfa_openvino = runner
        actual = runners[0].compiled.get_property("INFERENCE_PRECISION_HINT")
        precision = "bf16" if "bf16" in str(actual).lower() or "bfloat16" in str(actual).lower() else "f32"
        return BackendInfo("openvino", precision, self.precision.note)

    def compiled_for(self, net, progress: ProgressFn | None, label: str):
        ir_key, blob_key = self.keys(net)
        blob_dir = self.entry_dir("compiled", blob_key)
        for attempt in (1, 2):
            if not _valid(blob_dir, blob_key):
                if progress:
                    progress(0, PREPARING)

                def build_blob(tmp: Path) -> None:
                    ir_dir = self._ensure(self.entry_dir("ir", ir_key), ir_key, self._build_ir(net, label))
                    log.info("%s: compiling for this CPU (%s, OpenVINO %s)", label, blob_key["precision"],
                             blob_key["openvino"])
                    compiled = self.core.compile_model(str(ir_dir / "model.xml"), "CPU", self.config())
                    blob = compiled.export_model()  # BytesIO (bytes in older releases)
                    (tmp / "compiled.blob").write_bytes(blob.getbuffer() if hasattr(blob, "getbuffer") else blob)

                self._ensure(blob_dir, blob_key, build_blob)
            try:
                return self.core.import_model((blob_dir / "compiled.blob").read_bytes(), "CPU", self.config())
            except Exception as exc:  # noqa: BLE001 - e.g. a blob this OpenVINO cannot read: rebuild once
                if attempt == 2:
                    raise
                log.warning("cache entry %s does not load (%s: %s); rebuilding", blob_dir, type(exc).__name__, exc)
                with _locked(_lock_path(blob_dir)):
                    (blob_dir / "manifest.json").unlink(missing_ok=True)

    def _build_ir(self, net, label: str):
        def build(tmp: Path) -> None:
            log.info("%s: converting the network to OpenVINO IR", label)
            self.ov.save_model(convert_network(net), str(tmp / "model.xml"), compress_to_fp16=False)
            self.builds += 1
        return build

    def _ensure(self, entry: Path, key: dict, build: Callable[[Path], None]) -> Path:
        """`entry` verified against `key`, (re)built under a lock when it is not."""
        if _valid(entry, key):
            return entry
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with _locked(_lock_path(entry)):
            if _valid(entry, key):  # another engine built it while we waited
                return entry
            # Holding the lock, nobody is building this entry: leftovers are from a killed engine.
            for junk in self.cache_dir.glob(f".{entry.name}.tmp-*"):
                shutil.rmtree(junk, ignore_errors=True)
            tmp = self.cache_dir / f".{entry.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            try:
                build(tmp)
                files = {p.name: _sha256_file(p) for p in sorted(tmp.iterdir())}
                (tmp / "manifest.json").write_text(json.dumps({"key": key, "files": files}, indent=1))
                for p in tmp.iterdir():
                    with p.open("rb") as f:
                        os.fsync(f.fileno())
                if entry.exists():  # stale or corrupt: move aside, then drop
                    trash = self.cache_dir / f".{entry.name}.old-{uuid.uuid4().hex[:8]}"
                    entry.rename(trash)
                    shutil.rmtree(trash, ignore_errors=True)
                tmp.rename(entry)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return entry


def _lock_path(entry: Path) -> Path:
    return entry.parent / f".{entry.name}.lock"


def _valid(entry: Path, key: dict) -> bool:
    """The entry's manifest names `key` and every file matches its sha256."""
    manifest_path = entry / "manifest.json"
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") != key:
            log.info("cache entry %s is stale; rebuilding", entry)
            return False
        for name, digest in manifest["files"].items():
            if _sha256_file(entry / name) != digest:
                log.warning("cache entry %s: %s does not match its checksum; rebuilding", entry, name)
                return False
        return True
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("cache entry %s is unreadable (%s); rebuilding", entry, exc)
        return False


@contextmanager
def _locked(path: Path):
    with path.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def windows_in_flight(threads: int, precision: str) -> int:
    """Two windows at once in f32 from 2 threads up (one thread each at 2), one on a
    single core. bf16 keeps one: its gain from a second window is not measured yet."""
    return 2 if threads >= 2 and precision == "f32" else 1


def model_windows(model) -> int:
    """How many windows the separator may run at once: the OpenVINO members' streams, 1 on torch."""
    runners = [getattr(net, "_sfa_openvino", None) for net in (list(model.models) if hasattr(model, "models") else [model])]
    return min((r.windows for r in runners if r is not None), default=1)


def set_cancel_check(model, cancelled: Callable[[], bool] | None) -> None:
    for net in (list(model.models) if hasattr(model, "models") else [model]):
        runner = getattr(net, "_sfa_openvino", None)
        if runner is not None:
            runner.cancelled = cancelled or (lambda: False)
